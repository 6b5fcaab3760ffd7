import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{e as a}from"./chunk-ZE3H4IMP.js";import"./chunk-KCEFNF47.js";import"./chunk-5F7HLRW4.js";import"./chunk-DPIX6UV6.js";import"./chunk-T5UT6FXC.js";import"./chunk-R4OG6ZLY.js";import"./chunk-XZNDK7ZR.js";import"./chunk-AB5AZAEA.js";import"./chunk-BGJIYXDJ.js";export{a as plan};
//# sourceMappingURL=plan-NNX5ETPJ.js.map
