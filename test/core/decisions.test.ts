import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../../src/core/ports.js';
import { deploymentProgress, judgeReadiness, probeFailure, timeoutReason } from '../../src/core/readiness.js';
import {
  appendRecord,
  nextRevision,
  parseHistory,
  pickRevision,
  renderHistoryTable,
  rollbackOfThisRun,
  serializeHistory,
  type HistoryRecord,
} from '../../src/core/history.js';
import { decideLease } from '../../src/core/lease.js';

const deployment = (status: Record<string, unknown>, generation = 2, replicas = 3): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'churn', namespace: 'ml', generation },
  spec: { replicas },
  status,
});
const pod = (status: Record<string, unknown>, name = 'churn-1'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  status,
});

describe('deploymentProgress (kubectl rollout status)', () => {
  it.each([
    [{ observedGeneration: 1 }, 'progressing', /spec update/],
    [{ observedGeneration: 2, updatedReplicas: 1 }, 'progressing', /1 of 3 new replicas updated/],
    [{ observedGeneration: 2, updatedReplicas: 3, replicas: 5 }, 'progressing', /2 old replicas pending termination/],
    [
      { observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 2 },
      'progressing',
      /2 of 3 updated replicas available/,
    ],
    [{ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }, 'ready', undefined],
    [
      {
        observedGeneration: 2,
        conditions: [
          { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'timed out' },
        ],
      },
      'failed',
      /timed out/,
    ],
  ])('%j -> %s', (status, state, message) => {
    const result = deploymentProgress(deployment(status));
    expect(result.state).toBe(state);
    if (message) expect(JSON.stringify(result)).toMatch(message);
  });
});

describe('judgeReadiness from pods', () => {
  const stuck = deployment({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 0 });
  it.each([
    [
      {
        containerStatuses: [
          { name: 'model', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' } } },
        ],
      },
      'ImagePullBackOff',
    ],
    [{ containerStatuses: [{ name: 'model', state: { waiting: { reason: 'ErrImagePull' } } }] }, 'ImagePullBackOff'],
    [
      {
        containerStatuses: [
          {
            name: 'model',
            restartCount: 4,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
          },
        ],
      },
      'CrashLoopBackOff',
    ],
    [
      {
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
          },
        ],
      },
      'Unschedulable',
    ],
  ])('%j -> %s', (status, reason) => {
    expect(judgeReadiness(stuck, [pod(status)])).toMatchObject({ state: 'failed', reason });
  });

  it('quotes the last log line and the last exit of a crash loop', () => {
    const crashing = pod({
      containerStatuses: [
        {
          name: 'model',
          restartCount: 4,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
        },
      ],
    });
    const result = judgeReadiness(stuck, [crashing], { 'churn-1/model': 'loading\nMemoryError: cannot allocate\n' });
    expect(result).toMatchObject({
      detail: expect.stringMatching(
        /OOMKilled \(code 137\) after 4 restarts; last log line: MemoryError: cannot allocate/,
      ),
    });
  });

  it('a ready Deployment is ready whatever old pods say', () => {
    const done = deployment({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 });
    expect(
      judgeReadiness(done, [
        pod({ containerStatuses: [{ name: 'm', state: { waiting: { reason: 'CrashLoopBackOff' } } }] }),
      ]),
    ).toEqual({ state: 'ready' });
  });

  it('at the timeout, a failing readiness probe is named; otherwise what it waited for', () => {
    const unhealthy: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e' },
      reason: 'Unhealthy',
      message: 'Readiness probe failed: HTTP 503',
      involvedObject: { name: 'churn-1' },
    };
    expect(probeFailure([pod({})], [unhealthy])).toMatchObject({ reason: 'ReadinessProbeFailed' });
    expect(
      timeoutReason({ state: 'progressing', message: 'x: 0 of 3 updated replicas available' }, [pod({})], [], 60000),
    ).toMatchObject({ reason: 'Timeout', detail: expect.stringMatching(/0 of 3 .* after 60 s/) });
  });
});

const record = (
  revision: number,
  verdict: HistoryRecord['verdict'],
  image = `img@sha256:${revision}`,
): HistoryRecord => ({
  revision,
  image,
  digest: `sha256:${revision}`,
  manifestHash: 'h',
  verdict,
  startedAt: '2026-12-01T10:00:00.000Z',
  endedAt: '2026-12-01T10:02:30.000Z',
  pr: revision,
  actor: 'a',
});

describe('history', () => {
  it('keeps the last 20, replaces a re-run revision, numbers the next', () => {
    let records: HistoryRecord[] = [];
    for (let i = 1; i <= 25; i++) records = appendRecord(records, record(i, 'promoted'));
    expect(records.map((r) => r.revision)).toEqual(Array.from({ length: 20 }, (_, i) => i + 6));
    records = appendRecord(records, record(25, 'rolled-back'));
    expect(records.at(-1)?.verdict).toBe('rolled-back');
    expect(nextRevision(records)).toBe(26);
    expect(parseHistory(serializeHistory(records), 'cm')).toEqual(records);
  });

  it.each([
    ['previous', 4, 3],
    ['previous', 2, 1],
    [1, 4, 1],
    // Revision 5 is not recorded: a rollback died between re-applying revision 3's image and recording it.
    ['previous', 5, 3],
  ] as const)('pick %s from stable at %s -> %s', (to, current, expected) => {
    const records = [record(1, 'promoted'), record(2, 'promoted'), record(3, 'rolled-back'), record(4, 'promoted')];
    records[2] = { ...records[2]!, image: 'img@sha256:1' };
    expect(pickRevision(records, to, current).revision).toBe(expected);
  });

  it('a re-run of the run whose rollback is the newest record goes where that rollback went', () => {
    const url = 'https://github.com/o/r/actions/runs/9';
    const back = { ...record(3, 'rolled-back'), runUrl: url };
    const records = [record(1, 'promoted'), record(2, 'promoted'), back];
    expect(rollbackOfThisRun(records, url)).toBe(back);
    expect(rollbackOfThisRun(records, 'https://github.com/o/r/actions/runs/10')).toBeUndefined();
    expect(rollbackOfThisRun(records, undefined)).toBeUndefined();
    expect(rollbackOfThisRun([...records, { ...record(4, 'promoted'), runUrl: url }], url)).toBeUndefined();
  });

  it.each([
    [[record(1, 'promoted')], 'previous' as const, 1, /no earlier revision/],
    [[record(1, 'promoted')], 7, 1, /revision 7 is not in the history \(kept: 1\)/],
    [[record(1, 'promoted'), record(2, 'failed')], 2, 1, /was failed, never stable/],
  ])('refuses with a reason', (records, to, current, message) => {
    expect(() => pickRevision(records, to, current)).toThrow(message);
  });

  it('renders a table, newest first, current marked', () => {
    const model = {
      kind: 'mlflow' as const,
      uri: 'models:/churn/3',
      name: 'churn',
      version: '3',
      sha256: 'ab'.repeat(32),
      files: 2,
      bytes: 9,
    };
    const table = renderHistoryTable([record(1, 'promoted'), { ...record(2, 'rolled-back'), model }], 1);
    expect(table.split('\n')).toEqual([
      'REV  VERDICT      DIGEST  MODEL                   STARTED               DURATION  PR  ACTOR',
      ' 2   rolled-back  2       churn:3 (abababababab)  2026-12-01T10:00:00Z  150s      #2  a',
      '*1   promoted     1       -                       2026-12-01T10:00:00Z  150s      #1  a',
    ]);
  });

  it('names the ConfigMap when its data is not history', () => {
    expect(() => parseHistory({ 'history.json': '{' }, 'ml/model-canary-churn-history')).toThrow(
      /ml\/model-canary-churn-history .* not JSON/,
    );
  });
});

describe('decideLease: taken over only after a full duration seen unchanged on our own clock', () => {
  const now = new Date('2026-12-01T12:00:00.000Z');
  const lease = (spec: Record<string, unknown>, resourceVersion = '7'): KubeObject => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'model-canary-churn', resourceVersion },
    spec,
  });
  const other = (renewTime: string, resourceVersion = '7') =>
    lease({ holderIdentity: 'other', renewTime, leaseDurationSeconds: 60 }, resourceVersion);

  it.each([
    [undefined, 'create'],
    [lease({ holderIdentity: 'me', renewTime: '2026-12-01T11:59:50.000000Z', leaseDurationSeconds: 60 }), 'renew'],
    [lease({ renewTime: '2026-12-01T11:59:50.000000Z', leaseDurationSeconds: 60 }), 'take-over'],
    // Another holder is never taken at first sight, however old its renewTime looks: that is another machine's clock.
    [other('2026-12-01T11:58:00.000000Z'), 'wait'],
    [other('2026-12-01T11:59:50.000000Z'), 'wait'],
  ])('%j -> %s', (live, action) => {
    expect(decideLease(live, 'me', { now, nowMs: 1000 }, 60).action).toBe(action);
  });

  it('unchanged for the Lease duration on our monotonic clock: taken over, whatever the wall clocks say', () => {
    const live = other('2026-12-01T12:01:30.000000Z'); // renewed "90 s in our future": its clock is ahead
    const first = decideLease(live, 'me', { now, nowMs: 1000 }, 60);
    expect(first).toMatchObject({ action: 'wait', holder: 'other', takeableAtMs: 61_000, looksLive: true });
    if (first.action !== 'wait') throw new Error('unreachable');
    const observed = first.observation;
    expect(decideLease(live, 'me', { now, nowMs: 60_999, observed }, 60).action).toBe('wait');
    expect(decideLease(live, 'me', { now, nowMs: 61_000, observed }, 60)).toMatchObject({
      action: 'take-over',
      spec: { holderIdentity: 'me', leaseTransitions: 1 },
    });
  });

  it('a renewal while we watch starts the watch again; so does a new holder', () => {
    const observed = { resourceVersion: '7', holder: 'other', sinceMs: 0 };
    const renewed = decideLease(other('2026-12-01T11:00:00.000000Z', '8'), 'me', { now, nowMs: 90_000, observed }, 60);
    expect(renewed).toMatchObject({ action: 'wait', observation: { resourceVersion: '8', sinceMs: 90_000 } });
    const someoneElse = lease({ holderIdentity: 'third', renewTime: '2026-12-01T11:00:00Z', leaseDurationSeconds: 60 });
    expect(decideLease(someoneElse, 'me', { now, nowMs: 90_000, observed }, 60)).toMatchObject({ action: 'wait' });
  });

  it('the wait says who holds it and when it expires by its renewTime', () => {
    const decision = decideLease(
      lease({
        holderIdentity: 'octo/model/run-42',
        renewTime: '2026-12-01T11:59:50.000000Z',
        leaseDurationSeconds: 60,
      }),
      'me',
      { now, nowMs: 0 },
      60,
    );
    expect(decision).toMatchObject({ action: 'wait', holder: 'octo/model/run-42', looksLive: true });
    if (decision.action === 'wait') expect(decision.expiresAt.toISOString()).toBe('2026-12-01T12:00:50.000Z');
  });
});
