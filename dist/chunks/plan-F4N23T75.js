import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{e as a}from"./chunk-6IQU2LDD.js";import"./chunk-XVWNXDVL.js";import"./chunk-5F7HLRW4.js";import"./chunk-VSA3R3G7.js";import"./chunk-43LRSFHS.js";import"./chunk-R4OG6ZLY.js";import"./chunk-XZNDK7ZR.js";import"./chunk-AB5AZAEA.js";import"./chunk-BGJIYXDJ.js";export{a as plan};
//# sourceMappingURL=plan-F4N23T75.js.map
