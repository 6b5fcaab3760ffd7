// The stable side keeps what runs in the cluster: the manifests may name a placeholder or the new tag, but rolling
// back (or holding stable during a canary) must never change the version users are served.
import { clone } from './kube.js';
import type { KubeObject } from './ports.js';
import type { RolloutTarget } from './target.js';

type Containers = { name: string; image?: string }[];
const containersOf = (object: KubeObject | undefined): Containers =>
  (object?.spec as { template?: { spec?: { containers?: Containers } } } | undefined)?.template?.spec?.containers ?? [];

/** The image a container runs in a Deployment, if any. */
export function containerImage(object: KubeObject | undefined, container: string): string | undefined {
  return containersOf(object).find((c) => c.name === container)?.image;
}

/** The target with the stable Deployment's container images taken from the live object, when there is one. */
export function withLiveStableImages(target: RolloutTarget, live: KubeObject | undefined): RolloutTarget {
  if (target.kind !== 'Deployment' || !live) return target;
  const liveImages = new Map(containersOf(live).map((c) => [c.name, c.image]));
  const stable = clone(target.stable);
  for (const container of containersOf(stable)) {
    const image = liveImages.get(container.name);
    if (image) container.image = image;
  }
  return { ...target, stable };
}
