import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
var o={ok:0,error:1,badInput:2,rolledBack:3,inconclusive:4};export{o as a};
//# sourceMappingURL=chunk-TAKULUW7.js.map
