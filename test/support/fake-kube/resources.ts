// The resource types the fake API server serves, as discovery reports them.

export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** Writes to the main resource ignore `status`; only the status subresource (and the controller) set it. */
  statusSubresource: boolean;
}

const type = (
  group: string,
  version: string,
  kind: string,
  plural: string,
  statusSubresource = false,
  namespaced = true,
): ResourceType => ({ group, version, kind, plural, namespaced, statusSubresource });

export const RESOURCE_TYPES: ResourceType[] = [
  type('', 'v1', 'Namespace', 'namespaces', true, false),
  type('', 'v1', 'Pod', 'pods', true),
  type('', 'v1', 'Service', 'services', true),
  type('', 'v1', 'ConfigMap', 'configmaps'),
  type('', 'v1', 'Event', 'events'),
  type('apps', 'v1', 'Deployment', 'deployments', true),
  type('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  type('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true),
  type('networking.k8s.io', 'v1', 'Ingress', 'ingresses', true),
  type('split.smi-spec.io', 'v1alpha2', 'TrafficSplit', 'trafficsplits'),
  type('gateway.networking.k8s.io', 'v1', 'HTTPRoute', 'httproutes', true),
  type('networking.istio.io', 'v1', 'VirtualService', 'virtualservices', true),
  type('serving.kserve.io', 'v1beta1', 'InferenceService', 'inferenceservices', true),
];

export const apiVersionOf = (t: ResourceType): string => (t.group ? `${t.group}/${t.version}` : t.version);

export function typeByPath(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
}

export function typeByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
}

/** `/apis/<group>/<version>` body: the APIResourceList KubernetesObjectApi reads to find plural names. */
export function resourceList(group: string, version: string): object | undefined {
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: types.flatMap((t) => [
      {
        name: t.plural,
        singularName: t.kind.toLowerCase(),
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      },
      ...(t.statusSubresource
        ? [
            {
              name: `${t.plural}/status`,
              singularName: '',
              namespaced: t.namespaced,
              kind: t.kind,
              verbs: ['get', 'patch', 'update'],
            },
          ]
        : []),
    ]),
  };
}

export function groupList(): object {
  const groups = [...new Set(RESOURCE_TYPES.filter((t) => t.group).map((t) => t.group))];
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map((name) => {
      const versions = [...new Set(RESOURCE_TYPES.filter((t) => t.group === name).map((t) => t.version))].map(
        (version) => ({
          groupVersion: `${name}/${version}`,
          version,
        }),
      );
      return { name, versions, preferredVersion: versions[0] };
    }),
  };
}
