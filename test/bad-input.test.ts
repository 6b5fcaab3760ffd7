// Every bad input exits 2 with a message naming the input, through the real CLI entry point, before any cluster,
// registry or Prometheus is contacted (the kubeconfig, registry and Prometheus below lead nowhere).
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CLI_ENTRY } from './support/runner.js';
import { tempDir } from './support/local.js';
import * as m from './fixtures/manifests.js';

const run = promisify(execFile);

const repo = tempDir('bad-input');
const M = ['--manifests', 'k8s/'];
const PLAN = ['plan', ...M, '--image', m.IMAGE];
const PROM = ['--prometheus-url', 'http://127.0.0.1:9'];
const BUILD = ['build', '--registry', 'r.io', '--repository', 'models/churn'];
const OCI = [...BUILD, '--builder', 'oci', '--base-image', 'mlserver'];
const gates = (yaml: string) => ['--gates', yaml];

/** [what, CLI arguments, what the message must say (naming the input and the value)]. */
const ROWS: Array<[string, string[], RegExp]> = [
  // The offenders of issue 13.
  ['deploy: invalid image', ['deploy', ...M, ...PROM, '--image', 'notvalid!!'], /image: 'notvalid!!'/],
  ['build: uppercase repository', ['build', '--registry', 'r.io', '--repository', 'Models/Churn'], /repository: .*'Models'.*uppercase/],
  ['build: bad tag', [...BUILD, '--tags', 'Bad Tag!'], /tags: 'Bad Tag!' is not a valid tag/],
  ['build: model-path missing', [...BUILD, '--model-path', '/nonexistent'], /model-path: "\/nonexistent" does not exist/],
  ['plan: nginx without an Ingress', ['plan', ...M, '--image', m.IMAGE, '--router', 'nginx'], /router: 'nginx' needs an Ingress.*add one \(apiVersion: networking\.k8s\.io\/v1, kind: Ingress/],
  ['status: missing kubeconfig', ['status', '--model', 'churn-scorer', '--kubeconfig', '/nope'], /kubeconfig: "\/nope" does not exist/],
  ['plan: image with spaces', ['plan', ...M, '--image', 'not a valid image!!'], /image: 'not a valid image!!' is invalid/],
  ['plan: short digest', ['plan', ...M, '--image', 'reg/x@sha256:abc'], /image: 'reg\/x@sha256:abc'.*64 hex digits, got 3/],
  ['plan: uppercase repository in image', ['plan', ...M, '--image', 'MyACR.azurecr.io/Churn:1'], /image: 'MyACR\.azurecr\.io\/Churn:1'.*'Churn' has uppercase/],
  ['plan: neither image nor registry', ['plan', ...M], /image: 'plan' needs the image to deploy, or registry and repository/],
  // Image references, registries, repositories and tags.
  ['plan: digest of another algorithm', ['plan', ...M, '--image', `r.io/a@md5:${'0'.repeat(32)}`], /image: .*algorithm 'md5' is not supported/],
  ['plan: uppercase hex digest', ['plan', ...M, '--image', `r.io/a@sha256:${'A'.repeat(64)}`], /image: .*lowercase hex/],
  ['plan: empty tag', ['plan', ...M, '--image', 'r.io/models/churn:'], /image: 'r\.io\/models\/churn:'.*tag '' is not valid/],
  ['plan: tag over 128 characters', ['plan', ...M, '--image', `r.io/a:${'t'.repeat(129)}`], /image: .*129 characters long/],
  ['plan: empty path component', ['plan', ...M, '--image', 'r.io/models//churn:1'], /image: .*empty path component/],
  ['plan: bad registry port in image', ['plan', ...M, '--image', 'r.io:99999/a:1'], /image: .*port 99999/],
  ['plan: registry only', ['plan', ...M, '--registry', 'r.io'], /repository: required with registry r\.io/],
  ['build: registry with a scheme', ['build', '--registry', 'https://myacr.azurecr.io', '--repository', 'models/churn'], /registry: drop the https:\/\/ .*"https:\/\/myacr\.azurecr\.io"/],
  ['build: registry with a path', ['build', '--registry', 'myacr.azurecr.io/models', '--repository', 'churn'], /registry: a registry has no path/],
  ['build: registry with spaces', ['build', '--registry', 'my registry', '--repository', 'churn'], /registry: 'my registry' is not a host name/],
  ['build: repository with a bad character', ['build', '--registry', 'r.io', '--repository', 'models/churn!'], /repository: 'churn!' is not a valid path component/],
  ['plan: bad tag while planning a build', ['plan', ...M, '--registry', 'r.io', '--repository', 'models/churn', '--tags', 'v1,-bad'], /tags: '-bad' is not a valid tag/],
  ['build: bad platform', [...BUILD, '--platforms', 'amd64'], /platforms: 'amd64' is not a platform/],
  ['build: unknown builder', [...BUILD, '--builder', 'podman'], /builder: must be one of docker, oci .*"podman"/],
  ['build: bad build-args', [...BUILD, '--build-args', 'NOEQUALS'], /build-args: must be KEY=VALUE pairs \(got "NOEQUALS"\)/],
  ['build: missing context', [...BUILD, '--context', 'no-such-dir'], /context: "no-such-dir" does not exist/],
  ['build: missing dockerfile', [...BUILD, '--dockerfile', 'serving/Dockerfile'], /dockerfile: "serving\/Dockerfile" does not exist/],
  ['build: context without a Dockerfile', [...BUILD, '--context', 'model'], /dockerfile: "model\/Dockerfile" does not exist.*add a Dockerfile/],
  ['build: oci model-path is a file', [...OCI, '--model-path', 'model/model.joblib'], /model-path: "model\/model\.joblib" is not a directory/],
  ['build: oci without model-path', [...OCI], /builder: oci needs model-path or model-source/],
  ['build: base-image typo', [...OCI, '--model-path', 'model', '--base-image', 'mlsever'], /base-image: .*did you mean 'mlserver'/],
  ['build: bad model-source', [...BUILD, '--model-source', 'azureml:churn'], /model-source: .*azureml:<name>:<version>/],
  ['build: basic registry-auth without a user', [...BUILD, '--registry-auth', 'basic'], /registry-auth: basic needs registry-username/],
  ['build: neither registry nor repository', ['build'], /registry: required for 'build'/],
  // Metric presets.
  ['plan: misspelt metrics preset', [...PLAN, '--metrics', 'isito'], /metrics: .*did you mean 'istio'/],
  ['plan: a preset that cannot tell KServe revisions apart', [...PLAN, '--router', 'kserve', '--metrics', 'istio'], /metrics: 'istio' cannot tell the canary from the stable under router kserve/],
  ['plan: kserve metrics without router kserve', [...PLAN, '--metrics', 'kserve'], /metrics: 'kserve' tells tracks apart by the InferenceService's Knative revisions/],
  ['analyze: a latency gate Triton cannot serve', ['analyze', '--model', 'churn', ...PROM, '--metrics', 'triton', ...gates('[{name: latency-p95, max: 1}]')], /gates\[0\]\.name: 'latency-p95' cannot be judged from the triton metrics .*no latency histogram/],
  // Kubernetes names.
  ['plan: uppercase namespace', [...PLAN, '--namespace', 'ML'], /namespace: 'ML' has uppercase letters/],
  ['plan: namespace with an underscore', [...PLAN, '--namespace', 'ml_prod'], /namespace: 'ml_prod' is not valid .*RFC 1123/],
  ['plan: namespace over 63 characters', [...PLAN, '--namespace', 'n'.repeat(64)], /namespace: 'n{64}' is 64 characters long/],
  ['plan: namespace starting with -', [...PLAN, '--namespace=-ml'], /namespace: '-ml' is not valid/],
  ['plan: model with a space', [...PLAN, '--model', 'churn scorer'], /model: 'churn scorer' is not valid/],
  ['plan: uppercase model', [...PLAN, '--model', 'Churn'], /model: 'Churn' has uppercase letters/],
  ['plan: model not in the manifests', [...PLAN, '--model', 'fraud'], /no Deployment or InferenceService named 'fraud'/],
  ['plan: bad container name', [...PLAN, '--container', 'Model_1'], /container: 'Model_1' is not valid/],
  ['plan: container not in the Deployment', [...PLAN, '--container', 'nope'], /container: no container 'nope'/],
  // Manifests.
  ['plan: manifests path missing', ['plan', '--manifests', 'nowhere/', '--image', m.IMAGE], /manifests: nothing matches 'nowhere\/'/],
  ['plan: manifests dir empty', ['plan', '--manifests', 'empty/', '--image', m.IMAGE], /manifests: nothing matches 'empty\/'/],
  ['plan: manifests not Kubernetes', ['plan', '--manifests', 'junk/', '--image', m.IMAGE], /junk\/notes\.yaml/],
  ['deploy: no manifests', ['deploy', '--image', m.IMAGE, ...PROM], /manifests: required for 'deploy'/],
  ['plan: smi without a Service', ['plan', '--manifests', 'bare/', '--image', m.IMAGE, '--router', 'smi'], /router: 'smi' needs a Service/],
  ['plan: kserve for a Deployment', [...PLAN, '--router', 'kserve'], /router: kserve routes an InferenceService/],
  // Rollout settings.
  ['plan: unknown router', [...PLAN, '--router', 'traefik'], /router: must be one of replicas.*"traefik"/],
  ['plan: falling steps', [...PLAN, '--steps', '50,10'], /steps: must rise step by step.*"50,10"/],
  ['plan: step over 100', [...PLAN, '--steps', '10,150'], /steps: must be rising whole percentages.*"10,150"/],
  ['plan: step of 0', [...PLAN, '--steps', '0,100'], /steps: must be rising whole percentages.*"0,100"/],
  ['plan: step not a number', [...PLAN, '--steps', 'ten,100'], /steps: .*"ten,100"/],
  ['plan: bad interval', [...PLAN, '--interval', 'soon'], /interval: must be a duration like 30s.*"soon"/],
  ['plan: zero interval', [...PLAN, '--interval', '0s'], /interval: must be a duration.*"0s"/],
  ['plan: bad look-every', [...PLAN, '--look-every', '15'], /look-every: must be a duration.*"15"/],
  ['plan: bad timeout', [...PLAN, '--timeout', '5 minutes'], /timeout: must be a duration.*"5 minutes"/],
  ['plan: max-step-duration below interval', [...PLAN, '--interval', '2m', '--max-step-duration', '1m'], /max-step-duration: must be at least interval 2m/],
  ['canary: weight over 100', ['canary', ...M, '--image', m.IMAGE, '--weight', '150'], /weight: must be a whole number from 1 to 100.*"150"/],
  ['canary: weight not a number', ['canary', ...M, '--image', m.IMAGE, '--weight', 'half'], /weight: .*"half"/],
  ['plan: alpha over 0.5', [...PLAN, '--alpha', '2'], /alpha: must be a number from 0.0001 to 0.5.*"2"/],
  ['plan: power over 1', [...PLAN, '--power', '1.5'], /power: must be a number from 0.5 to 0.999.*"1.5"/],
  ['plan: expected-rps of 0', [...PLAN, '--expected-rps', '0'], /expected-rps: must be a number .*"0"/],
  ['plan: failure-limit not whole', [...PLAN, '--failure-limit', '1.5'], /failure-limit: must be a whole number.*"1.5"/],
  ['plan: bad on-inconclusive', [...PLAN, '--on-inconclusive', 'retry'], /on-inconclusive: must be one of rollback, hold.*"retry"/],
  ['plan: bad dry-run flag', [...PLAN, '--dry-run', 'maybe'], /dry-run: must be true or false.*"maybe"/],
  // Gates.
  ['plan: gates not YAML', [...PLAN, ...gates('[name: error-rate')], /gates: /],
  ['plan: gate threshold not a number', [...PLAN, ...gates('[{name: error-rate, max: lots}]')], /gates\.0\.max: .*/],
  ['plan: bad max-increase', [...PLAN, ...gates('[{name: error-rate, max-increase: much}]')], /gates\.0\.max-increase: /],
  ['plan: unknown gate without a query', [...PLAN, ...gates('[{name: eror-rate, max: 0.01}]')], /gates\.0.*eror-rate/],
  ['plan: gate key typo', [...PLAN, ...gates('[{name: error-rate, max-increse: 50%}]')], /gates\.0\.max-increse: .*did you mean 'max-increase'/],
  ['plan: negative min-requests', [...PLAN, ...gates('[{name: error-rate, max: 0.01, min-requests: -5}]')], /gates\.0\.min-requests: min-requests must be 0 or more/],
  ['plan: bad gate window', [...PLAN, ...gates('[{name: q, query: up, max: 1, window: forever}]')], /gates\.0\.window: .*Prometheus duration/],
  ['plan: gates not a list', [...PLAN, ...gates('{name: error-rate, max: 0.01}')], /gates: must be a YAML list of gates/],
  ['plan: gate without a threshold', [...PLAN, ...gates('[{name: error-rate}]')], /gates\.0.*(max|threshold)/],
  // Other commands.
  ['rollback: bad to-revision', ['rollback', '--model', 'churn-scorer', '--to-revision', 'latest'], /to-revision: must be 'previous' or a revision number.*"latest"/],
  ['rollback: to-revision 0', ['rollback', '--model', 'churn-scorer', '--to-revision', '0'], /to-revision: must be 'previous' or a revision number.*"0"/],
  ['analyze: bad from', ['analyze', '--model', 'churn-scorer', ...PROM, '--from', 'yesterday', '--to', '1700000000'], /from: must be RFC 3339.*"yesterday"/],
  ['analyze: to without from', ['analyze', '--model', 'churn-scorer', ...PROM, '--to', '1700000000'], /from: 'from' and 'to' go together/],
  ['analyze: window backwards', ['analyze', '--model', 'churn-scorer', ...PROM, '--from', '1700000600', '--to', '1700000000'], /to: must be after from/],
  ['analyze: prometheus-url not a URL', ['analyze', '--model', 'churn-scorer', '--prometheus-url', 'not a url'], /prometheus-url: must be a URL.*"not a url"/],
  ['analyze: prometheus-url without http', ['analyze', '--model', 'churn-scorer', '--prometheus-url', 'prometheus:9090'], /prometheus-url: must be an http:\/\/ or https:\/\/ URL.*"prometheus:9090"/],
  ['analyze: bearer without a token', ['analyze', '--model', 'churn-scorer', ...PROM, '--prometheus-auth', 'bearer'], /prometheus-auth: bearer needs prometheus-token/],
  ['analyze: token over plain http', ['analyze', '--model', 'churn-scorer', '--prometheus-url', 'http://prom.example.com:9090', '--prometheus-token', 't0ken'], /prometheus-url: would send prometheus-token over plain http/],
  ['analyze: bad metrics kubeconfig', ['analyze', '--model', 'churn-scorer', ...PROM, '--kubeconfig', 'not-a-kubeconfig.yaml'], /kubeconfig: "not-a-kubeconfig\.yaml" is not a kubeconfig/],
  ['deploy: missing kubeconfig, before the cluster', ['deploy', ...M, ...PROM, '--image', m.IMAGE, '--kubeconfig', '/nope'], /kubeconfig: "\/nope" does not exist/],
  ['plan: missing kubeconfig', [...PLAN, '--kubeconfig', 'nope/kubeconfig'], /kubeconfig: "nope\/kubeconfig" does not exist/],
  ['promote: kubeconfig is a folder', ['promote', '--model', 'churn-scorer', '--kubeconfig', 'k8s'], /kubeconfig: "k8s" is not a file/],
  ['plan: bad output format', [...PLAN, '--output', 'yaml'], /output: must be one of text, json.*"yaml"/],
  ['plan: grafana-url not a URL', [...PLAN, '--grafana-url', 'grafana'], /grafana-url: must be a URL/],
  ['plan: config file missing', [...PLAN, '--config', 'nope.yml'], /config: .*nope\.yml/],
  ['plan: unknown setting in the config file', [...PLAN, '--config', 'bad-config.yml'], /unknown setting 'stepz'/],
  ['unknown flag', [...PLAN, '--imgae', m.IMAGE], /imgae/],
  ['unknown command', ['plna', ...M], /plna/],
]; // prettier-ignore

interface Outcome {
  code: number;
  output: string;
}

/** Runs the CLI from source, as `model-canary <args>` in the repo; never throws. */
async function cli(args: string[]): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: join(repo.path, 'no-kubeconfig') };
  for (const key of Object.keys(env)) if (key.startsWith('MODEL_CANARY_') || key.startsWith('INPUT_')) delete env[key];
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI_ENTRY, ...args], {
      cwd: repo.path,
      env,
      timeout: 60_000,
    });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stdout}${failed.stderr}` };
  }
}

/** Each row's outcome, 4 CLI runs at a time (each start costs about half a second of CPU). */
const outcomes = new Map<string, Outcome>();

beforeAll(async () => {
  mkdirSync(join(repo.path, 'k8s'));
  writeFileSync(join(repo.path, 'k8s', 'app.yaml'), [m.DEPLOYMENT, m.SERVICE, m.HPA].join('---\n'));
  mkdirSync(join(repo.path, 'bare'));
  writeFileSync(join(repo.path, 'bare', 'app.yaml'), m.DEPLOYMENT);
  mkdirSync(join(repo.path, 'empty'));
  mkdirSync(join(repo.path, 'junk'));
  writeFileSync(join(repo.path, 'junk', 'notes.yaml'), 'just: some\nnotes: [1, 2]\n');
  mkdirSync(join(repo.path, 'model'));
  writeFileSync(join(repo.path, 'model', 'model.joblib'), 'weights');
  writeFileSync(join(repo.path, 'not-a-kubeconfig.yaml'), 'apiVersion: v1\nkind: Config\nusers: []\n');
  writeFileSync(join(repo.path, 'bad-config.yml'), 'stepz: 10,100\n');
  const queue = [...ROWS];
  const worker = async () => {
    for (let row = queue.shift(); row; row = queue.shift()) outcomes.set(row[0], await cli(row[1]));
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}, 600_000);
afterAll(() => repo.remove());

describe('bad input exits 2, naming the input', () => {
  it('has at least 40 rows', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(ROWS.map(([name]) => name)).size).toBe(ROWS.length);
  });

  it.each(ROWS)('%s', (name, args, message) => {
    const outcome = outcomes.get(name)!;
    expect({ args, code: outcome.code, output: outcome.output }).toMatchObject({ code: 2 });
    expect(outcome.output).toMatch(message);
    // Bad input is never reported as a crash.
    expect(outcome.output).not.toMatch(/ENOENT|at .*\.ts:\d+|TypeError|undefined\//);
  });
});
