import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeCluster } from '../../src/adapters/kubernetes/cluster.js';
import type { KubeObject } from '../../src/core/ports.js';
import type { FakeKube } from '../support/fake-kube-apiserver.js';
import type { JsonObject } from '../support/fake-kube/fields.js';
import { buildTarget, existingObjects } from '../support/kube-target.js';
import { fakeCluster } from './harness.js';

let fake: FakeKube;
let cluster: KubeCluster;
beforeAll(async () => ({ fake, cluster } = await fakeCluster()));
afterAll(() => fake.stop());

const configMap = (data: Record<string, string>, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'adapter', ...extra },
  data,
});

describe('KubeCluster against the fake API server', () => {
  it('server-side apply removes the fields model-canary stops applying, as the real server does', async () => {
    await cluster.apply(configMap({ a: '1', b: '2' }));
    const applied = await cluster.apply(configMap({ a: '1' }));
    expect(applied.data).toEqual({ a: '1' });
    expect((applied.metadata.managedFields as { manager: string }[]).map((m) => m.manager)).toEqual(['model-canary']);
  });

  it('a field another manager owns is a conflict naming the object, the manager and the field; force takes it', async () => {
    const target = buildTarget({ namespace: 'adapter', hpa: true });
    fake.seed(existingObjects(target) as JsonObject[]);
    fake.scaleAsHpa('adapter', 'churn', 7);
    const scaled = { ...target.stable, spec: { ...(target.stable.spec as object), replicas: 2 } };
    await expect(cluster.apply(scaled)).rejects.toThrow(
      /apply Deployment adapter\/churn failed: HTTP 409 Conflict: Apply failed with \d+ conflicts?: .*conflict with "horizontal-pod-autoscaler": \.spec\.replicas/s,
    );
    const forced = await cluster.apply(scaled, { force: true });
    expect((forced.spec as { replicas: number }).replicas).toBe(2);
  });

  it('a stale resourceVersion is a ConflictError for the caller to re-read; createOnly refuses an existing object', async () => {
    const live = await cluster.apply(configMap({ x: '1' }, { name: 'versioned' }));
    await cluster.apply(configMap({ x: '2' }, { name: 'versioned' }));
    const stale = cluster.apply(
      configMap({ x: '3' }, { name: 'versioned', resourceVersion: live.metadata.resourceVersion }),
    );
    await expect(stale).rejects.toMatchObject({ name: 'ConflictError' });
    await expect(cluster.apply(configMap({}, { name: 'versioned' }), { createOnly: true })).rejects.toMatchObject({
      name: 'ConflictError',
    });
  });

  it('missing objects: get is undefined, delete is a no-op; an unknown kind says so', async () => {
    expect(
      await cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'adapter', name: 'nope' }),
    ).toBeUndefined();
    await expect(
      cluster.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'adapter', name: 'nope' }),
    ).resolves.toBeUndefined();
    await expect(
      cluster.apply({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'adapter' } }),
    ).rejects.toThrow(/apply Widget adapter\/w failed: .*example.com\/v1/);
  });

  it('gives up after the configured attempts on a server that keeps failing, naming the object', async () => {
    const before = fake.requests.length;
    fake.addFault({ kind: 500, match: (r) => r.path.endsWith('/configmaps/settings') });
    await expect(
      cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'adapter', name: 'settings' }),
    ).rejects.toThrow(/get ConfigMap adapter\/settings failed: HTTP 500/);
    fake.clearFaults();
    expect(fake.requests.slice(before).length).toBe(4);
  });

  it('reads the kubeconfig from KUBECONFIG when no path is given', async () => {
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = fake.kubeconfigPath;
    try {
      const fromEnv = KubeCluster.fromOptions({});
      expect((await fromEnv.list('v1', 'ConfigMap', 'adapter')).map((c) => c.metadata.name)).toContain('settings');
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it('the fake streams watch events', async () => {
    const controller = new AbortController();
    const response = await fetch(`${fake.url}/api/v1/namespaces/adapter/configmaps?watch=true`, {
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await cluster.apply(configMap({ w: '1' }, { name: 'watched' }));
    const { value } = await reader.read();
    const event = JSON.parse(new TextDecoder().decode(value).split('\n')[0]!) as { type: string; object: KubeObject };
    expect([event.type, event.object.metadata.name]).toEqual(['ADDED', 'watched']);
    controller.abort();
  }, 5000);
});
