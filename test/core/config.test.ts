import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { buildConfig, ConfigError } from '../../src/core/config.js';
import { CONFIG_KEYS } from '../../src/core/config-schema.js';

const base = { command: 'plan', manifests: 'k8s/', image: 'r.io/m@sha256:' + 'a'.repeat(64) };

function problemsOf(file: Record<string, unknown>, overrides: Record<string, unknown> = {}): string[] {
  try {
    buildConfig(file, overrides);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('buildConfig', () => {
  it('reads action-style strings into typed values', () => {
    const config = buildConfig(
      {},
      {
        ...base,
        command: 'deploy',
        steps: '10, 25,50,100',
        interval: '2m',
        'prometheus-url': 'http://127.0.0.1:9090',
        'dry-run': 'true',
        comment: 'false',
        alpha: '0.05',
        'to-revision': '3',
        'build-args': 'A=1\nB=two=2',
        manifests: 'k8s/a.yaml,\nk8s/b.yaml',
      },
    );
    expect(config).toMatchObject({
      command: 'deploy',
      steps: [10, 25, 50, 100],
      intervalMs: 120_000,
      dryRun: true,
      github: { comment: false },
      analysis: { alpha: 0.05 },
      toRevision: 3,
      manifests: ['k8s/a.yaml', 'k8s/b.yaml'],
      build: { buildArgs: { A: '1', B: 'two=2' } },
      router: 'replicas',
      weight: 10,
    });
  });

  it('takes native YAML values from the file and lets inputs override them', () => {
    const file = parse(
      'steps: [5, 50]\ninterval: 30\nrouter: istio\nmodel: fraud\ngates:\n  - name: error-rate\n    max: 0.02\n',
    );
    const config = buildConfig(file, { ...base, router: 'nginx', model: '' });
    expect(config.steps).toEqual([5, 50]);
    expect(config.intervalMs).toBe(30_000);
    expect(config.router).toBe('nginx');
    expect(config.model).toBe('fraud');
    expect(config.gates).toMatchObject([{ name: 'error-rate', max: 0.02, minRequests: 100 }]);
  });

  it('parses the gates input as inline YAML', () => {
    const config = buildConfig({}, { ...base, gates: '- name: latency-p95\n  max-ratio: 1.3\n' });
    expect(config.gates).toMatchObject([{ name: 'latency-p95', builtin: 'latency-p95', maxRatio: 1.3 }]);
  });

  it.each([
    [{ steps: '10,5' }, 'steps: must rise step by step', '"10,5"'],
    [{ steps: '0,50' }, 'steps: must be rising whole percentages', '"0,50"'],
    [{ steps: '10,abc' }, 'steps: must be rising whole percentages', '"10,abc"'],
    [{ interval: 'soon' }, 'interval: must be a duration like 30s, 2m or 1h', '"soon"'],
    [{ router: 'linkerd' }, 'router: must be one of replicas, smi, gateway-api, istio, nginx, kserve', '"linkerd"'],
    [{ 'dry-run': 'yes' }, 'dry-run: must be true or false', '"yes"'],
    [{ alpha: '2' }, 'alpha: must be a number from 0.0001 to 0.5', '"2"'],
    [{ 'to-revision': 'last' }, "to-revision: must be 'previous' or a revision number", '"last"'],
    [{ 'prometheus-url': 'not a url' }, 'prometheus-url: must be a URL', '"not a url"'],
    [{ from: 'yesterday', to: '2026-01-01T00:00:00Z' }, 'from: must be RFC 3339', '"yesterday"'],
    [{ gates: '- name: x\n  max: high\n' }, 'gates.0.max:', ''],
    [{ gates: '- [unclosed' }, 'gates: not valid YAML', ''],
  ])('names the field, the value and the form: %j', (overrides, message, value) => {
    const problems = problemsOf({}, { ...base, ...overrides });
    expect(problems.join('\n')).toContain(message);
    if (value) expect(problems.join('\n')).toContain(`got ${value}`);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({}, { command: 'deploy', steps: '50,10', interval: 'x', router: 'y' });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('steps:'),
        expect.stringContaining('interval:'),
        expect.stringContaining('router:'),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(3);
  });

  it.each([
    ['deploy', { command: 'deploy', manifests: 'k8s' }, ['prometheus-url: required', "image: 'deploy' needs an image"]],
    ['plan', { command: 'plan' }, ['manifests: required']],
    ['build', { command: 'build' }, ['registry: required', 'repository: required']],
    ['analyze', { command: 'analyze' }, ['prometheus-url: required']],
    ['window', { command: 'status', from: '1700000000' }, ["to: 'from' and 'to' go together"]],
    ['basic auth', { command: 'status', 'registry-auth': 'basic' }, ['registry-auth: basic needs registry-username']],
  ])('checks what %s needs', (_name, settings, expected) => {
    const problems = problemsOf({}, settings);
    for (const message of expected) expect(problems.join('\n')).toContain(message);
  });

  const build = { command: 'build', registry: 'r.io', repository: 'models/churn', 'base-image': 'mlserver' };
  it.each([
    ['a bad reference', { ...build, 'model-source': 'azureml:churn' }, ['model-source: ', 'azureml:<name>:<version>']],
    [
      'a workspace model without its workspace',
      { ...build, 'model-source': 'azureml:churn:3' },
      ['azureml-workspace: required', 'azureml-resource-group: required', 'azureml-subscription: required'],
    ],
    [
      'an MLflow model without a server',
      { ...build, 'model-source': 'models:/churn@champion' },
      ['mlflow-tracking-uri: required'],
    ],
    [
      'model-path beside model-source with builder oci',
      {
        ...build,
        builder: 'oci',
        'model-source': 'https://x.blob.core.windows.net/m/model.tgz',
        'model-path': 'model',
      },
      ['model-path: with builder oci, give model-source or model-path, not both (got model-path "model")'],
    ],
    [
      'a prebuilt image',
      {
        ...build,
        command: 'deploy',
        manifests: 'k8s',
        'prometheus-url': 'http://p:9090',
        image: 'r.io/m:1',
        'model-source': 'models:/m/1',
        'mlflow-tracking-uri': 'http://127.0.0.1:5000',
      },
      ['model-source: goes into a built image; drop image'],
    ],
    [
      'half of basic auth',
      {
        ...build,
        'model-source': 'models:/m/1',
        'mlflow-tracking-uri': 'http://127.0.0.1:5000',
        'mlflow-username': 'u',
      },
      ['mlflow-username and mlflow-password go together'],
    ],
  ])('checks model-source: %s', (_name, settings, expected) => {
    const problems = problemsOf({}, settings);
    for (const message of expected) expect(problems.join('\n')).toContain(message);
  });

  it('builds oci from a model-source on a base image, and keeps the MLflow secrets out of errors', () => {
    const config = buildConfig(
      {},
      {
        ...build,
        'model-source': 'models:/churn/3',
        'mlflow-tracking-uri': 'http://127.0.0.1:5000',
        'mlflow-username': 'ci',
        'mlflow-password': 's3cret-pw',
      },
    );
    expect(config.build).toMatchObject({ builder: 'oci', modelSource: 'models:/churn/3' });
    expect(config.mlflow).toEqual({ trackingUri: 'http://127.0.0.1:5000', username: 'ci', password: 's3cret-pw' });
    const problems = problemsOf(
      {},
      { ...build, 'mlflow-password': 's3cret-pw', 'mlflow-token': 'tok-123', builder: 'x' },
    );
    expect(problems.join('\n')).not.toMatch(/s3cret-pw|tok-123/);
  });

  it('rejects unknown keys in the file', () => {
    expect(problemsOf({ stepz: '10' }, base).join('\n')).toContain("unknown setting 'stepz'");
  });

  it('never echoes a secret in an error', () => {
    const problems = problemsOf(
      {},
      { ...base, 'grafana-url': 'x', 'prometheus-auth': 'nope', 'prometheus-token': 'hunter2' },
    );
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('has a key for every input in action.yml, and an input for every key but output', () => {
    const action = parse(readFileSync('action.yml', 'utf8')) as { inputs: Record<string, unknown> };
    const inputs = Object.keys(action.inputs).sort();
    // `output` and `show-objects` are for the CLI only (the contract says so).
    expect(inputs).toEqual(CONFIG_KEYS.filter((key) => key !== 'output' && key !== 'show-objects').sort());
  });
});
