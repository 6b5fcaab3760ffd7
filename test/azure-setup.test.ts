// The README's Azure setup, tested where it can be without Azure: the Role in workflows-examples/azure grants every
// request a rollout makes. A lease, the history ConfigMap, a promoted rollout, a rolled-back one and a rollback to the
// previous revision run against the fake API server, and each request it saw (verb, API group, resource) must be
// allowed by one of the Role's rules.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KubeCluster } from '../src/adapters/kubernetes/cluster.js';
import { acquireLease } from '../src/engine/lease.js';
import { rollbackTo, writeRecord } from '../src/engine/history.js';
import { applyStep, rollback } from '../src/engine/rollout-cluster.js';
import { runClusterRollout } from '../src/engine/run-cluster.js';
import type { RouterName } from '../src/core/routers/index.js';
import type { FakeKube, RequestRecord } from './support/fake-kube-apiserver.js';
import type { JsonObject } from './support/fake-kube/fields.js';
import { buildTarget, existingObjects, NEW_IMAGE, OLD_IMAGE } from './support/kube-target.js';
import { clock, fakeCluster, rolloutOptions } from './kube/harness.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const [role, binding] = parseAllDocuments(readFileSync('workflows-examples/azure/model-canary-role.yaml', 'utf8')).map(
  (doc) => doc.toJS() as { kind: string; metadata: { namespace: string }; rules: Rule[]; roleRef: { name: string } },
);

/** The RBAC request of an API call: verb, API group, resource[/subresource]; undefined for discovery calls. */
function rbacRequest(record: RequestRecord): { verb: string; group: string; resource: string } | undefined {
  const parts = record.path.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api') [group, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis') [group, rest] = [parts[1] ?? '', parts.slice(3)];
  else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  else return undefined; // discovery, or cluster-scoped: the Role grants none of those and a rollout needs none
  const [resource, name, subresource] = rest;
  const verb =
    {
      GET: name ? 'get' : 'list',
      POST: 'create',
      PATCH: 'patch',
      PUT: 'update',
      DELETE: name ? 'delete' : 'deletecollection',
    }[record.method] ?? record.method.toLowerCase();
  return { verb, group, resource: subresource ? `${resource}/${subresource}` : resource! };
}

const allowed = (request: { verb: string; group: string; resource: string }) =>
  role!.rules.some(
    (rule) =>
      rule.apiGroups.includes(request.group) &&
      rule.resources.includes(request.resource) &&
      rule.verbs.includes(request.verb),
  );

describe('the Role of the README (workflows-examples/azure/model-canary-role.yaml)', () => {
  let fake: FakeKube;
  let cluster: KubeCluster;
  beforeAll(async () => ({ fake, cluster } = await fakeCluster()));
  afterAll(() => fake.stop());

  it('is a namespaced Role, bound by its RoleBinding, with no wildcard and no secrets', () => {
    expect(role).toMatchObject({ kind: 'Role', metadata: { namespace: 'ml' } });
    expect(binding).toMatchObject({
      kind: 'RoleBinding',
      metadata: { namespace: 'ml' },
      roleRef: { name: 'model-canary' },
    });
    expect(JSON.stringify(role!.rules)).not.toContain('*');
    expect(allowed({ verb: 'get', group: '', resource: 'secrets' })).toBe(false);
  });

  it("the README shows the file's rules", () => {
    const readme = readFileSync('README.md', 'utf8');
    const block = /```yaml\n(apiVersion: rbac\.authorization\.k8s\.io\/v1\nkind: Role\n[\s\S]*?)```/.exec(readme)?.[1];
    const shown = parseAllDocuments(block ?? '')[0]?.toJS() as { rules: Rule[] } | undefined;
    expect(shown?.rules.length).toBeGreaterThanOrEqual(7);
    expect(role!.rules).toEqual(expect.arrayContaining(shown!.rules));
  });

  it.each<RouterName>(['replicas', 'smi', 'gateway-api', 'istio', 'nginx', 'kserve'])(
    'grants every request of a rollout with router %s (lease, history, promote, roll back, rollback)',
    async (router) => {
      const from = fake.requests.length;
      const namespace = `rbac-${router}`;
      const lease = await acquireLease(cluster, {
        model: 'churn',
        namespace,
        holder: 'run-1',
        clock,
        durationSeconds: 5,
      });
      const target = buildTarget({ router, namespace });
      fake.seed(existingObjects(target) as JsonObject[]);
      const base = { startedAt: '2026-12-01T10:00:00.000Z', endedAt: '2026-12-01T10:05:00.000Z', manifestHash: 'h' };
      await writeRecord(cluster, 'churn', namespace, {
        ...base,
        revision: 1,
        image: OLD_IMAGE,
        digest: OLD_IMAGE.split('@')[1]!,
        verdict: 'promoted',
      });
      const promoted = await runClusterRollout(
        cluster,
        target,
        [10, 50],
        { ...rolloutOptions(router), revision: 2 },
        async () => ({
          pass: true,
        }),
      );
      expect(promoted.verdict).toBe('promoted');
      await writeRecord(cluster, 'churn', namespace, {
        ...base,
        revision: 2,
        image: NEW_IMAGE,
        digest: NEW_IMAGE.split('@')[1]!,
        verdict: 'promoted',
      });
      expect((await applyStep(cluster, target, 25, rolloutOptions(router))).ready).toBe(true);
      expect((await rollback(cluster, target, rolloutOptions(router))).ready).toBe(true);
      if (router === 'replicas') {
        const back = await rollbackTo(cluster, target, 'previous', rolloutOptions(router), {
          startedAt: new Date().toISOString(),
          actor: 'bob',
        });
        expect(back.ready).toBe(true);
      }
      await lease.release();

      const seen = fake.requests.slice(from).flatMap((record) => {
        const request = rbacRequest(record);
        return request ? [request] : [];
      });
      expect(seen.length).toBeGreaterThan(10);
      const denied = [
        ...new Set(
          seen.filter((request) => !allowed(request)).map((r) => `${r.verb} ${r.group || 'core'}/${r.resource}`),
        ),
      ];
      expect(denied).toEqual([]);
    },
    30_000,
  );
});
