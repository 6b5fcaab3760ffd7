import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{b as a,c as b}from"./chunk-VBMIAMQN.js";import"./chunk-M5EZRRO7.js";import"./chunk-TA3P4ZJR.js";import"./chunk-C5V2HJWG.js";import"./chunk-XP3DQEVK.js";import"./chunk-R4OG6ZLY.js";import"./chunk-AB5AZAEA.js";import"./chunk-BGJIYXDJ.js";export{b as createServices,a as localRunInfo};
//# sourceMappingURL=wiring-3NDNA2IM.js.map
