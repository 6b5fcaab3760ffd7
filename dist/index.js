import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{k as t}from"./chunks/chunk-3OHI33K7.js";import"./chunks/chunk-5FCDLPQ4.js";import"./chunks/chunk-YLR7F5PS.js";import"./chunks/chunk-BGJIYXDJ.js";await(t("isPost")==="true"?(await import("./chunks/post-2YNHEV5I.js")).runPost():(await import("./chunks/main-NXHDGZ42.js")).run());process.exit();
//# sourceMappingURL=index.js.map
