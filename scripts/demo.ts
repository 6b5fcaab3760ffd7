// `npm run demo`: two full local rollouts of the sample model through the bundled action, as a GitHub runner runs
// it: a good canary promoted, and a bad one (5% errors) rolled back. Real Prometheus scrapes real model servers
// under real load; Kubernetes and GitHub are the test fakes. The PR comments and job summaries go to demo-out/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { ActionRunner } from '../test/support/runner.js';
import { deployInputs, startLocalStack } from '../test/support/local-stack.js';

const OUT = 'demo-out';
const SCENARIOS = [
  { model: 'churn-scorer', canary: {}, story: 'a good canary' },
  { model: 'fraud-detector', canary: { ERROR_RATE: 0.05 }, story: 'a canary with 5% errors' },
];

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  console.log('starting Prometheus, the model servers under load, a fake Kubernetes API server and a fake GitHub...');
  const stack = await startLocalStack(Object.fromEntries(SCENARIOS.map((s) => [s.model, s.canary])));
  const verdicts: string[] = [];
  try {
    for (const scenario of SCENARIOS) {
      console.log(`\n== ${scenario.model}: ${scenario.story}, steps 50% then 100% of 10 s each, a look every 2 s`);
      const { inputs, env } = deployInputs(stack, scenario.model, {
        interval: '10s',
        'look-every': '2s',
        'scrape-interval': '1s',
      });
      const runner = new ActionRunner({ cwd: stack.models[scenario.model]!.repo, env });
      const started = Date.now();
      const run = await runner.main(inputs);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      for (const line of run.stdout.split('\n'))
        if (/^(::error|::warning|look \d+| {2}[\w-]+: (pass|fail|inconclusive) \()/.test(line))
          console.log(`   ${line}`);
      const comment = stack.github.comments.find((c) => c.body.includes(`/${scenario.model} -->`));
      writeFileSync(`${OUT}/${scenario.model}-pr-comment.md`, comment?.body ?? '(no comment was posted)\n');
      writeFileSync(`${OUT}/${scenario.model}-summary.md`, run.summary);
      writeFileSync(
        `${OUT}/${scenario.model}-report.json`,
        `${JSON.stringify(JSON.parse(run.outputs.report ?? '{}'), null, 2)}\n`,
      );
      verdicts.push(
        `${scenario.model}: ${run.outputs.verdict ?? 'no verdict'} in ${seconds} s (step exit ${run.exitCode})`,
      );
      runner.cleanup();
    }
  } finally {
    await stack.stop();
  }
  console.log(`\nverdicts:\n  ${verdicts.join('\n  ')}`);
  console.log(`PR comments, job summaries and reports are in ${OUT}/`);
  const [good, bad] = verdicts;
  if (!good?.includes(': promoted') || !bad?.includes(': rolled-back')) process.exitCode = 1;
}

await main();
