// Issue 15, items 10 and 11. Bad manifests are bad input: an alias bomb exited 1 with "Excessive alias count" and no
// file name, a 60 MB manifest took 15 s and 2 GB to parse. Outside text cannot act in the job log: a model container's
// log reached the action's output raw, so a line it printed as `::add-mask::` or `::error::` was a workflow command.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { systemClock } from '../../src/adapters/clock.js';
import { KubeCluster } from '../../src/adapters/kubernetes/cluster.js';
import type { Services } from '../../src/commands/context.js';
import { EXIT, exitCodeForError, runCommand } from '../../src/commands/run.js';
import { buildConfig } from '../../src/core/config.js';
import { guardJsonForJobLog, guardWorkflowCommands } from '../../src/core/workflow-commands.js';
import { writeRecord } from '../../src/engine/history.js';
import { startFakeKubeApiServer, type FakeKube } from '../support/fake-kube-apiserver.js';
import type { JsonObject } from '../support/fake-kube/fields.js';
import { buildTarget, existingObjects, OLD_IMAGE } from '../support/kube-target.js';
import { tempDir } from '../support/local.js';
import { ActionRunner, ACTION_SOURCE_ARGS, CLI_SOURCE_ARGS } from '../support/runner.js';

const execFileAsync = promisify(execFile);
const IMAGE = `registry.local/models/churn@sha256:${'c'.repeat(64)}`;
const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const unused = () => {
  throw new Error('plan touched a service');
};
const noServices: Services = {
  cluster: unused,
  metrics: unused,
  reporter: { publish: async () => undefined },
  run: { holder: 'test' },
  mask: () => undefined,
};

let repo: { path: string; remove(): void };
beforeAll(() => {
  repo = tempDir('hostile-input');
});
afterAll(() => repo.remove());

/** Writes `files` (path -> text) into the repository. */
function lay(files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(repo.path, path, '..'), { recursive: true });
    writeFileSync(join(repo.path, path), text);
  }
}

const manifestsOf = (namespace: string): string =>
  existingObjects(buildTarget({ namespace, replicas: 1 }))
    .map((object) => stringify(object))
    .join('---\n');

/** "Billion laughs": nine levels of nine aliases, 9^9 strings once expanded, from under a kilobyte. */
function aliasBomb(): string {
  const levels = 'abcdefghi'.split('');
  return levels
    .map((name, at) => {
      const items = at === 0 ? Array(9).fill('"lol"') : Array(9).fill(`*${levels[at - 1]}`);
      return `${name}: &${name} [${items.join(', ')}]`;
    })
    .join('\n');
}

describe('a bad manifest file is bad input (exit 2), named, before it costs time or memory', () => {
  it('an alias bomb among good manifests: the CLI (TypeScript sources) exits 2 naming the file', () => {
    lay({ 'bomb/app.yaml': manifestsOf('ml'), 'bomb/laughs.yaml': aliasBomb() });
    const run = spawnSync(process.execPath, [...CLI_SOURCE_ARGS, 'plan', '--manifests', 'bomb/', '--image', IMAGE], {
      cwd: repo.path,
      encoding: 'utf8',
    });
    expect(run.stderr).toContain('bomb/laughs.yaml (document 1): not usable YAML');
    expect(run.stderr).toContain('at most 100 alias expansions per document');
    expect(run.status).toBe(EXIT.badInput);
  });

  it('an oversized file is refused by its size, naming the file and the cap, without being read', async () => {
    lay({ 'huge/app.yaml': manifestsOf('ml') });
    // 600 MiB, sparse (no disk): reading it whole would fail on its own (Node's longest string is 512 MiB), so the
    // refusal below can only come from the size, checked before reading.
    const fd = openSync(join(repo.path, 'huge', 'data.yaml'), 'w');
    ftruncateSync(fd, 600 * 1024 ** 2);
    closeSync(fd);
    const config = buildConfig({}, { command: 'plan', manifests: 'huge/', image: IMAGE });
    const error = await runCommand({ config, logger: quiet, clock: systemClock, cwd: repo.path, services: noServices })
      .then(() => undefined)
      .catch((caught: unknown) => caught);
    expect(exitCodeForError(error)).toBe(EXIT.badInput);
    expect((error as Error).message).toContain(
      'huge/data.yaml: 600.0 MiB is over the 5.0 MiB limit for one manifest file (Kubernetes objects are limited to about 1.5 MiB by etcd)',
    );
    expect((error as Error).message).not.toContain('huge/app.yaml');
  });
});

const RUNNER_COMMANDS = new Set(
  'add-mask error warning notice debug group endgroup echo set-output save-state add-path set-env add-matcher remove-matcher'.split(
    ' ',
  ),
);

/**
 * The workflow commands the GitHub runner acts on in a step's output, as actions/runner's ActionCommandManager reads
 * it: lines split at \r and \n; `::name props::data` at the start after white space (TryParseV2, .NET's TrimStart),
 * else the legacy `##[name props]data` anywhere in the line (TryParse); only registered names; nothing between
 * `::stop-commands::TOKEN` and `::TOKEN::`. (The runner compares with the current culture, which may skip invisible
 * characters; this model compares exactly, so it is no stricter than the runner.)
 */
function actedOn(output: string): { name: string; data: string }[] {
  const acted: { name: string; data: string }[] = [];
  let stopToken: string | undefined;
  const known = (name: string) => RUNNER_COMMANDS.has(name) || name === 'stop-commands' || name === stopToken;
  for (const line of output.split(/\r\n|\r|\n/)) {
    const trimmed = line.replace(/^[\s\u0085]+/, '');
    const v2 = trimmed.startsWith('::') ? /^::([^]*?)::([^]*)$/.exec(trimmed) : null;
    const v1 = line.includes('##[') ? /##\[([^\]]*)\]([^]*)$/.exec(line.slice(line.indexOf('##['))) : null;
    const parsed = [v2, v1]
      .map((match) => match && { name: (match[1] ?? '').split(' ')[0]!.toLowerCase(), data: match[2] ?? '' })
      .find((command) => command && known(command.name));
    if (!parsed) continue;
    if (stopToken) {
      if (parsed.name === stopToken) stopToken = undefined;
    } else if (parsed.name === 'stop-commands') stopToken = parsed.data.toLowerCase();
    else acted.push(parsed);
  }
  return acted;
}

/** Commands carrying the attacker's payloads (every payload below starts with `pwn`). */
const hijacked = (output: string) => actedOn(output).filter((command) => command.data.startsWith('pwn'));

describe('outside text cannot act as a workflow command in the job log', () => {
  const CRASH_IMAGE = `registry.local/models/crash@sha256:${'d'.repeat(64)}`;
  // A progress bar's carriage returns start new lines for the runner; the last log line is what the reason quotes.
  const CRASH_LOG = 'loading model\nprogress 100%\r::add-mask::pwn-mask\r::error::pwned\r##[add-mask]pwn-legacy\n';
  let fake: FakeKube;
  let cluster: KubeCluster;
  beforeAll(async () => {
    fake = await startFakeKubeApiServer({ readyDelayMs: 20, tickMs: 10, crashLog: CRASH_LOG });
    cluster = KubeCluster.fromOptions({ kubeconfigPath: fake.kubeconfigPath });
  });
  afterAll(() => fake.stop());

  /** Revision 1 ran an image that now crash-loops, revision 2 is stable: `rollback --to-revision 1` shows its log. */
  async function seed(namespace: string): Promise<Record<string, string>> {
    lay({ [`${namespace}/app.yaml`]: manifestsOf(namespace) });
    fake.seed(existingObjects(buildTarget({ namespace, replicas: 1 })) as JsonObject[]);
    const times = { startedAt: '2026-12-01T10:00:00.000Z', endedAt: '2026-12-01T10:05:00.000Z', manifestHash: 'h' };
    for (const [revision, image] of [
      [1, CRASH_IMAGE],
      [2, OLD_IMAGE],
    ] as const) {
      await writeRecord(cluster, 'churn', namespace, {
        ...times,
        revision,
        image,
        digest: image.split('@')[1]!,
        verdict: 'promoted',
      });
    }
    return {
      command: 'rollback',
      manifests: `${namespace}/app.yaml`,
      'to-revision': '1',
      kubeconfig: fake.kubeconfigPath,
      timeout: '30s',
    };
  }

  const entries: [string, (inputs: Record<string, string>) => Promise<string>][] = [
    [
      'the action',
      async (inputs) => {
        const runner = new ActionRunner({ cwd: repo.path, args: ACTION_SOURCE_ARGS });
        try {
          return (await runner.main(inputs)).stdout;
        } finally {
          runner.cleanup();
        }
      },
    ],
    [
      'the CLI',
      async ({ command, ...flags }) => {
        const args = [command!, ...Object.entries(flags).flatMap(([name, value]) => [`--${name}`, value])];
        // Asynchronously: the fake API server answers from this process.
        const run = await execFileAsync(process.execPath, [...CLI_SOURCE_ARGS, ...args], { cwd: repo.path }).catch(
          (failed: { stdout: string; stderr: string }) => failed,
        );
        return run.stdout + run.stderr;
      },
    ],
  ];

  it.each(entries)(
    "a crash-looping container's last log line, shown by %s, is printed but not acted on",
    async (entry, run) => {
      const output = await run(await seed(`logs-${entry.replace(/\W/g, '').toLowerCase()}`));
      // The log line is shown, so the reason is useful and the check below has something to find.
      expect(output).toContain('CrashLoopBackOff');
      expect(output).toContain('::add-mask::pwn-mask');
      expect(output).toContain('##[add-mask]pwn-legacy');
      expect(hijacked(output)).toEqual([]);
    },
  );

  it.each([
    ['a command line', '::add-mask::pwn'],
    ['after white space and a line break', 'ok\n \t::error::pwned'],
    ['after a carriage return', 'progress 50%\r::error::pwned'],
    ['after a non-breaking space and NEL', 'ok\n\u00a0\u0085::error::pwned'],
    ['the legacy form mid-line', 'starting ##[add-mask]pwn'],
    ['a fake end of a stop-commands block', '::stop-commands::pwn\n::pwn::\n::add-mask::pwn'],
  ])('%s: acted on raw, inert once guarded', (_name, text) => {
    let n = 0;
    const tokens = () => `token${String(++n).padStart(12, '0')}`;
    expect(hijacked(text).length).toBeGreaterThan(0);
    expect(hijacked(guardWorkflowCommands(text, tokens))).toEqual([]);
  });

  it('a guard token the text already holds is replaced by a fresh one', () => {
    const tokens = ['a'.repeat(16), 'b'.repeat(16)];
    const guarded = guardWorkflowCommands(`::${'A'.repeat(16)}::\n::add-mask::pwn`, () => tokens.shift()!);
    expect(guarded.startsWith(`::stop-commands::${'b'.repeat(16)}\n`)).toBe(true);
    expect(hijacked(guarded)).toEqual([]);
  });

  it('text that holds no command is printed unchanged; JSON keeps its value', () => {
    const plain = 'churn: CrashLoopBackOff: pod churn-1 last exit: Error (code 1); see http://grafana:3000/d/x #12';
    expect(guardWorkflowCommands(plain, () => 'never-called')).toBe(plain);
    const json = JSON.stringify({ reason: '##[add-mask]pwn\n::error::pwned' }, null, 2);
    expect(hijacked(json).length).toBeGreaterThan(0);
    expect(hijacked(guardJsonForJobLog(json))).toEqual([]);
    expect(JSON.parse(guardJsonForJobLog(json))).toEqual(JSON.parse(json));
  });
});
