import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{e as a}from"./chunk-JDPHEGOE.js";import"./chunk-BEYNPWN6.js";import"./chunk-5F7HLRW4.js";import"./chunk-DOU7IHPU.js";import"./chunk-XP3DQEVK.js";import"./chunk-R4OG6ZLY.js";import"./chunk-XZNDK7ZR.js";import"./chunk-AB5AZAEA.js";import"./chunk-BGJIYXDJ.js";export{a as plan};
//# sourceMappingURL=plan-KVP7HDA6.js.map
