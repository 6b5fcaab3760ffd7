import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{b as a,c as b}from"./chunk-VYWIVEE3.js";import"./chunk-M5EZRRO7.js";import"./chunk-TA3P4ZJR.js";import"./chunk-EJRPUY7H.js";import"./chunk-BXWQ6I5M.js";import"./chunk-R4OG6ZLY.js";import"./chunk-AB5AZAEA.js";import"./chunk-BGJIYXDJ.js";export{b as createServices,a as localRunInfo};
//# sourceMappingURL=wiring-QA4T5OYN.js.map
