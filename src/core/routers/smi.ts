// SMI TrafficSplit: the root Service's traffic split between the stable and canary Services.
import type { KubeObject } from '../ports.js';
import type { RolloutTarget } from '../target.js';
import { canaryServiceName, weights } from './services.js';
import { ownedMeta, trafficBase } from './traffic.js';

export const SMI_API_VERSION = 'split.smi-spec.io/v1alpha2';

export function trafficSplit(target: RolloutTarget, service: KubeObject, weight: number): KubeObject {
  const share = weights(weight);
  return {
    apiVersion: SMI_API_VERSION,
    kind: 'TrafficSplit',
    metadata: ownedMeta(target.model, target),
    spec: {
      service: service.metadata.name,
      backends: [
        { service: service.metadata.name, weight: share.stable },
        { service: canaryServiceName(service), weight: share.canary },
      ],
    },
  };
}

export function smiRouterObjects(target: RolloutTarget, weight: number, stableReplicas: number): KubeObject[] {
  const { service, objects } = trafficBase('smi', target, weight, stableReplicas);
  return [...objects, trafficSplit(target, service, weight)];
}
