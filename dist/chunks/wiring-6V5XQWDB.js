import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{a,b}from"./chunk-I2D6JCKI.js";import"./chunk-X2CNZUZ2.js";import"./chunk-WQ2PMYCE.js";import"./chunk-TA3P4ZJR.js";import"./chunk-3DPFKTNF.js";import"./chunk-IAZ5O7OK.js";import"./chunk-YRTRC26T.js";import"./chunk-AB5AZAEA.js";import"./chunk-6L3B7L63.js";import"./chunk-R4OG6ZLY.js";import"./chunk-BGJIYXDJ.js";export{b as createServices,a as localRunInfo};
//# sourceMappingURL=wiring-6V5XQWDB.js.map
