#!/usr/bin/env node
import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);
import{d as m,e as p,f as l,g as c,h as f,o as a,t as u,u as g,v as d,w,x as h}from"./chunks/chunk-44WPKVKX.js";import{parseArgs as C}from"node:util";var $=new Set(["dry-run","comment","wait-for-lease","fail-on-rollback"]),y=`usage: model-canary <${p.join("|")}> [--flag value ...]
Every action input is a flag (--manifests k8s/ --image reg/name@sha256:... --steps 10,50,100);
--output json prints the report JSON on stdout. See the README for every flag.`;function S(e){return e.flatMap((r,t)=>{let n=r.startsWith("--")?r.slice(2):void 0,o=e[t+1],i=o!==void 0&&!o.startsWith("--");return n&&$.has(n)&&!i?[r,"true"]:[r]})}function b(e){let r=Object.fromEntries(l.map(s=>[s,{type:"string"}])),t;try{t=C({args:S(e),options:r,allowPositionals:!0,strict:!0})}catch(s){throw new c([`${s.message.replace(/\. To specify.*$/,"")}`])}let[n,...o]=t.positionals;if(o.length>0)throw new c([`unexpected argument ${JSON.stringify(o[0])}: flags take the form --name value`]);let i=Object.fromEntries(Object.entries(t.values).filter(([,s])=>typeof s=="string"));return n?{...i,command:n}:i}var E={info:e=>process.stderr.write(`${e}
`),warn:e=>process.stderr.write(`warning: ${e}
`),debug:e=>{process.env.MODEL_CANARY_DEBUG&&process.stderr.write(`debug: ${e}
`)}};function x(e,r){process.stdout.write(r?`${JSON.stringify(e.report,null,2)}
`:`${e.text}
`)}async function O(e){if(e.length===0||e[0]==="--help"||e[0]==="help")return process.stdout.write(`${y}
`),e.length===0?a.badInput:a.ok;try{let r=b(e);if(!r.command)throw new c([`command: missing: ${y.split(`
`)[0]}`]);let t=f(d(r.config),r),n=h(t,{logger:E,mask:()=>{},run:w()}),o=await g({config:t,logger:E,clock:m,cwd:process.cwd(),services:n});return x(o,t.output==="json"),o.exitCode}catch(r){return process.stderr.write(`model-canary: ${r instanceof Error?r.message:String(r)}
`),u(r)}}process.exitCode=await O(process.argv.slice(2));process.exit();export{O as main,b as parseCli};
//# sourceMappingURL=cli.js.map
