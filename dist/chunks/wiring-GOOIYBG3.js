import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{b as a,c as b}from"./chunk-MIOCRBQZ.js";import"./chunk-FPRXBAGR.js";import"./chunk-U4HM3WRA.js";import"./chunk-TA3P4ZJR.js";import"./chunk-LMXCJUDQ.js";import"./chunk-WQ2PMYCE.js";import"./chunk-6L3B7L63.js";import"./chunk-3DPFKTNF.js";import"./chunk-T5UT6FXC.js";import"./chunk-R4OG6ZLY.js";import"./chunk-AB5AZAEA.js";import"./chunk-BGJIYXDJ.js";export{b as createServices,a as localRunInfo};
//# sourceMappingURL=wiring-GOOIYBG3.js.map
