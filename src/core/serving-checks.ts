// What `plan` says when the manifests or the gates do not fit the serving base image: a readiness probe the server
// does not answer, or gates reading metrics the server does not export. Pure.
import { objectId } from './kube.js';
import type { MetricsChoice } from './metrics-choice.js';
import { metricsPreset } from './metric-presets.js';
import type { KubeObject } from './ports.js';
import type { ServingPreset } from './serving-presets.js';
import type { RolloutTarget } from './target.js';

interface Probe {
  httpGet?: { path?: string; port?: number | string };
}
interface Container {
  name?: string;
  readinessProbe?: Probe;
  ports?: { name?: string; containerPort?: number }[];
}

function containersOf(object: KubeObject): Container[] {
  const spec = (object.spec ?? {}) as {
    template?: { spec?: { containers?: Container[] } };
    predictor?: { containers?: Container[] };
  };
  return spec.template?.spec?.containers ?? spec.predictor?.containers ?? [];
}

/** The port a probe names, as a number (a named port looked up in the container's ports). */
function probePort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^[0-9]+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function probeWarnings(preset: ServingPreset, target: RolloutTarget): string[] {
  const containers = containersOf(target.stable);
  const container = containers.find((c) => c.name === target.container) ?? containers[0];
  if (!container) return [];
  const where = `${objectId(target.stable)} container ${container.name ?? target.container}`;
  const expected = `httpGet {path: ${preset.readinessPath}, port: ${preset.ports.http}}`;
  const http = container.readinessProbe?.httpGet;
  if (!container.readinessProbe) {
    return [
      `${where} has no readinessProbe: ${preset.title} (base-image ${preset.name}) takes a while to load the model, ` +
        `and a pod counted ready before that gets traffic it fails; add readinessProbe: ${expected}`,
    ];
  }
  if (!http) return [];
  const port = probePort(container, http.port);
  const problems = [
    http.path !== preset.readinessPath ? `path ${http.path ?? '/'}` : undefined,
    port !== undefined && port !== preset.ports.http ? `port ${http.port}` : undefined,
  ].filter(Boolean);
  if (problems.length === 0) return [];
  return [
    `${where}: its readinessProbe asks ${problems.join(' and ')}, which ${preset.title} (base-image ${preset.name}) ` +
      `does not serve: the pod never turns ready, or turns ready before the model is loaded; use ${expected}`,
  ];
}

function metricsWarnings(preset: ServingPreset, choice: MetricsChoice): string[] {
  const chosen = metricsPreset(choice.preset);
  // Meshes, ingresses and KServe's queue-proxy see the traffic whatever the server is.
  if (chosen.labelling !== 'pod-labels' || chosen.name === preset.metrics) return [];
  const better = preset.metrics
    ? `metrics: ${preset.metrics} reads what it exports`
    : `it exports no request counter by status, so judge it from a mesh or ingress (metrics: istio, linkerd or ` +
      `ingress-nginx) or run it under router kserve`;
  return [
    `the gates read the ${chosen.name} metrics (${choice.chosenBy}), which ${preset.title} (base-image ${preset.name}) ` +
      `does not export: every gate would be inconclusive; ${better}`,
  ];
}

/** Warnings for a rollout whose serving image is a known server. None when the base image is not a preset's. */
export function servingWarnings(
  preset: ServingPreset | undefined,
  target: RolloutTarget,
  choice: MetricsChoice,
): string[] {
  if (!preset) return [];
  return [...probeWarnings(preset, target), ...metricsWarnings(preset, choice)];
}
