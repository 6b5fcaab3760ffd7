import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{k as t}from"./chunks/chunk-XFLT4YC6.js";import"./chunks/chunk-U4HM3WRA.js";import"./chunks/chunk-5ZHFZI56.js";import"./chunks/chunk-BGJIYXDJ.js";await(t("isPost")==="true"?(await import("./chunks/post-VFRWFMXR.js")).runPost():(await import("./chunks/main-ASQRTUVO.js")).run());process.exit();
//# sourceMappingURL=index.js.map
