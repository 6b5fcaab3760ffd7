// One holder per Lease, under skewed clocks, a partitioned holder and concurrent takers. Before, a taker whose clock ran
// 90 s ahead took a live Lease at once (expiry compared another machine's renewTime with the local clock), a holder
// cut off from the API server went on as holder forever (failed renewals were warnings), release was get-then-delete,
// and two jobs of one run shared one holder id.
//
// Every run here shares one VirtualClock's monotonic time (as real machines share the passing of time) but each has
// its own wall clock, and the cluster is in memory: time jumps, and no check depends on how busy the machine is.
import { describe, expect, it } from '@jest/globals';
import { buildConfig } from '../../src/core/config.js';
import type { ApplyOptions, Clock, Cluster, DeleteOptions, KubeObject, ObjectKey } from '../../src/core/ports.js';
import { runRollout } from '../../src/engine/deploy.js';
import {
  acquireLease,
  leaseGuardedCluster,
  LeaseHeldError,
  LeaseLostError,
  type HeldLease,
} from '../../src/engine/lease.js';
import { buildTarget, NEW_IMAGE, OLD_IMAGE } from '../support/kube-target.js';
import { imagesOf, MemoryCluster } from '../support/memory-cluster.js';
import { VirtualClock } from '../support/virtual-clock.js';

const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'ml', name: 'model-canary-churn' };
const DURATION = 60;

/** One machine's clock: the shared passing of time, its own (possibly wrong) wall clock. */
const machine = (time: VirtualClock, skewMs = 0): Clock => ({
  now: () => new Date(time.now().getTime() + skewMs),
  monotonicMs: () => time.monotonicMs(),
  sleep: (ms, signal) => time.sleep(ms, signal),
});

/** The cluster as one run sees it: while partitioned, every call fails as an unreachable API server would. */
class Partitionable implements Cluster {
  partitioned = false;
  constructor(private readonly inner: Cluster) {}
  private reach<T>(call: () => Promise<T>): Promise<T> {
    return this.partitioned ? Promise.reject(new Error('connect ETIMEDOUT 10.0.0.1:443')) : call();
  }
  apply(object: KubeObject, options?: ApplyOptions) {
    return this.reach(() => this.inner.apply(object, options));
  }
  get(key: ObjectKey) {
    return this.reach(() => this.inner.get(key));
  }
  list(apiVersion: string, kind: string, namespace: string, selector?: string) {
    return this.reach(() => this.inner.list(apiVersion, kind, namespace, selector));
  }
  delete(key: ObjectKey, options?: DeleteOptions) {
    return this.reach(() => this.inner.delete(key, options));
  }
  waitForDeployment(namespace: string, name: string, timeoutMs: number) {
    return this.reach(() => this.inner.waitForDeployment(namespace, name, timeoutMs));
  }
}

const take = (cluster: Cluster, holder: string, clock: Clock, waitForLease = false) =>
  acquireLease(cluster, { model: 'churn', namespace: 'ml', holder, clock, durationSeconds: DURATION, waitForLease });
const holderIn = (cluster: MemoryCluster) =>
  (cluster.object(LEASE.apiVersion, LEASE.kind, LEASE.namespace, LEASE.name)?.spec as { holderIdentity?: string })
    ?.holderIdentity;

/** Watches, at every wake-up of virtual time, how many runs believe they hold the Lease; keeps the most seen. */
function believers(time: VirtualClock, held: Map<string, HeldLease>) {
  let most = 0;
  let running = true;
  const watching = (async () => {
    while (running) {
      most = Math.max(most, [...held.values()].filter((lease) => lease.lost() === undefined).length);
      await time.sleep(250);
    }
  })();
  return {
    most: () => most,
    stop: async () => {
      running = false;
      await watching;
    },
  };
}

describe('a Lease has one holder', () => {
  it('a taker whose clock is 90 s ahead does not take a live Lease: it sees it renewed while it watches', async () => {
    const time = new VirtualClock();
    const cluster = new MemoryCluster();
    const holder = await take(cluster, 'job-a', machine(time));
    const ahead = machine(time, 90_000);
    const refused = await take(cluster, 'job-b', ahead).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LeaseHeldError);
    expect((refused as Error).message).toMatch(/holder job-a renewed it while this run watched/);
    expect(holderIn(cluster)).toBe('job-a');
    expect(holder.lost()).toBeUndefined();
    await holder.release();
  });

  it('a holder whose clock is 90 s behind keeps its Lease against a taker on the right time, queueing or not', async () => {
    const time = new VirtualClock();
    const cluster = new MemoryCluster();
    const held = new Map<string, HeldLease>([['job-a', await take(cluster, 'job-a', machine(time, -90_000))]]);
    const seen = believers(time, held);
    await expect(take(cluster, 'job-b', machine(time))).rejects.toThrow(LeaseHeldError);
    // Queued behind it: job-b gets the Lease only when job-a lets it go, ten minutes later.
    const queued = take(cluster, 'job-b', machine(time), true).then((lease) => void held.set('job-b', lease));
    await time.sleep(600_000);
    expect(holderIn(cluster)).toBe('job-a');
    await held.get('job-a')!.release();
    held.delete('job-a');
    await queued;
    expect(holderIn(cluster)).toBe('job-b');
    await seen.stop();
    expect(seen.most()).toBe(1);
    await held.get('job-b')!.release();
  });

  it('a partitioned holder stops before anyone can take over; once back it finds the Lease gone to the other', async () => {
    const time = new VirtualClock();
    const shared = new MemoryCluster();
    const seenByA = new Partitionable(shared);
    const a = await take(seenByA, 'job-a', machine(time));
    const held = new Map<string, HeldLease>([['job-a', a]]);
    const seen = believers(time, held);
    const lostAt: number[] = [];
    a.signal.addEventListener('abort', () => lostAt.push(time.monotonicMs()));
    const cutAt = time.monotonicMs();
    seenByA.partitioned = true;
    const b = await take(shared, 'job-b', machine(time, 45_000), true);
    held.set('job-b', b);
    const tookAt = time.monotonicMs();
    await seen.stop();
    expect(seen.most()).toBe(1);
    // job-a gave up at the renew deadline (40 s of a 60 s Lease), job-b took it a full duration after it last changed.
    expect(lostAt[0]! - cutAt).toBeLessThanOrEqual(40_000);
    expect(tookAt - cutAt).toBeGreaterThanOrEqual(DURATION * 1000 - 15_000);
    expect(lostAt[0]!).toBeLessThan(tookAt);
    expect(a.lost()).toMatch(/could not renew Lease ml\/model-canary-churn for/);
    // Healed: job-a writes nothing through its guarded cluster, and its release leaves job-b's Lease alone.
    seenByA.partitioned = false;
    const writes = shared.writes.length;
    const guarded = leaseGuardedCluster(seenByA, a);
    await expect(
      guarded.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ml', name: 'churn-canary' }),
    ).rejects.toThrow(LeaseLostError);
    expect(await a.holdsNow()).toBe(false);
    await a.release();
    expect(shared.writes.length).toBe(writes);
    expect(holderIn(shared)).toBe('job-b');
    await b.release();
  });

  it("concurrent takers: of five runs at a free Lease, and of five at a dead run's Lease, exactly one wins", async () => {
    for (const dead of [false, true]) {
      const time = new VirtualClock();
      const cluster = new MemoryCluster();
      if (dead) {
        const old = new Date(time.now().getTime() - 3_600_000).toISOString();
        await cluster.apply({
          ...LEASE,
          metadata: { name: LEASE.name, namespace: LEASE.namespace },
          spec: { holderIdentity: 'crashed-job', leaseDurationSeconds: DURATION, renewTime: old },
        });
      }
      const runs = ['a', 'b', 'c', 'd', 'e'].map((name, index) =>
        take(cluster, `job-${name}`, machine(time, index * 7_000)).then(
          (lease) => ({ name, lease }),
          (error: Error) => ({ name, error }),
        ),
      );
      const results = await Promise.all(runs);
      const winners = results.filter((result) => 'lease' in result);
      expect(winners).toHaveLength(1);
      expect(holderIn(cluster)).toBe(`job-${winners[0]!.name}`);
      for (const loser of results.filter((result) => 'error' in result))
        expect((loser as { error: Error }).error).toBeInstanceOf(LeaseHeldError);
      await (winners[0] as { lease: HeldLease }).lease.release();
    }
  });

  it("a dead run's Lease is taken over only after a full duration seen unchanged, however old its renewTime", async () => {
    const time = new VirtualClock();
    const cluster = new MemoryCluster();
    await cluster.apply({
      ...LEASE,
      metadata: { name: LEASE.name, namespace: LEASE.namespace },
      spec: { holderIdentity: 'crashed-job', leaseDurationSeconds: DURATION, renewTime: '2020-01-01T00:00:00Z' },
    });
    const from = time.monotonicMs();
    const lease = await take(cluster, 'job-a', machine(time));
    expect(time.monotonicMs() - from).toBeGreaterThanOrEqual(DURATION * 1000);
    expect(cluster.object(LEASE.apiVersion, LEASE.kind, LEASE.namespace, LEASE.name)?.spec).toMatchObject({
      holderIdentity: 'job-a',
      leaseTransitions: 1,
    });
    await lease.release();
  });
});

describe('a deploy that loses its Lease stops, and writes nothing the new holder owns', () => {
  it('another run takes the Lease mid-step: the deploy stops at once and leaves the cluster to it', async () => {
    const config = buildConfig(
      {},
      {
        command: 'deploy',
        manifests: 'k8s/',
        image: NEW_IMAGE,
        'prometheus-url': 'http://127.0.0.1:9090',
        steps: '10,50,100',
        interval: '10m',
        gates: '- name: error-rate\n  max-increase: 50%\n  min-requests: 100',
      },
    );
    const target = buildTarget();
    const cluster = new MemoryCluster();
    await cluster.apply({ ...target.stable });
    const time = new VirtualClock();
    const metrics = { query: async () => ({ state: 'ok' as const, samples: [{ labels: {}, value: 0 }] }) };
    const deploy = runRollout(
      config,
      target,
      {
        cluster,
        metrics,
        clock: time,
        logger: { info: () => undefined, warn: () => undefined, debug: () => undefined },
        reporter: { publish: async () => undefined },
      },
      { holder: 'job-a' },
      'hash',
    ).catch((error: Error) => error);
    while (!cluster.object('apps/v1', 'Deployment', 'ml', 'churn-canary')) await time.sleep(1000);
    // As if job-a had been cut off long enough: job-b holds the Lease now and owns the model.
    const lease = cluster.object(LEASE.apiVersion, LEASE.kind, LEASE.namespace, LEASE.name)!;
    await cluster.apply({ ...lease, spec: { ...(lease.spec as object), holderIdentity: 'job-b' } });
    const taken = cluster.writes.length;
    const startedWaiting = time.monotonicMs();
    const outcome = await deploy;
    expect(outcome).toBeInstanceOf(LeaseLostError);
    expect((outcome as Error).message).toMatch(/another run took Lease ml\/model-canary-churn: holder job-b/);
    // Found at the next renewal (a quarter of the Lease), not at the end of the 10 min step.
    expect(time.monotonicMs() - startedWaiting).toBeLessThanOrEqual(15_000 + 1000);
    expect(cluster.writes.slice(taken)).toEqual([]);
    expect(holderIn(cluster)).toBe('job-b');
    expect(imagesOf(cluster.object('apps/v1', 'Deployment', 'ml', 'churn'))[0]).toBe(OLD_IMAGE);
  });
});
