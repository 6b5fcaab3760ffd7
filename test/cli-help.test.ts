// The CLI's parser as a user meets it, through the real entry point (the bundle, dist/cli.js): help, version,
// "did you mean", values that begin with '-', and @file for YAML-valued flags.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_ENTRY } from './support/runner.js';
import { tempDir } from './support/local.js';
import * as m from './fixtures/manifests.js';

const repo = tempDir('cli-help');
const GATES = [
  '- name: error-rate',
  '  max: 0.02',
  '- name: queue-depth',
  '  query: max(model_queue_depth{ {{ selector }} })',
  '  max: 50',
].join('\n');

beforeAll(() => {
  mkdirSync(join(repo.path, 'k8s'));
  writeFileSync(join(repo.path, 'k8s', 'app.yaml'), [m.DEPLOYMENT, m.SERVICE].join('---\n'));
  writeFileSync(join(repo.path, 'gates.yaml'), `${GATES}\n`);
});
afterAll(() => repo.remove());

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI_ENTRY, ...args], { cwd: repo.path }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const PLAN = ['plan', '--manifests', 'k8s/', '--image', m.IMAGE];

describe('model-canary help and version', () => {
  it.each([['--help'], ['-h']])(
    'plan %s lists the flags with description and default, on stdout, exit 0',
    async (flag) => {
      const run = await cli('plan', flag);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('usage: model-canary plan');
      expect(run.stdout).toMatch(/--image <value>\s+Full image reference to deploy/);
      expect(run.stdout).toMatch(/--gates <value>[\s\S]*@path to read a\s+file/);
      expect(run.stdout).toMatch(/--dry-run \[true\|false\][\s\S]*--flag alone means true/);
      expect(run.stdout.replace(/\s+/g, ' ')).toMatch(/--steps <value> [^-]*default: 10,25,50,100/);
      expect(run.stderr).toBe('');
    },
  );

  it.each([['--version'], ['-V']])('%s prints the package version and exits 0', async (flag) => {
    const run = await cli(flag);
    expect(run).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it('--help and help list the commands', async () => {
    const [help, word] = await Promise.all([cli('--help'), cli('help')]);
    for (const run of [help, word]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/plan \[options\]\s+dry run without a cluster/);
      expect(run.stdout).toContain('rollback');
    }
  });

  it("each command's help lists its own flags; every flag is still accepted by every command", async () => {
    const [build, analyze, rollback, status] = await Promise.all([
      cli('build', '--help'),
      cli('analyze', '--help'),
      cli('rollback', '--help'),
      cli('status', '--help'),
    ]);
    expect(build.stdout).toContain('--model-path <value>');
    expect(build.stdout).not.toContain('--alpha');
    expect(build.stdout).not.toContain('--to-revision');
    expect(analyze.stdout).toContain('--from <value>');
    expect(analyze.stdout).toContain('--prometheus-url <value>');
    expect(analyze.stdout).toContain('--interval <value>');
    expect(analyze.stdout).not.toContain('--model-path');
    expect(rollback.stdout).toContain('--to-revision <value>');
    expect(rollback.stdout).not.toMatch(/--from |--steps |--gates /);
    expect(status.stdout).toContain('--namespace <value>');
    expect(status.stdout.split('\n').length).toBeLessThan(build.stdout.split('\n').length);
    // Scripts pass one set of flags to every command: a flag another command uses is not an error here.
    const lenient = await cli('plan', '--manifests', 'k8s/', '--image', m.IMAGE, '--to-revision', 'previous');
    expect(lenient.code).toBe(0);
  });

  it('every flag the help table names for some commands is a real config key', async () => {
    const { FLAG_COMMANDS } = await import('../src/cli/flag-docs-source.js');
    const { CONFIG_KEYS, COMMANDS } = await import('../src/core/config-schema.js');
    for (const [key, commands] of Object.entries(FLAG_COMMANDS)) {
      expect(CONFIG_KEYS).toContain(key);
      for (const command of commands ?? []) expect(COMMANDS).toContain(command);
    }
  });

  it('help plan prints the flags of plan', async () => {
    const run = await cli('help', 'plan');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('usage: model-canary plan');
    expect(run.stdout).toContain('--expected-rps <value>');
  });

  it('help nosuch is bad input naming the word and listing the commands', async () => {
    const run = await cli('help', 'nosuch');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("help: no command 'nosuch' (commands: deploy, build");
    expect((await cli('help', 'plna')).stderr).toContain("did you mean 'plan'?");
  });
});

describe('model-canary suggestions', () => {
  it('an unknown command names the nearest one', async () => {
    const run = await cli('plna', '--manifests', 'k8s/');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("(got 'plna'): did you mean 'plan'?");
  });

  it('an unknown flag names the nearest flag of the command', async () => {
    const run = await cli('plan', '--imgae', m.IMAGE);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Unknown option '--imgae': did you mean '--image'?");
  });

  it('a gate name near a built-in is a typo, not a custom gate without a query', async () => {
    const run = await cli(...PLAN, '--gates', '- name: eror-rate\n  max: 0.01');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("gate 'eror-rate' is not a built-in: did you mean 'error-rate'?");
    expect(run.stderr).not.toContain('so it needs a query');
  });

  it('an unknown gate key names the nearest key and lists the allowed ones', async () => {
    const run = await cli(...PLAN, '--gates', '- name: error-rate\n  max-increse: 50%');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("max-increse (did you mean 'max-increase'?): allowed are name, query, max, min");
  });
});

describe('model-canary flag values', () => {
  it('a value may begin with -: --steps -10,100 reaches validation', async () => {
    const run = await cli(...PLAN, '--steps', '-10,100');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('steps: must be rising whole percentages from 1 to 100');
    expect(run.stderr).toContain('-10,100');
  });

  it('--gates takes a YAML block list inline ("$(cat gates.yaml)")', async () => {
    const run = await cli(...PLAN, '--gates', GATES, '--output', 'json');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('queue-depth');
  });

  it('--gates @gates.yaml reads the file relative to the working directory', async () => {
    const run = await cli(...PLAN, '--gates', '@gates.yaml', '--output', 'json');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('queue-depth');
  });

  it('--gates @missing.yaml is bad input naming the flag and the path', async () => {
    const run = await cli(...PLAN, '--gates', '@missing.yaml');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('gates: file not found: missing.yaml (from --gates @missing.yaml)');
  });

  it('boolean flags: alone means true, or take true/false; a flag without its value is bad input', async () => {
    const [alone, explicit, wrong, missing] = await Promise.all([
      cli(...PLAN, '--dry-run', '--output', 'json'),
      cli(...PLAN, '--dry-run', 'false', '--output', 'json'),
      cli(...PLAN, '--dry-run', 'maybe'),
      cli('plan', '--manifests', 'k8s/', '--image'),
    ]);
    expect(alone.code).toBe(0);
    expect(explicit.code).toBe(0);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('dry-run: must be true or false');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('image: --image needs a value');
  });
});
