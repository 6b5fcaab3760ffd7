import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { GrafanaAnnotator, type GrafanaOptions } from '../../src/adapters/grafana.js';
import type { Logger, Report } from '../../src/core/ports.js';
import { startFakeGrafana, type FakeGrafana } from '../support/fake-grafana.js';

const TOKEN = 'glsa_secretGrafanaToken_42';
const NOW = Date.parse('2026-12-01T21:10:00Z');

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (m) => warnings.push(m), info: () => undefined, debug: () => undefined };
}

const running: Report = {
  command: 'deploy',
  model: 'churn-scorer',
  namespace: 'ml',
  verdict: 'promoted',
  digest: 'sha256:abc',
  revision: 7,
  gates: [],
  steps: [
    { weight: 10, startedAt: '2026-12-01T21:00:00Z', endedAt: '2026-12-01T21:01:00Z', result: 'pass' },
    { weight: 50, startedAt: '2026-12-01T21:01:00Z', result: 'running' },
  ],
};
const finished: Report = {
  ...running,
  verdict: 'rolled-back',
  reason: 'gate error-rate failed',
  steps: [
    running.steps[0]!,
    { weight: 50, startedAt: '2026-12-01T21:01:00Z', endedAt: '2026-12-01T21:02:00Z', result: 'fail' },
  ],
};

describe('Grafana annotations against a fake Grafana', () => {
  let grafana: FakeGrafana;
  let logger: ReturnType<typeof recordingLogger>;
  beforeEach(async () => {
    grafana = await startFakeGrafana();
    logger = recordingLogger();
  });
  afterEach(() => grafana.close());

  const annotator = (overrides: Partial<GrafanaOptions> = {}): GrafanaAnnotator =>
    new GrafanaAnnotator({
      url: `${grafana.url}/`,
      token: TOKEN,
      logger,
      now: () => NOW,
      retryDelayMs: 5,
      ...overrides,
    });

  it('annotates the start, each ended step once (as a region) and the verdict, tagged with model and revision', async () => {
    const masked: string[] = [];
    const reporter = annotator({ mask: (s) => masked.push(s) });
    await reporter.publish(running, false);
    await reporter.publish(running, false);
    await reporter.publish(finished, true);
    expect(masked).toEqual([TOKEN]);
    expect(grafana.authorizations.every((a) => a === `Bearer ${TOKEN}`)).toBe(true);
    const events = grafana.annotations.map((a) => (a.tags as string[]).find((t) => t.startsWith('event:')));
    expect(events).toEqual(['event:start', 'event:step', 'event:step', 'event:verdict']);
    const [start, step1, step2, verdict] = grafana.annotations;
    expect(start).toMatchObject({ time: Date.parse('2026-12-01T21:00:00Z') });
    expect(step1).toMatchObject({
      time: Date.parse('2026-12-01T21:00:00Z'),
      timeEnd: Date.parse('2026-12-01T21:01:00Z'),
    });
    expect(step2?.text).toContain('step 2/2, canary at 50%: fail');
    expect(verdict).toMatchObject({ time: NOW });
    expect(verdict?.tags).toEqual([
      'model-canary',
      'model:churn-scorer',
      'namespace:ml',
      'revision:7',
      'verdict:rolled-back',
      'event:verdict',
    ]);
    expect(verdict?.text).toContain('rolled-back: gate error-rate failed');
    expect(logger.warnings).toEqual([]);
  });

  it('tags the registered model version the rollout carries', async () => {
    const modelSource = {
      kind: 'mlflow' as const,
      uri: 'models:/churn/4',
      name: 'churn',
      version: '4',
      sha256: 'a'.repeat(64),
      files: 1,
      bytes: 1,
    };
    await annotator().publish({ ...finished, modelSource }, true);
    expect(grafana.annotations.every((a) => (a.tags as string[]).includes('model-version:churn:4'))).toBe(true);
  });

  it('retries a Grafana that fails for a moment', async () => {
    grafana.failNext = 2;
    await annotator().publish(finished, true);
    expect(grafana.annotations).toHaveLength(4);
    expect(grafana.requests).toBe(6);
    expect(logger.warnings).toEqual([]);
  });

  it('warns once without the token and stops when Grafana refuses the token', async () => {
    grafana.refuse = true;
    const reporter = annotator();
    await expect(reporter.publish(running, false)).resolves.toBeUndefined();
    await expect(reporter.publish(finished, true)).resolves.toBeUndefined();
    expect(grafana.requests).toBe(1);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain('401');
    expect(logger.warnings[0]).not.toContain(TOKEN);
  });

  it('warns and goes on when Grafana stays down, sending what it missed on the next publish', async () => {
    grafana.failNext = 100;
    const reporter = annotator({ retries: 1 });
    await reporter.publish(running, false);
    expect(logger.warnings.length).toBeGreaterThan(0);
    expect(logger.warnings.join('\n')).toContain('503');
    grafana.failNext = 0;
    await reporter.publish(finished, true);
    const events = grafana.annotations.map((a) => (a.tags as string[]).find((t) => t.startsWith('event:')));
    expect(events).toEqual(['event:start', 'event:step', 'event:step', 'event:verdict']);
  });
});
