import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{e as a}from"./chunk-MFZUEIYG.js";import"./chunk-YXLPU373.js";import"./chunk-5F7HLRW4.js";import"./chunk-EV6O53ZX.js";import"./chunk-BXWQ6I5M.js";import"./chunk-R4OG6ZLY.js";import"./chunk-XZNDK7ZR.js";import"./chunk-AB5AZAEA.js";import"./chunk-BGJIYXDJ.js";export{a as plan};
//# sourceMappingURL=plan-VLWLM667.js.map
