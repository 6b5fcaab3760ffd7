// How long rendering the PR comment takes for a small and a large report (it is re-rendered after every step).
import type { Report } from '../src/core/ports.js';
import { renderComment } from '../src/core/render-comment.js';

function reportWith(gates: number, steps: number): Report {
  return {
    command: 'deploy',
    model: 'churn-scorer',
    namespace: 'ml',
    verdict: 'rolled-back',
    reason: 'gate error-rate failed: canary 5.1% > 1% | <b>@org/team</b>',
    image: 'myacr.azurecr.io/models/churn@sha256:0123abcd',
    digest: 'sha256:0123abcd',
    revision: 7,
    gates: Array.from({ length: gates }, (_, i) => ({
      name: i % 2 ? 'error-rate' : 'latency-p95',
      result: i % 3 ? 'pass' : 'fail',
      canary: 0.05 + i / 1000,
      baseline: 0.004,
      threshold: 'max 0.01, max-increase 50%',
      samples: 1200 + i,
      reason: `canary value ${i} for pod="a|b<script>" @team`,
    })),
    steps: Array.from({ length: steps }, (_, i) => ({
      weight: Math.min(100, (i + 1) * 10),
      startedAt: new Date(Date.UTC(2026, 11, 1, 21, i)).toISOString(),
      endedAt: new Date(Date.UTC(2026, 11, 1, 21, i + 1)).toISOString(),
      result: 'pass',
    })),
  };
}

export default async function run(args: string[]): Promise<void> {
  const iterations = Number(args[0] ?? 2000);
  const context = { running: false, now: new Date('2026-12-01T22:00:00Z'), runId: 1, repository: 'o/r' };
  for (const [gates, steps] of [
    [3, 4],
    [40, 10],
  ] as const) {
    const report = reportWith(gates, steps);
    const start = process.hrtime.bigint();
    let length = 0;
    for (let i = 0; i < iterations; i++) length = renderComment(report, context).length;
    const micros = Number(process.hrtime.bigint() - start) / 1000 / iterations;
    console.log(`render-comment gates=${gates} steps=${steps}: ${micros.toFixed(1)} µs per render, ${length} chars`);
  }
}
