import { parseManifests } from '../../src/core/manifests.js';
import { buildPlan } from '../../src/core/plan.js';
import { planGates } from '../../src/core/plan-gates.js';
import { renderPlanMarkdown, renderPlanText, type PlanTiming } from '../../src/core/render-plan.js';
import { DEFAULT_GATES } from '../../src/core/gate-config.js';
import * as m from '../fixtures/manifests.js';

const plan = (router: 'replicas' | 'smi' = 'replicas') =>
  buildPlan({
    objects: parseManifests([{ path: 'k8s/app.yaml', text: [m.DEPLOYMENT, m.SERVICE].join('\n---\n') }]),
    image: m.IMAGE,
    router,
    steps: [10, 50, 100],
  });
const gates = planGates(DEFAULT_GATES, {
  namespace: 'ml',
  model: 'churn-scorer',
  baselineTrack: 'stable',
  window: '60s',
});
const timing: PlanTiming = { intervalMs: 120_000, lookEveryMs: 15_000, maxStepMs: 360_000 };

describe('renderPlanText', () => {
  const text = renderPlanText(plan(), { gates, timing, notes: ['judge: a look every 15s'] });

  it('is one compact table of steps, pods and time per step, with the total time', () => {
    expect(text).toMatch(/step\s+canary weight\s+stable pods\s+canary pods\s+time/);
    expect(text).toMatch(/1\s+10%\s+3\s+1\s+2m/);
    expect(text).toMatch(/3\s+100%\s+0\s+4\s+2m/);
    expect(text).toContain('total: 3 steps, about 6m (at most 18m), a look every 15s');
    expect(text).toContain(
      'applies: Deployment ml/churn-scorer, Deployment ml/churn-scorer-canary, Service ml/churn-scorer',
    );
    expect(text.split('\n').length).toBeLessThan(30);
  });

  it('lists the gates with thresholds and min-requests, and each PromQL once', () => {
    expect(text).toMatch(/gate\s+threshold\s+min-requests/);
    expect(text).toMatch(/error-rate\s+max 1\.5x baseline\s+100/);
    expect(text).toContain(`the baseline's is the same with track="stable"`);
    expect(text.match(/http_requests_total\{[^}]*track="canary",code=~"5\.\."/g)).toHaveLength(1);
    expect(text).not.toContain('track="stable"}');
  });

  it('prints no YAML and no warnings unless asked; the objects with showObjects', () => {
    expect(text).not.toContain('apiVersion:');
    expect(text).not.toContain('warning:');
    expect(text).toContain('--show-objects');
    const full = renderPlanText(plan(), { gates, timing, showObjects: true });
    expect(full).toContain('# step 1: canary at 10%');
    expect(full).toContain('name: churn-scorer-canary');
  });

  it('shows traffic weights for traffic routers, and a time range when steps may end early on evidence', () => {
    const smi = renderPlanText(plan('smi'), { timing: { ...timing, minStepMs: 60_000 } });
    expect(smi).toMatch(/step\s+canary weight\s+traffic stable\/canary\s+time/);
    expect(smi).toMatch(/1\s+10%\s+90% \/ 10%\s+1m-2m/);
    expect(smi).toContain('total: 3 steps, 3m to 6m');
  });
});

describe('renderPlanMarkdown', () => {
  it('has the table with time, the gate table, and the objects folded away', () => {
    const markdown = renderPlanMarkdown(plan(), (text) => text, { gates, timing });
    expect(markdown).toContain('| 1 | 10% | 3 | 1 | 2m |');
    expect(markdown).toContain('| error-rate | max 1.5x baseline | 100 |');
    expect(markdown).toContain('<details><summary>Step 1: objects at 10%</summary>');
  });
});
