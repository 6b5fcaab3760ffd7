// Runs the bundled action the way the GitHub runner does: INPUT_* variables, and the GITHUB_OUTPUT, GITHUB_STATE,
// GITHUB_STEP_SUMMARY and GITHUB_EVENT_PATH files in a temp dir. Then the post step, with the saved state.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from './local.js';

export const ACTION_ENTRY = resolve('dist/index.js');
export const CLI_ENTRY = resolve('dist/cli.js');

// The TypeScript sources run as they are (through tsx), for tests of code that dist/ may not have yet.
const TSX = pathToFileURL(createRequire(resolve('package.json')).resolve('tsx')).href;
export const ACTION_SOURCE_ARGS = ['--import', TSX, resolve('src/index.ts')];
export const CLI_SOURCE_ARGS = ['--import', TSX, resolve('src/cli.ts')];

/** Parses the runner's file-command format: `name=value` lines and `name<<DELIMITER` heredocs. */
export function parseFileCommands(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i] as string);
      values[name] = body.join('\n');
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return values;
}

export interface ActionRun {
  exitCode: number | null;
  stdout: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  dir: string;
}

export interface RunOptions {
  cwd: string;
  event?: { name: string; payload: unknown };
  env?: Record<string, string>;
  /** Send this signal once `when()` holds, polled every 50 ms (a job cancelled at a known state, not a time). */
  signalWhen?: { signal: NodeJS.Signals; when: () => boolean };
  /** Node's arguments for the action: the bundle (default), or ACTION_SOURCE_ARGS. */
  args?: string[];
}

function exec(env: NodeJS.ProcessEnv, options: RunOptions) {
  const { cwd, signalWhen, args = [ACTION_ENTRY] } = options;
  return new Promise<{ exitCode: number | null; stdout: string }>((done) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stdout += chunk));
    const timer = signalWhen
      ? setInterval(() => {
          if (signalWhen.when()) child.kill(signalWhen.signal);
        }, 50)
      : undefined;
    // 'close', not 'exit': output still in the pipes when the process exits would be lost on a busy machine.
    child.on('close', (exitCode) => {
      if (timer) clearInterval(timer);
      done({ exitCode, stdout });
    });
  });
}

export class ActionRunner {
  readonly dir = tempDir('runner');
  private readonly files = {
    output: join(this.dir.path, 'output'),
    state: join(this.dir.path, 'state'),
    summary: join(this.dir.path, 'summary.md'),
    event: join(this.dir.path, 'event.json'),
  };

  constructor(private readonly options: RunOptions) {
    if (!options.args && !existsSync(ACTION_ENTRY))
      throw new Error('dist/index.js is missing: run npm run build first');
    for (const file of [this.files.output, this.files.state, this.files.summary]) writeFileSync(file, '');
    writeFileSync(this.files.event, JSON.stringify(options.event?.payload ?? {}));
  }

  private env(inputs: Record<string, string>, extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: this.dir.path,
      GITHUB_ACTIONS: 'true',
      CI: 'true',
      GITHUB_OUTPUT: this.files.output,
      GITHUB_STATE: this.files.state,
      GITHUB_STEP_SUMMARY: this.files.summary,
      GITHUB_EVENT_PATH: this.files.event,
      GITHUB_EVENT_NAME: this.options.event?.name ?? 'push',
      GITHUB_REPOSITORY: 'contoso/churn-models',
      GITHUB_SHA: 'f00dfacef00dfacef00dfacef00dfacef00dface',
      GITHUB_RUN_ID: '7002',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_API_URL: 'https://api.github.com',
      GITHUB_WORKSPACE: this.options.cwd,
      RUNNER_TEMP: this.dir.path,
      ...this.options.env,
      ...extra,
    };
    for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
    return env;
  }

  /** The main step. */
  async main(inputs: Record<string, string>, extra: Record<string, string> = {}): Promise<ActionRun> {
    const result = await exec(this.env(inputs, extra), this.options);
    return this.collect(result);
  }

  /** The post step: the runner hands the saved state back as STATE_* variables. */
  async post(inputs: Record<string, string>): Promise<ActionRun> {
    const state = parseFileCommands(readFileSync(this.files.state, 'utf8'));
    const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
    const result = await exec(this.env(inputs, stateEnv), { ...this.options, signalWhen: undefined });
    return this.collect(result);
  }

  private collect(result: { exitCode: number | null; stdout: string }): ActionRun {
    return {
      ...result,
      outputs: parseFileCommands(readFileSync(this.files.output, 'utf8')),
      state: parseFileCommands(readFileSync(this.files.state, 'utf8')),
      summary: readFileSync(this.files.summary, 'utf8'),
      dir: this.dir.path,
    };
  }

  cleanup(): void {
    this.dir.remove();
  }
}
