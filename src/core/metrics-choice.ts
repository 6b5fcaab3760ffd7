// Which metric preset a rollout reads, and which gates it can judge from it. Pure: settings in, choice out.
import { DEFAULT_GATES, type GateSpec } from './gate-config.js';
import { unservedReason } from './gates.js';
import { metricsPreset, type MetricsPresetName } from './metric-presets.js';
import type { RouterName } from './routers/index.js';
import { resolveBaseImage, baseImageProblem } from './serving-presets.js';

export interface MetricsChoice {
  preset: MetricsPresetName;
  /** Why this preset: `metrics input`, `router istio`, `base-image mlserver`, or `default`. */
  chosenBy: string;
}

/** The router's own traffic metrics are the best source where it has them (Flagger does the same). */
const ROUTER_METRICS: Partial<Record<RouterName, MetricsPresetName>> = {
  istio: 'istio',
  nginx: 'ingress-nginx',
  kserve: 'kserve',
};

/** `metrics` as given; else the router's metrics; else the serving base image's; else the app's own. */
export function chooseMetrics(settings: {
  metrics?: MetricsPresetName;
  router?: RouterName;
  baseImage?: string;
}): MetricsChoice {
  if (settings.metrics) return { preset: settings.metrics, chosenBy: 'metrics input' };
  const byRouter = settings.router ? ROUTER_METRICS[settings.router] : undefined;
  if (byRouter) return { preset: byRouter, chosenBy: `router ${settings.router}` };
  const base = settings.baseImage?.trim();
  if (base && !baseImageProblem(base)) {
    const server = resolveBaseImage(base).preset;
    if (server?.metrics) return { preset: server.metrics, chosenBy: `base-image ${server.name}` };
  }
  return { preset: 'app', chosenBy: 'default' };
}

/** Problems with the choice: tracks a router cannot tell apart, gates the preset cannot serve. */
export function metricsProblems(
  choice: MetricsChoice,
  router: RouterName,
  gates: GateSpec[] | undefined,
  /** `analyze` moves no traffic: any preset reads past traffic, whatever the router. */
  rollsOut = true,
): string[] {
  const problems = rollsOut ? routerProblems(choice, router) : [];
  const preset = metricsPreset(choice.preset);
  (gates ?? []).forEach((gate, index) => {
    const reason = unservedReason(gate, preset);
    if (reason) {
      problems.push(
        `gates[${index}].name: '${gate.name}' cannot be judged from the ${preset.name} metrics (${choice.chosenBy}): ` +
          `${reason}`,
      );
    }
  });
  return problems;
}

/** Tracks the router makes that the preset cannot tell apart. */
function routerProblems(choice: MetricsChoice, router: RouterName): string[] {
  const problems: string[] = [];
  if (router === 'kserve' && choice.preset !== 'kserve') {
    problems.push(
      `metrics: '${choice.preset}' cannot tell the canary from the stable under router kserve: KServe runs both as ` +
        `Knative revisions of one InferenceService, without the track label or separate Deployments; use metrics: kserve`,
    );
  }
  if (choice.preset === 'kserve' && router !== 'kserve') {
    problems.push(
      `metrics: 'kserve' tells tracks apart by the InferenceService's Knative revisions, which only router kserve ` +
        `rolls out (router is '${router}'); use router kserve, or the metrics of your server or mesh`,
    );
  }
  if (choice.preset === 'ingress-nginx' && router !== 'nginx') {
    problems.push(
      `metrics: 'ingress-nginx' tells the canary's requests by the canary Ingress, which only router nginx makes ` +
        `(router is '${router}'); use router nginx, or the metrics of your server or mesh`,
    );
  }
  return problems;
}

/**
 * The gates a rollout judges: the ones given (already checked), or the built-in defaults the preset can serve. The
 * notes say which defaults were left out and why, for plan and the log.
 */
export function judgedGates(
  choice: MetricsChoice,
  given: GateSpec[] | undefined,
): { gates: GateSpec[]; notes: string[] } {
  if (given) return { gates: given, notes: [] };
  const preset = metricsPreset(choice.preset);
  const notes: string[] = [];
  const gates = DEFAULT_GATES.filter((gate) => {
    const reason = unservedReason(gate, preset);
    if (reason) notes.push(`default gate ${gate.name} left out: ${reason}`);
    return !reason;
  });
  return { gates, notes };
}

/** One line for plan: the preset, what chose it, and how it tells the tracks apart. */
export function metricsLine(choice: MetricsChoice): string {
  const preset = metricsPreset(choice.preset);
  const baseline =
    preset.name === 'ingress-nginx' || preset.labelling === 'revision'
      ? 'the canary is compared with the stable'
      : 'the canary is compared with the baseline track when one runs, else with the stable';
  return `metrics: ${preset.name}, ${preset.title} (${choice.chosenBy}); tracks told apart by ${preset.tracksText}; ${baseline}`;
}
