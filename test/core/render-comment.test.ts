import { describe, expect, it } from '@jest/globals';
import { failureAnnotations } from '../../src/core/failure-annotations.js';
import type { GateReport, Report } from '../../src/core/ports.js';
import { commentMarker, renderComment } from '../../src/core/render-comment.js';
import { renderSummary } from '../../src/core/render-summary.js';
import type { RenderContext } from '../../src/core/report-markdown.js';

const errorRate: GateReport = {
  name: 'error-rate',
  result: 'pass',
  canary: 0.002,
  baseline: 0.003,
  threshold: 'max 0.01',
  samples: 1200,
  looks: 12,
  power: 0.934,
  reason: 'canary 0.2% <= 1%',
};
const p95: GateReport = {
  name: 'latency-p95',
  result: 'pass',
  canary: 0.123,
  baseline: 0.11,
  threshold: 'max 0.5, max-increase 50%',
  samples: 1200,
  reason: 'canary 123 ms <= 500 ms',
};

function report(overrides: Partial<Report>): Report {
  return {
    command: 'deploy',
    model: 'churn-scorer',
    namespace: 'ml',
    verdict: 'promoted',
    image: 'myacr.azurecr.io/models/churn@sha256:0123abcd',
    digest: 'sha256:0123abcd',
    revision: 7,
    gates: [errorRate, p95],
    steps: [
      {
        weight: 10,
        startedAt: '2026-12-01T21:00:00Z',
        endedAt: '2026-12-01T21:01:00Z',
        result: 'pass',
        looks: 4,
        endReason: 'interval',
      },
      {
        weight: 50,
        startedAt: '2026-12-01T21:01:00Z',
        endedAt: '2026-12-01T21:02:30Z',
        result: 'pass',
        looks: 6,
        endReason: 'evidence',
      },
      { weight: 100, startedAt: '2026-12-01T21:02:30Z', endedAt: '2026-12-01T21:03:00Z', result: 'pass' },
    ],
    ...overrides,
  };
}

const context: RenderContext = {
  running: false,
  now: new Date('2026-12-01T21:03:00Z'),
  runUrl: 'https://github.com/o/r/actions/runs/4242',
  runId: 4242,
  repository: 'o/r',
  commitSha: '9f1c2d3e4b5a69788796a5b4c3d2e1f009182736',
  modelVersion: '2.3.0',
  environment: 'production',
  grafana: { url: 'https://grafana.example.com/' },
};

const lines = (markdown: string): string[] => markdown.split('\n');
const tableRows = (markdown: string): string[] => lines(markdown).filter((line) => line.startsWith('|'));
/** Cells of a table row, split on pipes that are not escaped, as GFM does. */
const cells = (row: string): string[] => row.split(/(?<!\\)\|/).slice(1, -1);

describe('renderComment', () => {
  it('a promoted rollout: marker, verdict, gate table, timeline, image facts and links', () => {
    const body = renderComment(report({}), context);
    expect(lines(body)[0]).toBe('<!-- model-canary:ml/churn-scorer -->');
    expect(body).toContain('**✅ Promoted** `ml/churn-scorer` revision 7');
    expect(body).toContain('| Gate | Result | Canary | Baseline | Threshold | Samples | Looks | Power | Reason |');
    expect(body).toContain(
      '| `error-rate` | ✅ pass | 0.2% | 0.3% | max 1% | 1,200 | 12 | 0.93 | canary 0.2% &lt;= 1% |',
    );
    expect(body).toContain(
      '| `latency-p95` | ✅ pass | 123 ms | 110 ms | max 500 ms, max-increase 50% | 1,200 | — | — |',
    );
    expect(body).toContain('| Step | Weight | Started | Duration | Looks | Result | Ended by |');
    expect(body).toContain(
      '| 1 | 10% | 2026-12-01 21:00:00 UTC | 1m 00s | 4 | ✅ pass | interval passed, no harm seen |',
    );
    expect(body).toContain('| 2 | 50% | 2026-12-01 21:01:00 UTC | 1m 30s | 6 | ✅ pass | evidence early |');
    expect(body).toContain('- **Digest:** `sha256:0123abcd`');
    expect(body).toContain('- **Model version:** `2.3.0`');
    expect(body).toContain('- **Commit:** `9f1c2d3e4b5a`');
    expect(body).toContain('- **Environment:** `production`');
    expect(body).toContain('[Workflow run](https://github.com/o/r/actions/runs/4242)');
    const from = Date.parse('2026-12-01T21:00:00Z');
    const to = Date.parse('2026-12-01T21:03:00Z');
    expect(body).toContain(
      `(https://grafana.example.com/d/model-canary?from=${from}&to=${to}&var-namespace=ml&var-model=churn-scorer)`,
    );
    expect(body).not.toContain('What now');
  });

  it('a rollback: the reason on the verdict line and the commands to retry or roll back further', () => {
    const failed: GateReport = { ...errorRate, result: 'fail', canary: 0.051, reason: 'canary 5.1% > 1%' };
    const body = renderComment(
      report({
        verdict: 'rolled-back',
        reason: 'gate error-rate failed at 50%: canary 5.1% > 1%',
        gates: [failed, p95],
        steps: [
          { weight: 10, startedAt: '2026-12-01T21:00:00Z', endedAt: '2026-12-01T21:01:00Z', result: 'pass' },
          { weight: 50, startedAt: '2026-12-01T21:01:00Z', endedAt: '2026-12-01T21:02:00Z', result: 'fail' },
          { weight: 100, result: 'skipped' },
        ],
      }),
      context,
    );
    expect(body).toContain(
      '**⏪ Rolled back** `ml/churn-scorer` revision 7 — gate error-rate failed at 50%: canary 5.1% &gt; 1%',
    );
    expect(body).toContain('| `error-rate` | ❌ fail | 5.1% | 0.3% | max 1% | 1,200 | 12 |');
    expect(body).toContain('| 3 | 100% | — | — | — | ⏭️ skipped |');
    expect(body).toContain('gh run rerun 4242 --repo o/r');
    expect(body).toContain('npx model-canary rollback --model churn-scorer --namespace ml --to-revision previous');
    expect(body).toContain(
      'gh workflow run manual-rollback.yml --repo o/r -f command=rollback -f model=churn-scorer -f namespace=ml -f revision=previous',
    );
  });

  it('while running: the live weight and step, elapsed time so far, pending steps, no verdict help', () => {
    const body = renderComment(
      report({
        verdict: 'promoted',
        gates: [errorRate],
        steps: [
          { weight: 10, startedAt: '2026-12-01T21:00:00Z', endedAt: '2026-12-01T21:01:00Z', result: 'pass' },
          { weight: 50, startedAt: '2026-12-01T21:01:00Z', result: 'running' },
          { weight: 100 },
        ],
      }),
      { ...context, running: true, now: new Date('2026-12-01T21:01:42Z') },
    );
    expect(body).toContain('**🔄 Rolling out** `ml/churn-scorer` revision 7 — canary at **50%** (step 2 of 3)');
    expect(body).toContain('| 2 | 50% | 2026-12-01 21:01:00 UTC | 42s | — | 🔄 running |');
    expect(body).toContain('| 3 | 100% | — | — | — | ⏳ pending |');
    expect(body).not.toContain('Promoted');
    expect(body).not.toContain('What now');
    expect(body).toContain('edited in place');
    // The Grafana window runs up to now.
    expect(body).toContain(`to=${Date.parse('2026-12-01T21:01:42Z')}`);
  });

  it('an inconclusive rollback says so, with no data shown as a dash', () => {
    const noData: GateReport = {
      ...errorRate,
      result: 'inconclusive',
      canary: null,
      baseline: null,
      samples: 0,
      reason: 'no data',
    };
    const body = renderComment(report({ verdict: 'rolled-back', reason: 'no traffic', gates: [noData] }), context);
    expect(body).toContain('**❔ Rolled back (inconclusive)**');
    expect(body).toContain('| `error-rate` | ❔ inconclusive | — | — | max 1% | 0 | 12 | 0.93 | no data |');
    expect(body).toContain('What now');
  });

  it('an aborted rollout', () => {
    const body = renderComment(report({ verdict: 'aborted', reason: 'the job was cancelled at 25%' }), context);
    expect(body).toContain('**🛑 Aborted** `ml/churn-scorer` revision 7 — the job was cancelled at 25%');
    expect(body).toContain('gh run rerun 4242');
  });

  it('hostile labels and messages cannot break the table, open HTML or ping anyone', () => {
    const hostile: GateReport = {
      name: 'custom|gate`x',
      result: 'fail',
      canary: 3,
      baseline: 1,
      threshold: 'max 2 | <b>',
      samples: 10,
      reason: 'label pod="a|b<script>alert(1)</script>" owned by @org/team\n<!-- hide --> see #12',
    };
    const body = renderComment(
      report({ verdict: 'rolled-back', reason: '@octocat broke it | <img src=x>', gates: [hostile] }),
      context,
    );
    const header = tableRows(body)[0]!;
    const row = tableRows(body).find((line) => line.includes('custom'))!;
    expect(cells(row)).toHaveLength(cells(header).length);
    expect(body).not.toMatch(/<script|<img|<b>/);
    expect(body).not.toMatch(/@(org|octocat)/);
    expect(body).toContain('@\u200borg/team');
    expect(body).not.toMatch(/#12\b/);
    // Only the marker is an HTML comment.
    expect(body.match(/<!--/g)).toHaveLength(1);
    expect(row.startsWith('| ``custom\\|gate`x`` | ❌ fail |')).toBe(true);
  });

  it('shows which registered model version goes out: name, version, source and content hash, as code', () => {
    const modelSource = {
      kind: 'azureml-registry' as const,
      uri: 'azureml://registries/shared/models/churn/versions/7',
      name: 'churn`x|y',
      version: '7',
      sha256: '0123456789abcdef'.repeat(4),
      files: 3,
      bytes: 2048,
    };
    const body = renderComment(report({ modelSource }), context);
    expect(body).toContain(
      '- **Model:** ``churn`x\\|y`` version `7` from `azureml://registries/shared/models/churn/versions/7`, sha256 `0123456789ab`',
    );
    expect(body).not.toContain('Model version');
    expect(renderComment(report({}), context)).toContain('- **Model version:** `2.3.0`');
  });

  it('one marker per model and namespace', () => {
    expect(commentMarker('ml', 'churn-scorer')).toBe('<!-- model-canary:ml/churn-scorer -->');
    expect(commentMarker('ml', 'fraud')).not.toBe(commentMarker('ml', 'churn-scorer'));
  });

  it('caps very long reports below the size GitHub accepts for a comment', () => {
    const gates = Array.from({ length: 500 }, (_, i) => ({
      ...errorRate,
      name: `gate-${i}`,
      reason: 'x'.repeat(1000),
    }));
    const body = renderComment(report({ gates }), context);
    expect(body.length).toBeLessThan(65536);
    expect(body).toContain('460 more not shown');
  });
});

describe('renderSummary', () => {
  it('is the same report without the marker, headed by command and model', () => {
    const summary = renderSummary(report({}), context);
    expect(summary).not.toContain('<!--');
    expect(lines(summary)[0]).toBe('## model-canary `deploy` · `ml/churn-scorer`');
    expect(summary).toContain('| `error-rate` | ✅ pass | 0.2% | 0.3% | max 1% | 1,200 |');
  });
});

describe('failureAnnotations', () => {
  it('nothing for a promotion', () => expect(failureAnnotations(report({}))).toEqual([]));
  it('nothing when a person asked for it: abort ends aborted, rollback rolled back', () => {
    expect(failureAnnotations(report({ command: 'abort', verdict: 'aborted' }))).toEqual([]);
    expect(failureAnnotations(report({ command: 'rollback', verdict: 'rolled-back' }))).toEqual([]);
    expect(failureAnnotations(report({ command: 'deploy', verdict: 'aborted' }))).toHaveLength(1);
    expect(failureAnnotations(report({ command: 'rollback', verdict: 'failed' }))).toHaveLength(1);
  });
  it('an error for the verdict and one per failed or inconclusive gate', () => {
    const annotations = failureAnnotations(
      report({
        verdict: 'rolled-back',
        reason: 'gate error-rate failed',
        gates: [
          { ...errorRate, result: 'fail', reason: 'canary 5.1% > 1%' },
          { ...p95, result: 'inconclusive', reason: 'no data' },
        ],
      }),
    );
    expect(annotations).toEqual([
      { level: 'error', title: 'model-canary: ml/churn-scorer rolled back', message: 'gate error-rate failed' },
      { level: 'error', title: 'model-canary: gate error-rate fail', message: 'ml/churn-scorer: canary 5.1% > 1%' },
      { level: 'warning', title: 'model-canary: gate latency-p95 inconclusive', message: 'ml/churn-scorer: no data' },
    ]);
  });
});
