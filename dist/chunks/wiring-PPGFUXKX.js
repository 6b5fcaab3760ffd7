import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{b as a,c as b}from"./chunk-UQ2WUXRA.js";import"./chunk-FPRXBAGR.js";import"./chunk-U4HM3WRA.js";import"./chunk-TA3P4ZJR.js";import"./chunk-TLEHL5QD.js";import"./chunk-43LRSFHS.js";import"./chunk-R4OG6ZLY.js";import"./chunk-AB5AZAEA.js";import"./chunk-BGJIYXDJ.js";export{b as createServices,a as localRunInfo};
//# sourceMappingURL=wiring-PPGFUXKX.js.map
