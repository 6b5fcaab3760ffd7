// A small GitHub Actions runner for the shipped example workflows: it reads the workflow's YAML, expands one job (and
// a matrix entry), evaluates the `${{ }}` expressions GitHub would (contexts github, inputs, vars, secrets, matrix,
// steps; status functions in `if:`), and runs the steps in order:
// - this action (`<owner>/model-canary@<ref>`): dist/index.js main with INPUT_* and GITHUB_* as the runner sets them
//   (action.yml defaults included), then its post step at the end of the job, in reverse order, with its STATE_*;
// - `run:` steps: bash, with their `env:`, in the workspace;
// - the other actions the examples use, by their effect on the job: `actions/checkout` lays out the repository,
//   `azure/login` leaves an `az` CLI that hands out tokens (a stub printing `az account get-access-token` JSON),
//   `azure/aks-set-context` exports KUBECONFIG, `actions/upload-artifact` keeps the file,
//   `docker/setup-buildx-action` checks that the Docker daemon answers (buildx itself cannot be installed offline, so
//   the docker builder takes its `docker build` + `docker push` path here). Any other action fails the job, so a new
//   example cannot pass by being skipped.
// Simplified: one job at a time (`needs:` is not followed), expressions are context lookups and the four status
// functions (no operators), and GITHUB_ENV / GITHUB_PATH take `NAME=value` lines only.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { tempDir } from './local.js';
import { ACTION_ENTRY, parseFileCommands } from './runner.js';

export interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}

interface Workflow {
  name?: string;
  on?: { workflow_dispatch?: { inputs?: Record<string, { default?: unknown }> } };
  jobs: Record<string, { steps: Step[]; strategy?: { matrix?: Record<string, unknown[]> } }>;
}

/** What the job runs against: the repository to check out, the cloud the Azure actions log in to. */
export interface RunnerWorld {
  /** Lays the repository out in `workspace`, as actions/checkout does. */
  checkout(workspace: string): void;
  /** The kubeconfig azure/aks-set-context would write for the workflow's cluster. */
  kubeconfig: string;
  /** `az account get-access-token --resource R` prints this token for R (or `*`). */
  azureTokens: Record<string, string>;
  vars: Record<string, string>;
  secrets: Record<string, string>;
  /** Extra environment for every process of the job (the GitHub API URL, the cloud front's redirect). */
  env: Record<string, string>;
}

export interface StepRun {
  label: string;
  conclusion: 'success' | 'failure' | 'skipped';
  exitCode: number | null;
  stdout: string;
  outputs: Record<string, string>;
}

export interface JobRun {
  conclusion: 'success' | 'failure';
  steps: StepRun[];
  posts: StepRun[];
  summary: string;
  artifacts: Record<string, string>;
  step(label: string): StepRun;
}

export interface JobRequest {
  event: { name: string; payload: Record<string, unknown> };
  /** workflow_dispatch inputs as the user picked them; the workflow's defaults fill the rest. */
  inputs?: Record<string, string>;
  job?: string;
  /** Which matrix entry runs: a predicate on the entry (default: the first). */
  matrix?: (entry: Record<string, unknown>) => boolean;
  /** Called with the process of each step as it starts, e.g. to cancel the job at a known state. */
  onProcess?: (label: string, kill: (signal: NodeJS.Signals) => void) => void;
  runId?: number;
}

const ACTION = parse(readFileSync(resolve('action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: string }>;
};

const isModelCanary = (uses = ''): boolean => /^[\w.-]+\/model-canary@/.test(uses);

function lookup(context: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => {
    if (value === undefined || value === null || typeof value !== 'object') return undefined;
    return (value as Record<string, unknown>)[key];
  }, context);
}

/** `${{ expr }}` in `text`, as GitHub does for contexts: a missing value becomes the empty string. */
export function evaluate(text: string, context: Record<string, unknown>): string {
  return text.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expression: string) => {
    if (!/^[A-Za-z_][\w-]*(\.[\w-]+)*$/.test(expression)) {
      throw new Error(`the test runner evaluates context lookups only, not \${{ ${expression} }}`);
    }
    const [root] = expression.split('.');
    if (!(root! in context)) throw new Error(`unknown context in \${{ ${expression} }}`);
    const value = lookup(context, expression);
    if (value === undefined || value === null) return '';
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  });
}

function shouldRun(condition: string | undefined, failed: boolean): boolean {
  const expression = (condition ?? 'success()').replace(/^\$\{\{\s*|\s*\}\}$/g, '').trim();
  switch (expression) {
    case 'always()':
      return true;
    case 'success()':
      return !failed;
    case 'failure()':
      return failed;
    case 'cancelled()':
      return false;
    default:
      throw new Error(`the test runner does not evaluate if: ${condition}`);
  }
}

const AZ_STUB = `#!/usr/bin/env node
// az as azure/login leaves it: 'az account get-access-token --resource R --output json'.
const args = process.argv.slice(2);
const tokens = JSON.parse(require('node:fs').readFileSync(process.env.AZ_STUB_TOKENS, 'utf8'));
if (args[0] !== 'account' || args[1] !== 'get-access-token') { console.error('az stub: ' + args.join(' ')); process.exit(2); }
const resource = args[args.indexOf('--resource') + 1];
const accessToken = tokens[resource] ?? tokens['*'];
if (!accessToken) { console.error('ERROR: no token for ' + resource); process.exit(1); }
const expires = Math.floor(Date.now() / 1000) + 3600;
console.log(JSON.stringify({ accessToken, expires_on: expires, expiresOn: new Date(expires * 1000).toISOString(), tokenType: 'Bearer' }));
`;

function runProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
  onStart?: (kill: (signal: NodeJS.Signals) => void) => void,
): Promise<{ exitCode: number | null; stdout: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stdout += chunk));
    onStart?.((signal) => child.kill(signal));
    // 'close', not 'exit': output still in the pipes when the process exits would be lost on a busy machine.
    child.on('close', (exitCode) => done({ exitCode, stdout }));
  });
}

export async function runWorkflowJob(file: string, world: RunnerWorld, request: JobRequest): Promise<JobRun> {
  const workflow = parse(readFileSync(resolve(file), 'utf8')) as Workflow;
  const jobName = request.job ?? Object.keys(workflow.jobs)[0]!;
  const job = workflow.jobs[jobName];
  if (!job) throw new Error(`${file} has no job ${jobName}`);
  const dir = tempDir('job');
  const workspace = join(dir.path, 'workspace');
  const temp = join(dir.path, 'runner-temp');
  const bin = join(dir.path, 'tool-bin');
  const artifactsDir = join(dir.path, 'artifacts');
  for (const path of [workspace, temp, bin, artifactsDir]) mkdirSync(path, { recursive: true });
  const files = {
    event: join(temp, 'event.json'),
    env: join(temp, 'github-env'),
    path: join(temp, 'github-path'),
    summary: join(temp, 'step-summary.md'),
    tokens: join(temp, 'az-tokens.json'),
  };
  const payload = request.event.payload;
  const dispatchInputs = Object.fromEntries(
    Object.entries(workflow.on?.workflow_dispatch?.inputs ?? {}).map(([name, spec]) => [
      name,
      request.inputs?.[name] ?? (spec.default === undefined ? '' : String(spec.default)),
    ]),
  );
  if (request.event.name === 'workflow_dispatch') payload.inputs = dispatchInputs;
  for (const path of [files.env, files.path, files.summary]) writeFileSync(path, '');
  writeFileSync(files.event, JSON.stringify(payload));
  writeFileSync(files.tokens, JSON.stringify(world.azureTokens));

  const pull = payload.pull_request as { number: number; head: { sha: string } } | undefined;
  const sha =
    (payload.after as string | undefined) ??
    (pull ? 'a1b2c3d4'.repeat(5) : undefined) ??
    'd15f47c4d15f47c4d15f47c4d15f47c4d15f47c4';
  const ref = (payload.ref as string | undefined) ?? (pull ? `refs/pull/${pull.number}/merge` : 'refs/heads/main');
  const repository = (payload.repository as { full_name: string }).full_name;
  const runId = String(request.runId ?? 9100);
  const matrixEntries = Object.entries(job.strategy?.matrix ?? {}).flatMap(([key, values]) =>
    values.map((value) => ({ [key]: value })),
  );
  const matrix = matrixEntries.find(request.matrix ?? (() => true)) ?? {};
  const token = world.secrets.GITHUB_TOKEN ?? 'ghs_runnertoken0000000000000000000000';
  const github = {
    event: payload,
    event_name: request.event.name,
    sha,
    ref,
    repository,
    repository_owner: repository.split('/')[0],
    run_id: runId,
    run_attempt: '1',
    job: jobName,
    workflow: workflow.name ?? file,
    workspace,
    server_url: 'https://github.com',
    actor: 'octocat',
    token,
  };
  const steps: Record<string, { outputs: Record<string, string>; conclusion: string }> = {};
  const context = (): Record<string, unknown> => ({
    github,
    inputs: dispatchInputs,
    vars: world.vars,
    secrets: { GITHUB_TOKEN: token, ...world.secrets },
    matrix,
    steps,
    env: {},
  });
  const baseEnv = (): NodeJS.ProcessEnv => {
    const exported = parseFileCommands(readFileSync(files.env, 'utf8'));
    const paths = readFileSync(files.path, 'utf8').split('\n').filter(Boolean).reverse();
    return {
      PATH: [...paths, process.env.PATH].join(':'),
      HOME: dir.path,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: workspace,
      GITHUB_EVENT_NAME: request.event.name,
      GITHUB_EVENT_PATH: files.event,
      GITHUB_SHA: sha,
      GITHUB_REF: ref,
      GITHUB_REPOSITORY: repository,
      GITHUB_REPOSITORY_OWNER: github.repository_owner,
      GITHUB_RUN_ID: runId,
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_JOB: jobName,
      GITHUB_WORKFLOW: github.workflow,
      GITHUB_ACTOR: 'octocat',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_API_URL: 'https://api.github.com',
      GITHUB_ENV: files.env,
      GITHUB_PATH: files.path,
      GITHUB_STEP_SUMMARY: files.summary,
      RUNNER_TEMP: temp,
      RUNNER_OS: 'Linux',
      AZ_STUB_TOKENS: files.tokens,
      ...world.env,
      ...exported,
    };
  };

  const stepRuns: StepRun[] = [];
  const posts: Array<() => Promise<StepRun>> = [];
  const artifacts: Record<string, string> = {};
  let failed = false;
  for (const [index, step] of job.steps.entries()) {
    const label = step.id ?? step.name ?? step.uses ?? `step ${index + 1}`;
    if (!shouldRun(step.if, failed)) {
      stepRuns.push({ label, conclusion: 'skipped', exitCode: null, stdout: '', outputs: {} });
      if (step.id) steps[step.id] = { outputs: {}, conclusion: 'skipped' };
      continue;
    }
    const withValues = Object.fromEntries(
      Object.entries(step.with ?? {}).map(([key, value]) => [key, evaluate(String(value), context())]),
    );
    const stepEnv = Object.fromEntries(
      Object.entries(step.env ?? {}).map(([key, value]) => [key, evaluate(String(value), context())]),
    );
    const commandFiles = { output: join(temp, `output-${index}`), state: join(temp, `state-${index}`) };
    for (const path of Object.values(commandFiles)) writeFileSync(path, '');
    const env = { ...baseEnv(), ...stepEnv, GITHUB_OUTPUT: commandFiles.output, GITHUB_STATE: commandFiles.state };
    let result: { exitCode: number | null; stdout: string };
    if (step.run !== undefined) {
      const script = join(temp, `step-${index}.sh`);
      writeFileSync(script, evaluate(step.run, context()));
      result = await runProcess('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd: workspace, env });
    } else if (isModelCanary(step.uses)) {
      const inputs: Record<string, string> = {};
      for (const [name, spec] of Object.entries(ACTION.inputs)) {
        if (spec.default !== undefined) inputs[name] = evaluate(String(spec.default), context());
      }
      Object.assign(inputs, withValues);
      const inputEnv = Object.fromEntries(
        Object.entries(inputs).map(([name, value]) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, value]),
      );
      const start = (extra: NodeJS.ProcessEnv, onStart?: (kill: (signal: NodeJS.Signals) => void) => void) =>
        runProcess(
          process.execPath,
          [ACTION_ENTRY],
          { cwd: workspace, env: { ...env, ...inputEnv, ...extra } },
          onStart,
        );
      result = await start({}, (kill) => request.onProcess?.(label, kill));
      posts.unshift(async () => {
        const state = parseFileCommands(readFileSync(commandFiles.state, 'utf8'));
        const stateEnv = Object.fromEntries(Object.entries(state).map(([key, value]) => [`STATE_${key}`, value]));
        const post = await start({ ...baseEnv(), ...stateEnv });
        return {
          label: `Post ${label}`,
          conclusion: post.exitCode === 0 ? 'success' : 'failure',
          ...post,
          outputs: {},
        };
      });
    } else {
      result = emulateAction(step.uses ?? '', withValues, { workspace, world, bin, files, artifactsDir, artifacts });
    }
    const outputs = parseFileCommands(readFileSync(commandFiles.output, 'utf8'));
    const conclusion = result.exitCode === 0 ? 'success' : 'failure';
    if (conclusion === 'failure') failed = true;
    if (step.id) steps[step.id] = { outputs, conclusion };
    stepRuns.push({ label, conclusion, ...result, outputs });
  }
  const postRuns: StepRun[] = [];
  for (const post of posts) postRuns.push(await post());
  const summary = readFileSync(files.summary, 'utf8');
  dir.remove();
  return {
    conclusion: failed ? 'failure' : 'success',
    steps: stepRuns,
    posts: postRuns,
    summary,
    artifacts,
    step: (label) => {
      const found = stepRuns.find((run) => run.label === label);
      if (!found) throw new Error(`no step ${label}: ${stepRuns.map((run) => run.label).join(', ')}`);
      return found;
    },
  };
}

interface EmulationContext {
  workspace: string;
  world: RunnerWorld;
  bin: string;
  files: { env: string; path: string };
  artifactsDir: string;
  artifacts: Record<string, string>;
}

/** The other actions of the examples, by what they leave behind for the later steps. */
function emulateAction(
  uses: string,
  inputs: Record<string, string>,
  job: EmulationContext,
): { exitCode: number; stdout: string } {
  const [name] = uses.split('@');
  switch (name) {
    case 'actions/checkout':
      job.world.checkout(job.workspace);
      return { exitCode: 0, stdout: `checked out into ${job.workspace}` };
    case 'azure/login': {
      if (!inputs['client-id'] || !inputs['tenant-id']) {
        return { exitCode: 1, stdout: 'azure/login: client-id and tenant-id are required (set the vars)' };
      }
      writeFileSync(join(job.bin, 'az'), AZ_STUB);
      chmodSync(join(job.bin, 'az'), 0o755);
      appendFileSync(job.files.path, `${job.bin}\n`);
      return { exitCode: 0, stdout: 'logged in (az CLI)' };
    }
    case 'azure/aks-set-context': {
      if (!inputs['resource-group'] || !inputs['cluster-name']) {
        return { exitCode: 1, stdout: 'aks-set-context: resource-group and cluster-name are required' };
      }
      const kubeconfig = join(job.bin, '..', 'kubeconfig');
      copyFileSync(job.world.kubeconfig, kubeconfig);
      appendFileSync(job.files.env, `KUBECONFIG=${kubeconfig}\n`);
      return { exitCode: 0, stdout: `KUBECONFIG=${kubeconfig}` };
    }
    case 'docker/setup-buildx-action': {
      const answer = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], {
        env: { ...process.env, ...job.world.env },
        encoding: 'utf8',
      });
      return answer.status === 0
        ? { exitCode: 0, stdout: `Docker ${answer.stdout.trim()}` }
        : { exitCode: 1, stdout: `no Docker daemon answers: ${answer.stderr}` };
    }
    case 'actions/upload-artifact': {
      const kept = join(job.artifactsDir, inputs.name ?? 'artifact');
      copyFileSync(join(job.workspace, inputs.path ?? ''), kept);
      job.artifacts[inputs.name ?? 'artifact'] = readFileSync(kept, 'utf8');
      return { exitCode: 0, stdout: `uploaded ${inputs.path}` };
    }
    default:
      throw new Error(`the test runner does not know the action ${uses}: teach emulateAction what it leaves behind`);
  }
}
