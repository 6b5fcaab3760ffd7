// The bundled action, run as the GitHub runner runs it, for `plan`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActionRunner } from './support/runner.js';
import { tempDir } from './support/local.js';
import * as m from './fixtures/manifests.js';

describe('dist/index.js plan, as the runner runs it', () => {
  const repo = tempDir('repo');
  let runner: ActionRunner;
  beforeAll(() => {
    mkdirSync(join(repo.path, 'k8s'));
    writeFileSync(join(repo.path, 'k8s', 'app.yaml'), [m.DEPLOYMENT, m.SERVICE].join('---\n'));
    mkdirSync(join(repo.path, '.github'));
    writeFileSync(join(repo.path, '.github', 'model-canary.yml'), 'steps: [10, 50, 100]\nrouter: replicas\n');
  });
  beforeEach(() => (runner = new ActionRunner({ cwd: repo.path })));
  afterEach(() => runner.cleanup());
  afterAll(() => repo.remove());

  it('sets the outputs and writes the plan to the job summary', async () => {
    const run = await runner.main({ command: 'plan', manifests: 'k8s/', image: m.IMAGE, comment: 'true' });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe('planned');
    expect(run.outputs.image).toBe(m.IMAGE);
    expect(run.outputs.digest).toBe(m.DIGEST);
    const report = JSON.parse(run.outputs.report as string);
    expect(report).toMatchObject({ command: 'plan', model: 'churn-scorer', namespace: 'ml', verdict: 'planned' });
    expect(report.steps.map((s: { weight: number; replicas: unknown }) => [s.weight, s.replicas])).toEqual([
      [10, { stable: 3, canary: 1 }],
      [50, { stable: 2, canary: 2 }],
      [100, { stable: 0, canary: 4 }],
    ]);
    expect(report.steps[0].objects.map((o: { metadata: { name: string } }) => o.metadata.name)).toEqual([
      'churn-scorer',
      'churn-scorer-canary',
      'churn-scorer',
    ]);
    expect(run.summary).toContain('### model-canary plan');
    expect(run.summary).toContain('| 1 | 10% | 3 | 1 |');
    expect(run.state.isPost).toBe('true');
  });

  it('fails the step with every config problem named', async () => {
    const run = await runner.main({ command: 'plan', manifests: 'k8s/', steps: '50,10', interval: 'never' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('::error::invalid configuration');
    expect(run.stdout).toContain('steps: must rise step by step');
    expect(run.stdout).toContain('interval: must be a duration');
    expect(run.outputs.verdict).toBeUndefined();
  });

  it('runs outside a GitHub runner too (no repository: no comment, no deployment)', async () => {
    const run = await runner.main({ command: 'plan', manifests: 'k8s/', image: m.IMAGE }, { GITHUB_REPOSITORY: '' });
    expect(run.stdout).not.toContain('::error');
    expect(run.outputs.verdict).toBe('planned');
  });

  it('post step after a plan has nothing to restore and does not fail', async () => {
    await runner.main({ command: 'plan', manifests: 'k8s/', image: m.IMAGE });
    const post = await runner.post({ command: 'plan' });
    expect(post.exitCode).toBe(0);
    expect(post.stdout).not.toContain('::error');
  });
});
