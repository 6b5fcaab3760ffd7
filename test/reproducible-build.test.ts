// Same model files on the same base give the same image digest, on any machine, any day: built through the CLI as
// users run it, from two folders whose files differ in mtimes, order of creation and permissions (umask), under
// different time zones, against a real docker-registry; skopeo reads back the creation time.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pushBaseImage, skopeoInspect } from './support/images.js';
import { tempDir } from './support/local.js';
import { startRegistry, type TestRegistry } from './support/registry.js';
import { CLI_ENTRY } from './support/runner.js';

let registry: TestRegistry;
let dir: { path: string; remove(): void };

beforeAll(async () => {
  registry = await startRegistry();
  dir = tempDir('reproducible');
  pushBaseImage(join(dir.path, 'base'), `${registry.host}/runtimes/server:1`);
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  dir?.remove();
});

const FILES: Record<string, string> = {
  'model-settings.json': '{"name":"churn"}\n',
  'weights/w.bin': 'w'.repeat(100_000),
  'tokenizer/vocab.txt': 'a\nb\nc\n',
};

/** A checkout of the model: files written in `order`, with these mtimes and permission bits. */
function checkout(name: string, order: string[], mtime: Date, mode: number): string {
  const root = join(dir.path, name);
  for (const file of order) {
    mkdirSync(join(root, 'model', file, '..'), { recursive: true });
    writeFileSync(join(root, 'model', file), FILES[file]!);
    chmodSync(join(root, 'model', file), mode);
    utimesSync(join(root, 'model', file), mtime, mtime);
  }
  return root;
}

interface Built {
  code: number;
  stdout: string;
  stderr: string;
  digest?: string;
}

/** `model-canary build` in `cwd`, under a time zone and a umask, as a user's shell would run it. */
function build(cwd: string, env: Record<string, string>, umask = '022'): Promise<Built> {
  const args = [
    CLI_ENTRY,
    'build',
    '--builder',
    'oci',
    '--model-path',
    'model',
    '--base-image',
    `${registry.host}/runtimes/server:1`,
    '--registry',
    registry.host,
    '--repository',
    'models/churn',
    '--tags',
    'none',
    '--output',
    'json',
  ];
  const { GITHUB_SHA: _sha, SOURCE_DATE_EPOCH: _epoch, ...inherited } = process.env;
  return new Promise((done) => {
    execFile(
      'sh',
      ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, ...args],
      { cwd, env: { ...inherited, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        const digest = code === 0 ? (JSON.parse(stdout) as { digest: string }).digest : undefined;
        done({ code, stdout, stderr, ...(digest ? { digest } : {}) });
      },
    );
  });
}

const createdOf = (digest: string) => skopeoInspect(`${registry.host}/models/churn@${digest}`).Created;

describe('reproducible images', () => {
  const order = Object.keys(FILES);
  const here = () => checkout('here', order, new Date('2020-01-01T00:00:00Z'), 0o644);
  const there = () => checkout('there', [...order].reverse(), new Date(), 0o600);

  it('outside a git repository: the Unix epoch, and the same digest from either checkout', async () => {
    const first = await build(here(), { TZ: 'UTC' });
    const second = await build(there(), { TZ: 'Asia/Kathmandu' }, '077');
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(second.digest).toBe(first.digest);
    expect(createdOf(first.digest!)).toBe('1970-01-01T00:00:00Z');
    expect(first.stderr).toMatch(/image created time 1970-01-01T00:00:00\.000Z, from the Unix epoch/);
    // The first push sent the layer while hashing it; the second found the repository and hashed first, saying so.
    expect(first.stderr).not.toMatch(/^hashing /m);
    expect(second.stderr).toMatch(/^hashing model files: .+ \(100%\) hashed$/m);
  });

  it('SOURCE_DATE_EPOCH sets the creation time: same digest again, another than the epoch build', async () => {
    const epoch = { SOURCE_DATE_EPOCH: '1700000000' };
    const first = await build(here(), { ...epoch, TZ: 'America/St_Johns' });
    const second = await build(there(), { ...epoch, TZ: 'Pacific/Chatham' }, '027');
    expect(second.digest).toBe(first.digest);
    expect(createdOf(first.digest!)).toBe('2023-11-14T22:13:20Z');
  });

  it('in a git checkout: the commit time, so a re-run of the same commit deploys the same image', async () => {
    const root = here();
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: root,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@example.com',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@example.com',
          GIT_COMMITTER_DATE: '2026-12-01T10:00:00Z',
          GIT_AUTHOR_DATE: '2026-12-01T10:00:00Z',
        },
      });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'model');
    const first = await build(root, { TZ: 'UTC' });
    const again = await build(root, { TZ: 'Europe/Berlin' });
    expect(again.digest).toBe(first.digest);
    expect(createdOf(first.digest!)).toBe('2026-12-01T10:00:00Z');
    expect(first.stderr).toMatch(/from the commit time of git HEAD/);
  });

  it('a SOURCE_DATE_EPOCH that is not a number of seconds is bad input, nothing pushed', async () => {
    const run = await build(here(), { SOURCE_DATE_EPOCH: '2026-12-01' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/SOURCE_DATE_EPOCH: '2026-12-01' is not a whole number of seconds/);
  });
});
