import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{k as t}from"./chunks/chunk-IQUFBBYZ.js";import"./chunks/chunk-BGJIYXDJ.js";await(t("isPost")==="true"?(await import("./chunks/post-G4F5Y54C.js")).runPost():(await import("./chunks/main-73GQR3YE.js")).run());process.exit();
//# sourceMappingURL=index.js.map
