import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{e as a}from"./chunk-LWJT2BX6.js";import"./chunk-UY4NPMPK.js";import"./chunk-5F7HLRW4.js";import"./chunk-5HWXN7LJ.js";import"./chunk-2MXXWBRY.js";import"./chunk-R4OG6ZLY.js";import"./chunk-XZNDK7ZR.js";import"./chunk-AB5AZAEA.js";import"./chunk-BGJIYXDJ.js";export{a as plan};
//# sourceMappingURL=plan-5HJ5Z2HX.js.map
