// Builds RolloutTargets by hand, shaped as core/plan.ts makes them, for the Kubernetes tests.
import type { KubeObject } from '../../src/core/ports.js';
import type { RolloutTarget } from '../../src/core/target.js';
import type { RouterName } from '../../src/core/routers/index.js';

export const OLD_IMAGE = 'registry.local/models/churn@sha256:' + 'a'.repeat(64);
export const NEW_IMAGE = 'registry.local/models/churn@sha256:' + 'b'.repeat(64);

export interface TargetOptions {
  router?: RouterName;
  model?: string;
  namespace?: string;
  replicas?: number;
  /** The canary's image (name it `bad-pull`, `crash`, `not-ready` for the fake's failure modes). */
  image?: string;
  stableImage?: string;
  requests?: Record<string, string>;
  hpa?: boolean;
}

function deployment(
  name: string,
  model: string,
  namespace: string,
  track: string,
  image: string,
  replicas: number,
  requests?: Record<string, string>,
  canary = false,
): KubeObject {
  const selector = canary ? { app: model, track } : { app: model };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: model } },
    spec: {
      replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { app: model, track } },
        spec: {
          containers: [
            {
              name: 'model',
              image,
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
              ...(requests ? { resources: { requests } } : {}),
            },
          ],
        },
      },
    },
  };
}

export function buildTarget(options: TargetOptions = {}): RolloutTarget {
  const model = options.model ?? 'churn';
  const namespace = options.namespace ?? 'ml';
  const replicas = options.replicas ?? 4;
  const image = options.image ?? NEW_IMAGE;
  const stableImage = options.stableImage ?? OLD_IMAGE;
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: model, namespace, labels: { app: model } },
    spec: { selector: { app: model }, ports: [{ port: 80, targetPort: 8080 }] },
  };
  if (options.router === 'kserve') {
    const isvc: KubeObject = {
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: model, namespace },
      spec: { predictor: { minReplicas: 1, containers: [{ name: 'kserve-container', image: stableImage }] } },
    };
    return {
      model,
      namespace,
      kind: 'InferenceService',
      stable: isvc,
      others: [],
      container: 'kserve-container',
      image,
      replicas: 1,
    };
  }
  const others: KubeObject[] = [];
  if (options.router === 'nginx') {
    others.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: model, namespace, annotations: { 'kubernetes.io/ingress.class': 'nginx' } },
      spec: {
        rules: [
          {
            host: 'churn.example.com',
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: model, port: { number: 80 } } } }],
            },
          },
        ],
      },
    });
  }
  return {
    model,
    namespace,
    kind: 'Deployment',
    stable: deployment(model, model, namespace, 'stable', stableImage, replicas, options.requests),
    canary: deployment(`${model}-canary`, model, namespace, 'canary', image, replicas, options.requests, true),
    service,
    hpa: options.hpa
      ? {
          apiVersion: 'autoscaling/v2',
          kind: 'HorizontalPodAutoscaler',
          metadata: { name: model, namespace },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: model },
            minReplicas: replicas,
            maxReplicas: 20,
          },
        }
      : undefined,
    others,
    container: 'model',
    image,
    replicas,
  };
}

/** The user's objects as they run before model-canary's first rollout (what `kubectl apply` put there). */
export function existingObjects(target: RolloutTarget): KubeObject[] {
  const stable = structuredClone(target.stable);
  const template = (stable.spec as { template: { metadata: { labels: Record<string, string> } } }).template;
  if (target.kind === 'Deployment') delete template.metadata.labels.track;
  return [stable, ...(target.service ? [target.service] : []), ...(target.hpa ? [target.hpa] : []), ...target.others];
}
