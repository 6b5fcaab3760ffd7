// Cold start of the bundled action and CLI for `plan`: median and p90 of N runs, as the runner starts them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata: { name: churn-scorer, namespace: ml }
spec:
  replicas: 4
  selector: { matchLabels: { app: churn-scorer } }
  template:
    metadata: { labels: { app: churn-scorer } }
    spec: { containers: [{ name: model, image: "x:1" }] }
`;
const IMAGE = `myacr.azurecr.io/churn@sha256:${'a'.repeat(64)}`;

function time(args: string[], env: NodeJS.ProcessEnv, cwd: string): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd, env, stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))] as number;

export default async function run(args: string[]): Promise<void> {
  const runs = Number(args[0] ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'mc-bench-'));
  mkdirSync(join(dir, 'k8s'));
  writeFileSync(join(dir, 'k8s', 'app.yaml'), MANIFEST);
  for (const file of ['output', 'state', 'summary']) writeFileSync(join(dir, file), '');
  const actionEnv = {
    PATH: process.env.PATH,
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    INPUT_COMMAND: 'plan',
    INPUT_MANIFESTS: 'k8s/',
    INPUT_IMAGE: IMAGE,
  };
  const action = Array.from({ length: runs }, () => time([resolve('dist/index.js')], actionEnv, dir));
  const cli = Array.from({ length: runs }, () =>
    time([resolve('dist/cli.js'), 'plan', '--manifests', 'k8s/', '--image', IMAGE], { PATH: process.env.PATH }, dir),
  );
  rmSync(dir, { recursive: true, force: true });
  console.log(`runs: ${runs}`);
  console.log(
    `node dist/index.js (plan): median ${quantile(action, 0.5).toFixed(0)} ms, p90 ${quantile(action, 0.9).toFixed(0)} ms`,
  );
  console.log(
    `node dist/cli.js plan:     median ${quantile(cli, 0.5).toFixed(0)} ms, p90 ${quantile(cli, 0.9).toFixed(0)} ms`,
  );
}
