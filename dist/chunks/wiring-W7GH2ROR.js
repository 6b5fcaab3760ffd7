import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{b as a,c as b}from"./chunk-WAK2SQY5.js";import"./chunk-DWJ3UMUE.js";import"./chunk-5FCDLPQ4.js";import"./chunk-TA3P4ZJR.js";import"./chunk-OEPYXFPZ.js";import"./chunk-Q734OMAT.js";import"./chunk-NLL35QTA.js";import"./chunk-3DPFKTNF.js";import"./chunk-2MXXWBRY.js";import"./chunk-R4OG6ZLY.js";import"./chunk-AB5AZAEA.js";import"./chunk-BGJIYXDJ.js";export{b as createServices,a as localRunInfo};
//# sourceMappingURL=wiring-W7GH2ROR.js.map
