import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
var c={now:()=>new Date,monotonicMs:()=>performance.now(),sleep:(r,e)=>new Promise(t=>{if(e?.aborted)return t();let o=()=>{clearTimeout(n),e?.removeEventListener("abort",o),t()},n=setTimeout(o,r);e?.addEventListener("abort",o,{once:!0})})};export{c as a};
//# sourceMappingURL=chunk-NRDLIA6O.js.map
