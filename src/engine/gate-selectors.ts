// The gates' selectors for a rollout as the cluster stands now: KServe's revisions are read from the live
// InferenceService's status, since KServe names them; every other preset's workloads follow from the manifests.
import type { RolloutConfig } from '../core/config.js';
import type { GateSelectors } from '../core/gates.js';
import { metricsPreset } from '../core/metric-presets.js';
import type { Cluster } from '../core/ports.js';
import { keyOf } from '../core/routers/index.js';
import type { RolloutTarget } from '../core/target.js';
import { gateSelectors } from '../core/track-workloads.js';

export async function liveGateSelectors(
  config: Pick<RolloutConfig, 'metrics'>,
  target: RolloutTarget,
  /** Asked for only when the preset reads the cluster (KServe): `analyze` may run without one. */
  cluster?: () => Pick<Cluster, 'get'>,
): Promise<Omit<GateSelectors, 'baselineTrack'>> {
  const preset = config.metrics.preset;
  const byRevision = metricsPreset(preset).labelling === 'revision' && target.kind === 'InferenceService';
  const live = byRevision && cluster ? await cluster().get(keyOf(target.stable)) : undefined;
  return gateSelectors(preset, target, live);
}
