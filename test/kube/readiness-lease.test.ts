import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeCluster } from '../../src/adapters/kubernetes/cluster.js';
import { ConflictError } from '../../src/core/conflict.js';
import { acquireLease, LeaseHeldError } from '../../src/engine/lease.js';
import { readHistory, rollbackTo, writeRecord, currentRevision } from '../../src/engine/history.js';
import { runClusterRollout } from '../../src/engine/run-cluster.js';
import type { FakeKube } from '../support/fake-kube-apiserver.js';
import type { JsonObject } from '../support/fake-kube/fields.js';
import { buildTarget, existingObjects, NEW_IMAGE, OLD_IMAGE, type TargetOptions } from '../support/kube-target.js';
import { clock, fakeCluster, imagesOf, rolloutOptions } from './harness.js';

let fake: FakeKube;
let cluster: KubeCluster;
beforeAll(async () => ({ fake, cluster } = await fakeCluster({ progressDeadlineMs: 400 })));
afterAll(() => fake.stop());

describe('a canary that never becomes ready is rolled back, with the reason', () => {
  const cases: [string, TargetOptions, string, RegExp][] = [
    [
      'bad pull',
      { image: 'registry.local/models/bad-pull@sha256:' + 'c'.repeat(64) },
      'ImagePullBackOff',
      /Back-off pulling image/,
    ],
    [
      'crash loop',
      { image: 'registry.local/models/crash@sha256:' + 'd'.repeat(64) },
      'CrashLoopBackOff',
      /last log line: FileNotFoundError/,
    ],
    ['unschedulable', { requests: { cpu: '64' } }, 'Unschedulable', /Insufficient cpu/],
    [
      'failing readiness probe',
      { image: 'registry.local/models/not-ready@sha256:' + 'e'.repeat(64) },
      'ReadinessProbeFailed',
      /Readiness probe failed/,
    ],
  ];
  it.each(cases)('%s', async (name, options, reason, detail) => {
    const namespace = `ready-${name.replace(/ /g, '-')}`;
    const target = buildTarget({ namespace, replicas: 2, ...options });
    // Unschedulable applies to the canary only: stable runs with what the user had.
    const existing = existingObjects(buildTarget({ namespace, replicas: 2 }));
    fake.seed(existing as JsonObject[]);
    const result = await runClusterRollout(cluster, target, [25, 100], rolloutOptions('replicas', 300));
    expect(result).toMatchObject({ verdict: 'rolled-back', reason, steps: [25] });
    if (result.verdict === 'rolled-back') expect(result.detail).toMatch(detail);
    expect(imagesOf(fake.object('apps/v1', 'Deployment', namespace, 'churn'))).toEqual([OLD_IMAGE]);
    expect(fake.object('apps/v1', 'Deployment', namespace, 'churn-canary')).toBeUndefined();
  });

  it('a KServe predictor that cannot pull is rolled back to the previous predictor', async () => {
    const namespace = 'ready-kserve';
    const target = buildTarget({
      router: 'kserve',
      namespace,
      image: 'registry.local/models/bad-pull@sha256:' + '9'.repeat(64),
    });
    fake.seed(existingObjects(target) as JsonObject[]);
    const result = await runClusterRollout(cluster, target, [10], rolloutOptions('kserve', 2000));
    expect(result).toMatchObject({
      verdict: 'rolled-back',
      reason: 'RevisionFailed',
      detail: expect.stringMatching(/ImagePullBackOff/),
    });
    const isvc = fake.object('serving.kserve.io/v1beta1', 'InferenceService', namespace, 'churn');
    expect(imagesOf(isvc)).toEqual([OLD_IMAGE]);
    expect((isvc?.spec as { predictor: Record<string, unknown> }).predictor).not.toHaveProperty('canaryTrafficPercent');
  });

  it('a progress deadline exceeded is reported as such', async () => {
    const namespace = 'ready-deadline';
    const target = buildTarget({
      namespace,
      replicas: 1,
      image: 'registry.local/models/not-ready@sha256:' + 'f'.repeat(64),
    });
    fake.seed(existingObjects(buildTarget({ namespace, replicas: 1 })) as JsonObject[]);
    const result = await runClusterRollout(cluster, target, [50], rolloutOptions('replicas', 5000));
    expect(result).toMatchObject({ verdict: 'rolled-back', reason: 'ProgressDeadlineExceeded' });
  });
});

describe('lease', () => {
  const lease = (holder: string, extra: Partial<Parameters<typeof acquireLease>[1]> = {}) =>
    acquireLease(cluster, {
      model: 'churn',
      namespace: 'lease',
      holder,
      clock,
      durationSeconds: 1,
      renewEveryMs: 100,
      ...extra,
    });

  it('refuses a second run at once, naming the holder and expiry; takes over only after release or expiry', async () => {
    const first = await lease('run-1');
    await clock.sleep(1300); // past the 1 s duration: only the background renewal keeps it held
    const refused = await lease('run-2').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LeaseHeldError);
    expect((refused as Error).message).toMatch(/holder run-1, expires at \d{4}-\d\d-\d\dT/);
    expect((refused as LeaseHeldError).holder).toBe('run-1');
    const waiting = lease('run-2', { waitForLease: true });
    await clock.sleep(50);
    await first.release();
    const second = await waiting;
    expect(
      (fake.object('coordination.k8s.io/v1', 'Lease', 'lease', 'model-canary-churn')?.spec as JsonObject)
        .holderIdentity,
    ).toBe('run-2');
    await second.release();
    expect(fake.object('coordination.k8s.io/v1', 'Lease', 'lease', 'model-canary-churn')).toBeUndefined();
  });

  it('an expired lease of a dead run is taken over', async () => {
    fake.seed([
      {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'model-canary-churn', namespace: 'lease' },
        spec: {
          holderIdentity: 'dead-run',
          leaseDurationSeconds: 1,
          renewTime: new Date(Date.now() - 5000).toISOString(),
        },
      },
    ]);
    const held = await lease('run-3');
    const spec = fake.object('coordination.k8s.io/v1', 'Lease', 'lease', 'model-canary-churn')?.spec as JsonObject;
    expect(spec).toMatchObject({ holderIdentity: 'run-3', leaseTransitions: 1 });
    await held.release();
  });
});

describe('waiting for readiness says what it waits for, at info', () => {
  it('a canary whose readiness probe fails: the wait logs how many pods are ready and why not', async () => {
    const namespace = 'ready-progress';
    const target = buildTarget({
      namespace,
      replicas: 2,
      image: 'registry.local/models/not-ready@sha256:' + 'e'.repeat(64),
    });
    fake.seed([...existingObjects(target), target.canary!] as JsonObject[]);
    const infos: string[] = [];
    const logger = { info: (line: string) => void infos.push(line), warn: () => undefined, debug: () => undefined };
    const watching = KubeCluster.fromOptions({ kubeconfigPath: fake.kubeconfigPath, pollMs: 10, clock, logger });
    const result = await watching.waitForDeployment(namespace, 'churn-canary', 300);
    expect(result.ready).toBe(false);
    expect(infos.some((line) => /^churn-canary \d\/\d ready/.test(line))).toBe(true);
  });
});

describe('a delete with a resourceVersion precondition, over HTTP', () => {
  it('is refused with a ConflictError once the object changed since it was read, and deletes it when unchanged', async () => {
    const key = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'lease', name: 'pinned' };
    const lease = { ...key, metadata: { name: key.name, namespace: key.namespace }, spec: { holderIdentity: 'a' } };
    const read = await cluster.apply(lease);
    await cluster.apply({ ...lease, spec: { holderIdentity: 'b' } }, { force: true });
    await expect(cluster.delete(key, { resourceVersion: read.metadata.resourceVersion })).rejects.toThrow(
      ConflictError,
    );
    expect(fake.object(key.apiVersion, key.kind, key.namespace, key.name)).toBeDefined();
    const live = await cluster.get(key);
    await cluster.delete(key, { resourceVersion: live!.metadata.resourceVersion });
    expect(fake.object(key.apiVersion, key.kind, key.namespace, key.name)).toBeUndefined();
  });
});

describe('history', () => {
  it('records rollouts in the ConfigMap and rolls back to the previous revision without a rebuild', async () => {
    const namespace = 'history';
    const target = buildTarget({ namespace, replicas: 2 });
    fake.seed(existingObjects(target) as JsonObject[]);
    const base = {
      startedAt: '2026-12-01T10:00:00.000Z',
      endedAt: '2026-12-01T10:05:00.000Z',
      manifestHash: 'h1',
      pr: 12,
      actor: 'alice',
    };
    await writeRecord(cluster, 'churn', namespace, {
      ...base,
      revision: 1,
      image: OLD_IMAGE,
      digest: OLD_IMAGE.split('@')[1]!,
      verdict: 'promoted',
    });
    expect(
      (await runClusterRollout(cluster, target, [50], { ...rolloutOptions('replicas'), revision: 2 })).verdict,
    ).toBe('promoted');
    await writeRecord(cluster, 'churn', namespace, {
      ...base,
      revision: 2,
      image: NEW_IMAGE,
      digest: NEW_IMAGE.split('@')[1]!,
      verdict: 'promoted',
    });
    expect(await currentRevision(cluster, target)).toBe(2);
    const result = await rollbackTo(cluster, target, 'previous', rolloutOptions('replicas'), {
      startedAt: new Date().toISOString(),
      actor: 'bob',
    });
    expect(result).toMatchObject({ revision: 3, ready: true, record: { revision: 1 } });
    expect(imagesOf(fake.object('apps/v1', 'Deployment', namespace, 'churn'))).toEqual([OLD_IMAGE]);
    expect(await currentRevision(cluster, target)).toBe(3);
    const records = await readHistory(cluster, 'churn', namespace);
    expect(records.map((r) => [r.revision, r.verdict, r.image])).toEqual([
      [1, 'promoted', OLD_IMAGE],
      [2, 'promoted', NEW_IMAGE],
      [3, 'rolled-back', OLD_IMAGE],
    ]);
  });
});
