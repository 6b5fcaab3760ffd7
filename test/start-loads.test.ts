// What the bundled CLI and action load to start: `--help` and `plan` (CLI and action) must not load the clients
// they never call (Kubernetes, GitHub, HTTP, registry tools, globbing), which cost a start four times a bare node's.
// Each loaded chunk is traced back to its sources through its source map, as a user profiling the start would; the
// manifest and image are the start benchmark's.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGE, MANIFEST } from '../bench/cold-start.js';
import { tempDir } from './support/local.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RECORDER = join(ROOT, 'test/support/load-recorder.mjs');
/** Never loaded by --help or plan: each is loaded by the command or adapter that uses it, when it runs. */
const HEAVY = [
  '@kubernetes/client-node',
  '@octokit/',
  '@actions/github',
  '@actions/http-client',
  '@actions/exec',
  'undici',
  'axios',
  'fast-glob',
  'tar-stream',
];

/** The package (or src/ file) behind every chunk the process loaded. */
async function sourcesLoaded(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; sources: string[] }> {
  const dir = tempDir('start-loads');
  try {
    writeFileSync(join(dir.path, 'app.yaml'), MANIFEST);
    const list = join(dir.path, 'loaded.txt');
    writeFileSync(list, '');
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ['--no-warnings', '--experimental-loader', RECORDER, ...args], {
        cwd: dir.path,
        env: { PATH: process.env.PATH, LOADED_MODULES_FILE: list, ...env },
        stdio: 'ignore',
      });
      child.on('error', reject);
      child.on('close', (exit) => resolve(exit ?? -1));
    });
    const files = readFileSync(list, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((url) => fileURLToPath(url));
    const sources = files.flatMap((file) => {
      if (!file.startsWith(join(ROOT, 'dist'))) return [file];
      const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
      return map.sources;
    });
    return { code, sources };
  } finally {
    dir.remove();
  }
}

const heavyIn = (sources: string[]) => HEAVY.filter((name) => sources.some((source) => source.includes(name)));

describe('what a command loads to start', () => {
  it('--help loads commander and the flag table, no client', async () => {
    const { code, sources } = await sourcesLoaded([join(ROOT, 'dist/cli.js'), '--help']);
    expect(code).toBe(0);
    expect(sources.some((source) => source.includes('commander'))).toBe(true);
    expect(heavyIn(sources)).toEqual([]);
  });

  it('plan (CLI) loads the config, the manifests and the plan, no client', async () => {
    const { code, sources } = await sourcesLoaded([
      join(ROOT, 'dist/cli.js'),
      'plan',
      '--manifests',
      'app.yaml',
      '--image',
      IMAGE,
    ]);
    expect(code).toBe(0);
    expect(sources.some((source) => source.endsWith('src/commands/plan.ts'))).toBe(true);
    expect(heavyIn(sources)).toEqual([]);
  });

  it("the action's plan loads no client, not even the toolkit's OIDC one", async () => {
    const dir = tempDir('start-loads-runner');
    try {
      for (const file of ['output', 'state', 'summary']) writeFileSync(join(dir.path, file), '');
      const { code, sources } = await sourcesLoaded([join(ROOT, 'dist/index.js')], {
        GITHUB_OUTPUT: join(dir.path, 'output'),
        GITHUB_STATE: join(dir.path, 'state'),
        GITHUB_STEP_SUMMARY: join(dir.path, 'summary'),
        INPUT_COMMAND: 'plan',
        INPUT_MANIFESTS: 'app.yaml',
        INPUT_IMAGE: IMAGE,
      });
      expect(code).toBe(0);
      expect(readFileSync(join(dir.path, 'output'), 'utf8')).toContain('planned');
      expect(sources.some((source) => source.includes('@actions/core'))).toBe(true);
      expect(heavyIn(sources)).toEqual([]);
    } finally {
      dir.remove();
    }
  });

  it('deploy loads the Kubernetes client when it reaches the cluster (the check above can see a client)', async () => {
    const { sources } = await sourcesLoaded([
      join(ROOT, 'dist/cli.js'),
      'deploy',
      '--manifests',
      'app.yaml',
      '--image',
      `127.0.0.1:9/churn@sha256:${'a'.repeat(64)}`,
      '--prometheus-url',
      'http://127.0.0.1:9',
    ]);
    expect(heavyIn(sources)).toContain('@kubernetes/client-node');
  });
});
