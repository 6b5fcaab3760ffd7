import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
var o=class extends Error{name="ConflictError"},n=r=>r instanceof Error&&r.name==="ConflictError";export{o as a,n as b};
//# sourceMappingURL=chunk-EDQXQMJP.js.map
