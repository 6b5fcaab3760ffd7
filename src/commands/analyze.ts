import { ConfigError } from '../core/config.js';
import { promDuration } from '../core/duration.js';
import { renderGatesText } from '../core/render-gates.js';
import { analyzeNow, analyzeWindow, PrometheusUnreachableError } from '../engine/measure.js';
import type { CommandHandler } from './context.js';
import { locateTarget, resultOf } from './locate.js';

/** The model's name and namespace: from the flags, else from the manifests. */
async function selectors(context: Parameters<CommandHandler>[0]): Promise<{ model: string; namespace: string }> {
  const { config } = context;
  if (config.model && (config.namespace || config.manifests.length === 0)) {
    return { model: config.model, namespace: config.namespace ?? 'default' };
  }
  if (config.manifests.length === 0) throw new ConfigError(["model: required for 'analyze' (or give manifests)"]);
  const { target } = await locateTarget(context, config.image ?? 'unused');
  return { model: target.model, namespace: target.namespace };
}

/** `analyze`: the gates now over the last interval, or over a past window (`from`, `to`). */
export const analyze: CommandHandler = async (context) => {
  const { config, services, clock } = context;
  const selected = await selectors(context);
  const common = {
    source: services.metrics(),
    gates: config.gates,
    selectors: { ...selected, baselineTrack: 'stable' as const },
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
