import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
function r(e){return/@(sha256:[a-f0-9]{64})$/.exec(e)?.[1]}function a(e){return{command:"plan",model:e.target.model,namespace:e.target.namespace,verdict:"planned",image:e.target.image,digest:r(e.target.image),router:e.router,gates:[],steps:e.steps.map(t=>({weight:t.weight,...t.replicas?{replicas:t.replicas}:{},objects:t.objects})),warnings:e.warnings}}export{r as a,a as b};
//# sourceMappingURL=chunk-5F7HLRW4.js.map
