import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
var r=class extends Error{constructor(e){super(`preflight failed, nothing was changed:
${e.map(n=>`  - ${n}`).join(`
`)}`);this.problems=e}problems;name="PreflightError"};export{r as a};
//# sourceMappingURL=chunk-PNEJC2D7.js.map
