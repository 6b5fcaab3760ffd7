// The Kubeflow example (workflows-examples/kubeflow): the component may pass only real CLI flags and declared
// inputs and outputs; the Dockerfile copies what exists; and the image's file system, laid out here as the
// Dockerfile lays it out (no image can be pulled or built here: the network is closed), runs the bundled CLI
// through the component's wrapper with no node_modules in reach, against a real Prometheus.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_KEYS, SECRET_KEYS } from '../src/core/config-schema.js';
import { tempDir } from './support/local.js';
import { startPrometheus, type PrometheusServer } from './support/prometheus.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = join(ROOT, 'workflows-examples/kubeflow');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

const KNOWN_FLAGS = new Set<string>(CONFIG_KEYS);

// ---- component.yaml ------------------------------------------------------------------------

interface IoSpec {
  name: string;
  type?: string;
  default?: string;
  optional?: boolean;
}
type Arg = string | { [placeholder: string]: unknown };
interface Component {
  name: string;
  description: string;
  inputs: IoSpec[];
  outputs: IoSpec[];
  implementation: { container: { image: string; command: Arg[]; args: Arg[] } };
}

const component = parse(read('workflows-examples/kubeflow/component.yaml')) as Component;

interface Use {
  kind: 'inputValue' | 'inputPath' | 'outputPath' | 'isPresent';
  name: string;
  /** Inside an `if: {cond: {isPresent: x}}` on these inputs. */
  guardedBy: string[];
}

/** Every placeholder in command and args, with the isPresent conditions around it; unknown placeholders throw. */
function placeholders(args: Arg[], guardedBy: string[] = []): Use[] {
  return args.flatMap((arg): Use[] => {
    if (typeof arg === 'string') return [];
    const [kind, value] = Object.entries(arg)[0] as [string, unknown];
    if (kind === 'inputValue' || kind === 'inputPath' || kind === 'outputPath') {
      return [{ kind, name: value as string, guardedBy }];
    }
    if (kind === 'if') {
      const {
        cond,
        then = [],
        else: otherwise = [],
      } = value as { cond: { isPresent: string }; then?: Arg[]; else?: Arg[] };
      const input = cond.isPresent;
      return [
        { kind: 'isPresent', name: input, guardedBy },
        ...placeholders(then, [...guardedBy, input]),
        ...placeholders(otherwise, guardedBy),
      ];
    }
    throw new Error(`component.yaml: placeholder ${JSON.stringify(arg)} is not one this test knows`);
  });
}

/** The flags the component passes, through every branch of its `if`s. */
function flags(args: Arg[]): string[] {
  return args.flatMap((arg) => {
    if (typeof arg === 'string') return arg.startsWith('--') ? [arg.slice(2)] : [];
    const conditional = (arg as { if?: { then?: Arg[]; else?: Arg[] } }).if;
    return conditional ? [...flags(conditional.then ?? []), ...flags(conditional.else ?? [])] : [];
  });
}

/** KFP's view of an input: one without a default that is not optional must be passed. */
const isRequired = (input: IoSpec): boolean => input.default === undefined && !input.optional;

const { command, args } = component.implementation.container;
const uses = placeholders([...command, ...args]);
const inputNames = component.inputs.map((input) => input.name);
const outputNames = component.outputs.map((output) => output.name);

describe('component.yaml', () => {
  it('is a KFP component spec: name, description, inputs, outputs, a container with image, command and args', () => {
    expect(component.name).toMatch(/\S/);
    expect(component.description).toMatch(/\S/);
    expect(component.implementation.container.image).toMatch(/^[\w.-]+(:\d+)?\/[\w./-]+:[\w.-]+$/);
    expect(command).toEqual(['model-canary-kfp']);
    expect(args.slice(0, 4)).toEqual([
      { outputPath: 'report' },
      { outputPath: 'verdict' },
      { outputPath: 'image' },
      'deploy',
    ]);
  });

  it('passes only flags the CLI has (or that come with issue 7), each once', () => {
    const passed = flags(args);
    expect(passed.filter((flag) => !KNOWN_FLAGS.has(flag))).toEqual([]);
    expect(passed.filter((flag, index) => passed.indexOf(flag) !== index)).toEqual([]);
    // The wrapper adds --output json itself, and secrets come from the environment, never from inputs.
    expect(passed).not.toContain('output');
    for (const secret of SECRET_KEYS) expect(passed).not.toContain(secret);
  });

  it('takes the model source and the flags a deploy needs', () => {
    expect(flags(args)).toEqual(
      expect.arrayContaining(['model-source', 'manifests', 'registry', 'repository', 'base-image', 'prometheus-url']),
    );
    expect(flags(args)).toEqual(expect.arrayContaining(['steps', 'interval', 'builder']));
  });

  it('every placeholder names a declared input or output, and every input and output is used', () => {
    const inputs = uses.filter((use) => use.kind !== 'outputPath').map((use) => use.name);
    const outputs = uses.filter((use) => use.kind === 'outputPath').map((use) => use.name);
    expect(inputs.filter((name) => !inputNames.includes(name))).toEqual([]);
    expect(outputs.filter((name) => !outputNames.includes(name))).toEqual([]);
    expect(inputNames.filter((name) => !inputs.includes(name))).toEqual([]);
    expect([...outputs].sort()).toEqual([...outputNames].sort());
  });

  it('optional inputs are passed only when present; required ones always', () => {
    for (const input of component.inputs) {
      const valueUses = uses.filter((use) => use.name === input.name && use.kind !== 'isPresent');
      expect(valueUses.length).toBeGreaterThan(0);
      for (const use of valueUses) {
        if (input.optional)
          expect({ input: input.name, guardedBy: use.guardedBy }).toEqual({
            input: input.name,
            guardedBy: [input.name],
          });
        else expect({ input: input.name, guardedBy: use.guardedBy }).toEqual({ input: input.name, guardedBy: [] });
      }
    }
    const guarded = uses.filter((use) => use.kind === 'isPresent').map((use) => use.name);
    for (const name of guarded) expect(component.inputs.find((input) => input.name === name)?.optional).toBe(true);
    expect(component.inputs.filter(isRequired).map((input) => input.name)).toEqual(
      expect.arrayContaining(['model_source', 'manifests', 'registry', 'repository', 'prometheus_url']),
    );
  });

  it('input names are the Python names KFP gives them (so pipeline.py calls them as written)', () => {
    for (const name of [...inputNames, ...outputNames]) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
    const pipeline = read('workflows-examples/kubeflow/pipeline.py');
    const call = /deploy_op\(([\s\S]*?)\n\s*\)/.exec(pipeline)?.[1] ?? '';
    const passed = [...call.matchAll(/^\s*([a-z_]+)=/gm)].map((match) => match[1]!);
    expect(passed.length).toBeGreaterThan(0);
    expect(passed.filter((name) => !inputNames.includes(name))).toEqual([]);
    const required = component.inputs.filter(isRequired).map((input) => input.name);
    expect(required.filter((name) => !passed.includes(name))).toEqual([]);
  });
});

// ---- the wrapper's secrets ----------------------------------------------------------------

describe('model-canary-kfp.sh', () => {
  it('passes no secret on the command line: the CLI reads MODEL_CANARY_* variables itself', () => {
    const wrapper = read('workflows-examples/kubeflow/model-canary-kfp.sh');
    expect(wrapper).not.toMatch(/set -- "\$@" "--\$key"/);
  });
});

// ---- rbac.yaml -----------------------------------------------------------------------------

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

describe('rbac.yaml', () => {
  const [role, binding] = parseAllDocuments(read('workflows-examples/kubeflow/rbac.yaml')).map((doc) => doc.toJS());
  const grants = (group: string, resource: string, verb: string): boolean =>
    (role.rules as Rule[]).some(
      (rule) => rule.apiGroups.includes(group) && rule.resources.includes(resource) && rule.verbs.includes(verb),
    );

  it('binds its Role, in the namespace of the sample model, to the pipeline service account', () => {
    expect(role).toMatchObject({ kind: 'Role', metadata: { namespace: 'ml' } });
    expect(binding).toMatchObject({
      kind: 'RoleBinding',
      metadata: { namespace: 'ml' },
      roleRef: { kind: 'Role', name: role.metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: 'default-editor' }],
    });
  });

  it.each<[string, string, string]>([
    ['apps', 'deployments', 'patch'],
    ['apps', 'deployments', 'create'],
    ['apps', 'deployments', 'delete'],
    ['', 'pods', 'list'],
    ['', 'events', 'list'],
    ['', 'configmaps', 'patch'],
    ['coordination.k8s.io', 'leases', 'create'],
    ['coordination.k8s.io', 'leases', 'delete'],
    ['autoscaling', 'horizontalpodautoscalers', 'get'],
    ['serving.kserve.io', 'inferenceservices', 'patch'],
  ])('grants %s %s %s (a rollout needs it)', (group, resource, verb) => {
    expect(grants(group, resource, verb)).toBe(true);
  });

  it('grants nothing cluster-wide and no secrets', () => {
    expect(grants('', 'secrets', 'get')).toBe(false);
    expect(JSON.stringify(role.rules)).not.toContain('*');
  });
});

// ---- Dockerfile ----------------------------------------------------------------------------

interface Instruction {
  op: string;
  value: string;
}
const dockerfile: Instruction[] = read('workflows-examples/kubeflow/Dockerfile')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'))
  .map((line) => {
    const [op, ...rest] = line.trim().split(/\s+/);
    return { op: op!.toUpperCase(), value: rest.join(' ') };
  });

/** COPY sources and destinations, with relative destinations resolved against the WORKDIR at that point. */
function copies(): Array<{ sources: string[]; destination: string }> {
  let workdir = '/';
  const result: Array<{ sources: string[]; destination: string }> = [];
  for (const { op, value } of dockerfile) {
    if (op === 'WORKDIR') workdir = posix.resolve(workdir, value);
    if (op !== 'COPY') continue;
    const parts = value.split(/\s+/).filter((part) => !part.startsWith('--'));
    const destination = parts.pop()!;
    const absolute = posix.resolve(workdir, destination) + (destination.endsWith('/') ? '/' : '');
    result.push({ sources: parts, destination: absolute });
  }
  return result;
}

/** `ln -s target link` in RUN lines. */
const symlinks = (): Array<{ target: string; link: string }> =>
  dockerfile
    .filter(({ op }) => op === 'RUN')
    .flatMap(({ value }) =>
      [...value.matchAll(/ln -s (\S+) (\S+)/g)].map((match) => ({ target: match[1]!, link: match[2]! })),
    );

const dockerignore = read('.dockerignore')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

/** Our .dockerignore excludes everything (`*`) and lets back in what the image needs (`!path`). */
const inContext = (source: string): boolean =>
  dockerignore.some((rule) => rule.startsWith('!') && (source === rule.slice(1) || source.startsWith(rule.slice(1))));

describe('Dockerfile', () => {
  it('is the CLI on a Node base, as a non-root user, with model-canary as entrypoint', () => {
    const from = dockerfile.filter(({ op }) => op === 'FROM').map(({ value }) => value);
    expect(from).toEqual([expect.stringMatching(/^docker\.io\/library\/node:24-slim$/)]);
    const user = dockerfile.filter(({ op }) => op === 'USER').pop()?.value ?? 'root';
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const entrypoint = dockerfile.filter(({ op }) => op === 'ENTRYPOINT').pop()!.value;
    expect(JSON.parse(entrypoint)).toEqual(['model-canary']);
    expect(symlinks()).toContainEqual({ target: '/opt/model-canary/dist/cli.js', link: '/usr/local/bin/model-canary' });
  });

  it('copies paths that exist in the repository and are in the build context', () => {
    const sources = copies().flatMap((copy) => copy.sources);
    expect(sources).toEqual(expect.arrayContaining(['dist/cli.js', 'dist/chunks/', 'package.json']));
    for (const source of sources) {
      expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
      expect({ source, inContext: inContext(source) }).toEqual({ source, inContext: true });
    }
    expect(statSync(join(ROOT, 'dist/chunks')).isDirectory()).toBe(true);
    expect(JSON.parse(read('package.json')).type).toBe('module');
  });

  it('the bundled CLI imports only node built-ins and its own chunks (nothing from node_modules)', () => {
    const specifiers = (text: string) =>
      [
        ...text.matchAll(/(?:^|[;}])import\s*(?:[\w$*{}, ]+from\s*)?"([^"]+)"/gm),
        ...text.matchAll(/\b(?:import|require)\("([^"]+)"\)/g),
      ].map((match) => match[1]!);
    // Every file the CLI can load, static and lazy (a command's chunk loads on its first use), followed through.
    const seen = new Set<string>();
    const queue = ['dist/cli.js'];
    while (queue.length > 0) {
      const file = queue.shift()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const imports = specifiers(readFileSync(join(ROOT, file), 'utf8'));
      if (file === 'dist/cli.js') expect(imports.length).toBeGreaterThan(0);
      const foreign = imports.filter((specifier) => !specifier.startsWith('./') && !isBuiltin(specifier));
      expect({ file, foreign }).toEqual({ file, foreign: [] });
      for (const local of imports.filter((specifier) => specifier.startsWith('./'))) {
        queue.push(join(dirname(file), local));
      }
    }
    expect([...seen].some((file) => file.startsWith('dist/chunks/'))).toBe(true);
  });
});

// ---- the image's file system, run for real -----------------------------------------------

interface Run {
  code: number;
  stderr: string;
  report: string;
  verdict: string;
  image: string;
}

describe('the image, laid out as the Dockerfile lays it out', () => {
  const root = tempDir('kfp-image');
  const outputs = tempDir('kfp-outputs');
  let prometheus: PrometheusServer;
  let runs = 0;

  beforeAll(async () => {
    for (const { sources, destination } of copies()) {
      for (const source of sources) {
        const from = join(ROOT, source);
        const isDir = statSync(from).isDirectory();
        const to =
          destination.endsWith('/') && !isDir
            ? join(root.path, destination, posix.basename(source))
            : join(root.path, destination);
        mkdirSync(isDir ? to : dirname(to), { recursive: true });
        if (isDir) cpSync(from, to, { recursive: true });
        else copyFileSync(from, to);
      }
    }
    for (const { target, link } of symlinks()) symlinkSync(join(root.path, target), join(root.path, link));
    chmodSync(join(root.path, 'usr/local/bin/model-canary-kfp'), 0o755);
    prometheus = await startPrometheus();
  });
  afterAll(async () => {
    await prometheus?.stop();
    root.remove();
    outputs.remove();
  });

  /** The wrapper as KFP runs it: output paths in folders that do not exist yet, PATH with the image's bin. */
  function kfp(cliArgs: string[], env: Record<string, string> = {}): Promise<Run> {
    const dir = join(outputs.path, `run-${++runs}`);
    const [report, verdict, image] = ['report/data', 'verdict/data', 'image/data'].map((file) => join(dir, file));
    const bin = join(root.path, 'usr/local/bin');
    const path = `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`;
    return new Promise((resolve) => {
      execFile(
        join(bin, 'model-canary-kfp'),
        [report!, verdict!, image!, ...cliArgs],
        { cwd: outputs.path, env: { PATH: path, HOME: outputs.path, ...env }, timeout: 30000 },
        (error, _stdout, stderr) => {
          const code = error ? ((error as { code?: number }).code ?? 1) : 0;
          const text = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '<missing>');
          resolve({ code, stderr, report: text(report!), verdict: text(verdict!), image: text(image!) });
        },
      );
    });
  }

  const manifests = join(ROOT, 'workflows-examples/sample-model/k8s/deployment.yaml');
  const digestImage = `myacr.azurecr.io/models/churn-scorer@sha256:${'c'.repeat(64)}`;

  it('the entrypoint is the bundled CLI, and it runs with no node_modules in reach', async () => {
    const entry = join(root.path, 'usr/local/bin/model-canary');
    expect(existsSync(entry)).toBe(true);
    expect(existsSync(join(root.path, 'node_modules'))).toBe(false);
    const help = await new Promise<string>((resolve, reject) =>
      execFile(entry, ['--help'], { env: { PATH: dirname(process.execPath) } }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
    expect(help).toMatch(/^usage: model-canary <command>/);
    expect(help).toMatch(/^ {2}deploy \[options\]/m);
  });

  it('writes the report, verdict and image outputs of a run', async () => {
    const run = await kfp(['plan', '--manifests', manifests, '--image', digestImage, '--steps', '10,50,100']);
    expect(run.stderr).toContain('model-canary-kfp: verdict planned');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.report);
    expect(report).toMatchObject({ command: 'plan', model: 'churn-scorer', namespace: 'ml', verdict: 'planned' });
    expect(run.verdict).toBe('planned');
    expect(run.image).toBe(digestImage);
  });

  it('bad input: exit 2, verdict failed, an empty report, and --fail-on-rollback false does not hide it', async () => {
    const run = await kfp(['deploy', '--manifests', manifests, '--image', digestImage, '--fail-on-rollback', 'false']);
    expect(run.stderr).toContain("prometheus-url: required for 'deploy'");
    expect(run).toMatchObject({ code: 2, verdict: 'failed', image: '' });
    expect(JSON.parse(run.report)).toEqual({});
  });

  const analyze = (): string[] => [
    'analyze',
    '--model',
    'churn-scorer',
    '--namespace',
    'ml',
    '--prometheus-url',
    prometheus.url,
    '--interval',
    '30s',
  ];

  it('an inconclusive canary (no traffic in Prometheus) exits 4 and still writes its outputs', async () => {
    const run = await kfp(analyze());
    expect(run.code).toBe(4);
    expect(run.verdict).toBe('inconclusive');
    expect(JSON.parse(run.report).gates.length).toBeGreaterThan(0);
  });

  it('--fail-on-rollback false lets the pipeline go on, to branch on the verdict', async () => {
    const run = await kfp([...analyze(), '--fail-on-rollback', 'false']);
    expect(run.code).toBe(0);
    expect(run.verdict).toBe('inconclusive');
    expect(run.stderr).toContain('inconclusive (fail-on-rollback is false, so the exit code is 0)');
  });

  it('secrets come from MODEL_CANARY_* variables, not from the pipeline spec', async () => {
    const bearer = [...analyze(), '--prometheus-auth', 'bearer'];
    const without = await kfp(bearer);
    expect(without.code).toBe(2);
    expect(without.stderr).toContain('prometheus-auth: bearer needs prometheus-token');
    const token = 'kfp-secret-token-value';
    const withToken = await kfp(bearer, { MODEL_CANARY_PROMETHEUS_TOKEN: token });
    expect(withToken.code).toBe(4);
    expect(withToken.stderr).not.toContain(token);
    expect(withToken.report).not.toContain(token);
  });

  it('refuses to run without its three output paths and a command', async () => {
    const run = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(join(EXAMPLE, 'model-canary-kfp.sh'), ['a', 'b'], (error, _stdout, stderr) =>
        resolve({ code: (error as { code?: number } | null)?.code ?? 0, stderr }),
      ),
    );
    expect(run).toEqual({ code: 2, stderr: expect.stringContaining('usage: model-canary-kfp') });
  });
});
