import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{e as a}from"./chunk-MXWROGW2.js";import"./chunk-Z3TZ5M7C.js";import"./chunk-5F7HLRW4.js";import"./chunk-EKYMTKCD.js";import"./chunk-TFC7YPH6.js";import"./chunk-AB5AZAEA.js";import"./chunk-R4OG6ZLY.js";import"./chunk-BGJIYXDJ.js";export{a as plan};
//# sourceMappingURL=plan-R76IVXVQ.js.map
