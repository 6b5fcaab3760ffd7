#!/usr/bin/env node
import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{d as m,e as p,f,g as l,h as c,i as u,q as a,v as g,w as d,x as w,y as E,z as h}from"./chunks/chunk-EWTXXCOA.js";import{parseArgs as S}from"node:util";var $=new Set(["dry-run","comment","wait-for-lease","fail-on-rollback","advance-on-evidence"]),y=`usage: model-canary <${p.join("|")}> [--flag value ...]
Every action input is a flag (--manifests k8s/ --image reg/name@sha256:... --steps 10,50,100);
--output json prints the report JSON on stdout. See the README for every flag.`;function v(e){return e.flatMap((r,t)=>{let o=r.startsWith("--")?r.slice(2):void 0,n=e[t+1],i=n!==void 0&&!n.startsWith("--");return o&&$.has(o)&&!i?[r,"true"]:[r]})}function x(e){let r=Object.fromEntries(f.map(s=>[s,{type:"string"}])),t;try{t=S({args:v(e),options:r,allowPositionals:!0,strict:!0})}catch(s){throw new c([`${s.message.replace(/\. To specify.*$/,"")}`])}let[o,...n]=t.positionals;if(n.length>0)throw new c([`unexpected argument ${JSON.stringify(n[0])}: flags take the form --name value`]);let i=Object.fromEntries(Object.entries(t.values).filter(([,s])=>typeof s=="string"));return o?{...i,command:o}:i}function O(e){let r={};for(let t of[...l,"registry-username","mlflow-username"]){let o=e[`MODEL_CANARY_${t.toUpperCase().replace(/-/g,"_")}`];o&&(r[t]=o)}return r}var C={info:e=>process.stderr.write(`${e}
`),warn:e=>process.stderr.write(`warning: ${e}
`),debug:e=>{process.env.MODEL_CANARY_DEBUG&&process.stderr.write(`debug: ${e}
`)}};function R(e,r){process.stdout.write(r?`${JSON.stringify(e.report,null,2)}
`:`${e.text}
`)}async function b(e){if(e.length===0||e[0]==="--help"||e[0]==="help")return process.stdout.write(`${y}
`),e.length===0?a.badInput:a.ok;try{let r=x(e);if(!r.command)throw new c([`command: missing: ${y.split(`
`)[0]}`]);let t=u({...w(r.config),...O(process.env)},r),o=h(t,{logger:C,mask:()=>{},run:E()}),n=await d({config:t,logger:C,clock:m,cwd:process.cwd(),services:o});return R(n,t.output==="json"),n.exitCode}catch(r){return process.stderr.write(`model-canary: ${r instanceof Error?r.message:String(r)}
`),g(r)}}process.exitCode=await b(process.argv.slice(2));process.exit();export{b as main,x as parseCli,O as secretsFromEnvironment};
//# sourceMappingURL=cli.js.map
