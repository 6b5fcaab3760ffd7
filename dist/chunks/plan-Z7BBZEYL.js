import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{e as a}from"./chunk-OUMZ4DYU.js";import"./chunk-4CFLPNYQ.js";import"./chunk-5F7HLRW4.js";import"./chunk-OMEAL33X.js";import"./chunk-YRTRC26T.js";import"./chunk-AB5AZAEA.js";import"./chunk-R4OG6ZLY.js";import"./chunk-BGJIYXDJ.js";export{a as plan};
//# sourceMappingURL=plan-Z7BBZEYL.js.map
