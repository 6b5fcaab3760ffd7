import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{k as t}from"./chunks/chunk-IQUFBBYZ.js";import"./chunks/chunk-BGJIYXDJ.js";await(t("isPost")==="true"?(await import("./chunks/post-RTNHT5N4.js")).runPost():(await import("./chunks/main-KIUE3FTM.js")).run());process.exit();
//# sourceMappingURL=index.js.map
