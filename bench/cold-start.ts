// Cold start of the bundled CLI and action, against a bare `node -e 0` on the same machine: wall time (median, p90)
// and CPU time per run (user + system of the finished children, from /proc/self/stat), with the ratio to node -e 0;
// and, for the action's `deploy`, the time from start to its first log line. Usage: npm run bench -- cold-start [RUNS]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata: { name: churn-scorer, namespace: ml }
spec:
  replicas: 4
  selector: { matchLabels: { app: churn-scorer } }
  template:
    metadata: { labels: { app: churn-scorer } }
    spec: { containers: [{ name: model, image: "x:1" }] }
`;
export const IMAGE = `myacr.azurecr.io/churn@sha256:${'a'.repeat(64)}`;
const TICKS_PER_SECOND = 100;

/** CPU seconds of this process's reaped children so far (cutime + cstime). */
function childrenCpu(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

interface Figures {
  wall: number[];
  cpuPerRun: number;
}

/** Each case in turn (A B C A B C ...), so a drift in the machine's speed falls on all of them alike. */
function measureInTurn(cases: Array<{ args: string[]; env: NodeJS.ProcessEnv }>, cwd: string, runs: number): Figures[] {
  const figures = cases.map(() => ({ wall: [] as number[], cpuPerRun: 0 }));
  for (const { args, env } of cases) spawnSync(process.execPath, args, { cwd, env, stdio: 'ignore' }); // warm the file cache
  for (let run = 0; run < runs; run++) {
    cases.forEach(({ args, env }, index) => {
      const cpuBefore = childrenCpu();
      const start = process.hrtime.bigint();
      spawnSync(process.execPath, args, { cwd, env, stdio: 'ignore' });
      figures[index]!.wall.push(Number(process.hrtime.bigint() - start) / 1e6);
      figures[index]!.cpuPerRun += (childrenCpu() - cpuBefore) / runs;
    });
  }
  return figures;
}

/** Milliseconds from spawning the action to the first line it writes. */
function firstLine(env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((done, fail) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, [resolve('dist/index.js')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = false;
    const onData = () => {
      if (seen) return;
      seen = true;
      done(Number(process.hrtime.bigint() - start) / 1e6);
      child.kill();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', fail);
    child.on('close', () => (seen ? undefined : fail(new Error('the action printed nothing'))));
  });
}

const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))] as number;

export default async function run(args: string[]): Promise<void> {
  const runs = Number(args[0] ?? 20);
  const dir = mkdtempSync(join(tmpdir(), 'mc-bench-'));
  mkdirSync(join(dir, 'k8s'));
  writeFileSync(join(dir, 'k8s', 'app.yaml'), MANIFEST);
  for (const file of ['output', 'state', 'summary']) writeFileSync(join(dir, file), '');
  const runner = {
    PATH: process.env.PATH,
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  };
  const plain = { PATH: process.env.PATH };
  const cases: Array<[string, string[], NodeJS.ProcessEnv]> = [
    ['node -e 0', ['-e', '0'], plain],
    ['model-canary --help', [resolve('dist/cli.js'), '--help'], plain],
    ['model-canary plan', [resolve('dist/cli.js'), 'plan', '--manifests', 'k8s/', '--image', IMAGE], plain],
    [
      'action plan (dist/index.js)',
      [resolve('dist/index.js')],
      { ...runner, INPUT_COMMAND: 'plan', INPUT_MANIFESTS: 'k8s/', INPUT_IMAGE: IMAGE },
    ],
  ];
  const figures = measureInTurn(
    cases.map(([, args, env]) => ({ args, env })),
    dir,
    runs,
  );
  const results = cases.map(([name], index) => ({ name, ...figures[index]! }));
  const bare = results[0]!;
  console.log(`runs: ${runs} of each, in turn, after one warm-up`);
  console.log('| command | wall median | wall p90 | CPU per run | CPU / node -e 0 |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const result of results) {
    const ratio = result.cpuPerRun / bare.cpuPerRun;
    console.log(
      `| ${result.name} | ${quantile(result.wall, 0.5).toFixed(0)} ms | ${quantile(result.wall, 0.9).toFixed(0)} ms | ` +
        `${(result.cpuPerRun * 1000).toFixed(0)} ms | ${ratio.toFixed(1)}x |`,
    );
  }
  // deploy: the first thing it says (it fails later here: no registry, cluster or Prometheus; only the start counts).
  const deployEnv = {
    ...runner,
    INPUT_COMMAND: 'deploy',
    INPUT_MANIFESTS: 'k8s/',
    INPUT_IMAGE: IMAGE,
    'INPUT_PROMETHEUS-URL': 'http://127.0.0.1:9',
  };
  const starts: number[] = [];
  for (let run = 0; run < runs; run++) starts.push(await firstLine(deployEnv, dir));
  console.log(
    `action deploy, start to first log line: median ${quantile(starts, 0.5).toFixed(0)} ms, p90 ${quantile(starts, 0.9).toFixed(0)} ms`,
  );
  rmSync(dir, { recursive: true, force: true });
}
