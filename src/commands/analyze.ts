import { ConfigError } from '../core/config.js';
import { promDuration } from '../core/duration.js';
import { renderGatesText } from '../core/render-gates.js';
import type { GateSelectors } from '../core/gates.js';
import { namedTarget } from '../core/track-workloads.js';
import { liveGateSelectors } from '../engine/gate-selectors.js';
import { analyzeNow, analyzeWindow, PrometheusUnreachableError, withBaselineTrack } from '../engine/measure.js';
import type { CommandHandler } from './context.js';
import { locateTarget, resultOf } from './locate.js';

/**
 * The gates' selectors: from the manifests when given, else from `model` and `namespace` (the model's Deployment, or
 * its InferenceService under the kserve metrics, named after the model).
 */
async function selectors(context: Parameters<CommandHandler>[0]): Promise<Omit<GateSelectors, 'baselineTrack'>> {
  const { config } = context;
  if (config.model && (config.namespace || config.manifests.length === 0)) {
    const target = namedTarget(config.model, config.namespace ?? 'default', config.metrics.preset);
    return liveGateSelectors(config, target, () => context.services.cluster());
  }
  if (config.manifests.length === 0) throw new ConfigError(["model: required for 'analyze' (or give manifests)"]);
  const { target } = await locateTarget(context, config.image ?? 'unused');
  return liveGateSelectors(config, target, () => context.services.cluster());
}

/** `analyze`: the gates now over the last interval, or over a past window (`from`, `to`). */
export const analyze: CommandHandler = async (context) => {
  const { config, services, clock } = context;
  const live = await selectors(context);
  const selected = { model: live.model, namespace: live.namespace };
  const at = config.window ? config.window.to : clock.now();
  const common = {
    source: services.metrics(),
    gates: config.gates,
    selectors: await withBaselineTrack(services.metrics(), live, at),
    alpha: config.analysis.alpha,
  };
  const result = config.window
    ? await analyzeWindow({ ...common, from: config.window.from, to: config.window.to })
    : await analyzeNow({ ...common, at: clock.now(), window: promDuration(config.intervalMs) });
  // Prometheus not answering is not "not enough data" (inconclusive, exit 4): it fails the run, with the cause.
  if (result.unreachable) throw new PrometheusUnreachableError(result.unreachable);
  if (result.authError) throw new ConfigError([`prometheus-auth: ${result.authError}`]);
  if (result.queryErrors.length > 0) throw new ConfigError(result.queryErrors);
  const report = {
    command: 'analyze',
    ...selected,
    verdict: result.verdict,
    at: result.at,
    window: result.window,
    gates: result.reports,
    steps: [],
  };
  const text = `${selected.namespace}/${selected.model}: ${result.verdict} (window ${result.window} ending ${result.at})\n${renderGatesText(result.reports)}`;
  return resultOf(report, text, context);
};
