import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{k as t}from"./chunks/chunk-IQUFBBYZ.js";import"./chunks/chunk-BGJIYXDJ.js";await(t("isPost")==="true"?(await import("./chunks/post-PE3ER5IO.js")).runPost():(await import("./chunks/main-FQ7IQXEQ.js")).run());process.exit();
//# sourceMappingURL=index.js.map
