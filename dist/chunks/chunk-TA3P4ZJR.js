import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
function e(o){return/::|##\[/.test(o.replace(/[^\p{L}\p{N}\p{P}\p{S}]/gu,""))}function n(o,t){if(!e(o))return o;let r;do if(r=t(),!/^[A-Za-z0-9]{16,}$/.test(r))throw new Error("a stop-commands token must be 16+ letters or digits");while(o.toLowerCase().includes(r.toLowerCase()));return`::stop-commands::${r}
${o}
::${r}::`}function i(o){return o.replace(/#/g,"\\u0023")}import{randomUUID as s}from"node:crypto";var p=o=>n(o,()=>s().replace(/-/g,""));export{i as a,p as b};
//# sourceMappingURL=chunk-TA3P4ZJR.js.map
