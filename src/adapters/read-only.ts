// `dry-run` enforced below the commands: whatever a command does, the cluster and the registry refuse every write,
// so a rehearsal cannot change production even through a path the command forgot to guard.
import type { BuildBackends } from '../engine/build.js';
import type { ApplyOptions, Cluster, KubeObject, ObjectKey } from '../core/ports.js';

export class DryRunRefusal extends Error {}

const refuse = (what: string): never => {
  throw new DryRunRefusal(`dry run: refused to ${what} (a dry run changes nothing)`);
};

const named = (key: { kind: string; namespace?: string; name: string }): string =>
  `${key.kind} ${key.namespace ? `${key.namespace}/` : ''}${key.name}`;

/** The cluster for reading only: get, list and readiness pass through; apply and delete are refused. */
export function readOnlyCluster(cluster: Cluster): Cluster {
  return {
    get: (key: ObjectKey) => cluster.get(key),
    list: (apiVersion: string, kind: string, namespace: string, labelSelector?: string) =>
      cluster.list(apiVersion, kind, namespace, labelSelector),
    waitForDeployment: (namespace: string, name: string, timeoutMs: number) =>
      cluster.waitForDeployment(namespace, name, timeoutMs),
    apply: async (object: KubeObject, _options?: ApplyOptions) =>
      refuse(`apply ${named({ ...object, namespace: object.metadata.namespace, name: object.metadata.name })}`),
    delete: async (key: ObjectKey) => refuse(`delete ${named(key)}`),
  };
}

/** Build backends that push nothing: a dry run's build stops before them, and this makes sure. */
export function readOnlyBuildBackends(): BuildBackends {
  return {
    buildOci: async () => refuse('push an image built with builder oci'),
    buildDocker: async () => refuse('build and push an image with docker'),
    tag: async (repository, _digest, tags) => refuse(`tag ${repository} as ${tags.join(', ')}`),
  };
}
