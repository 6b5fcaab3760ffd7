import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{a,b}from"./chunk-OANRNYEB.js";import"./chunk-X2CNZUZ2.js";import"./chunk-WQ2PMYCE.js";import"./chunk-TA3P4ZJR.js";import"./chunk-3DPFKTNF.js";import"./chunk-GODTZAN2.js";import"./chunk-TFC7YPH6.js";import"./chunk-AB5AZAEA.js";import"./chunk-6L3B7L63.js";import"./chunk-R4OG6ZLY.js";import"./chunk-BGJIYXDJ.js";export{b as createServices,a as localRunInfo};
//# sourceMappingURL=wiring-35L3FV7N.js.map
