// Knative's queue-proxy metrics for the fake cluster's InferenceServices: one HTTP /metrics endpoint that speaks for
// the queue-proxy of every predictor revision that takes traffic, as Prometheus would scrape them on port 9091.
//
// The format is the real one: knative/serving pkg/queue/metrics/request_metric.go (views app_request_count, a Count,
// and app_request_latencies, a Distribution in milliseconds with defaultLatencyDistribution), exported through
// OpenCensus's Prometheus exporter with the component prefix "revision": so the counter is
// `revision_app_request_count` with no `_total`, the histogram `revision_app_request_latencies_{bucket,sum,count}`.
// Labels: the revision's resource (namespace_name, service_name, configuration_name, revision_name) and the view's
// tags (pod_name, container_name="queue-proxy", response_code, response_code_class); the histogram carries the same.
// A series appears with its first request, as OpenCensus's do.
//
// Where the traffic goes comes from the InferenceService status only, as a router would route it:
// status.components.predictor.traffic names the revisions and their percent. Each revision's counters grow with
// wall time at (total rate x percent); its error share and latency are chosen by its image (see `behaviourOf`).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './local.js';

/** Knative's defaultLatencyDistribution (milliseconds). */
export const KNATIVE_LATENCY_BUCKETS_MS = [
  5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000, 5000, 10000,
  20000, 50000, 100000,
];

/** How a revision's requests turn out. */
export interface RevisionBehaviour {
  /** Share of requests answered 500. */
  errorRate: number;
  /** Request latencies in milliseconds: [upper bound, share of requests], shares adding up to 1. */
  latencyMs: Array<[number, number]>;
}

/**
 * An image whose reference contains `errors` answers 5% of requests with 500, any other 0.1%. Latency: p50 about
 * 30 ms and p99 about 140 ms; an image with `slow` in it, p50 about 600 ms and p99 about 2 s.
 */
export function defaultBehaviour(image: string): RevisionBehaviour {
  return {
    errorRate: image.includes('errors') ? 0.05 : 0.001,
    latencyMs: image.includes('slow')
      ? [
          [400, 0.2],
          [800, 0.6],
          [2000, 0.2],
        ]
      : [
          [20, 0.25],
          [40, 0.5],
          [60, 0.2],
          [150, 0.05],
        ],
  };
}

/** What the exporter needs from the fake cluster (FakeKube has both). */
export interface RevisionSource {
  objects(apiVersion: string, kind: string, namespace?: string): Array<Record<string, unknown>>;
  controller: { revision(namespace: string, revisionName: string): { images: string[] } | undefined };
}

export interface QueueProxyExporterOptions {
  /** Requests per second reaching each InferenceService, split by its traffic percents. Default 200. */
  rps?: number;
  behaviourOf?: (image: string) => RevisionBehaviour;
  /** How often the counters are advanced (they also advance at every scrape). Default 100 ms. */
  tickMs?: number;
}

export interface QueueProxyExporter {
  url: string;
  /** host:port, for a scrape config. */
  address: string;
  /** Requests counted so far per revision (namespace/revision), for assertions. */
  requests(namespace: string, revisionName: string): { total: number; errors: number };
  stop(): Promise<void>;
}

interface TrafficTarget {
  revisionName?: string;
  percent?: number;
}

interface RevisionCounters {
  namespace: string;
  isvc: string;
  revision: string;
  behaviour: RevisionBehaviour;
  /** Fractional requests so far, by response code; exported as whole requests. */
  ok: number;
  errors: number;
}

const QUEUE_PROXY_LABELS = (c: RevisionCounters) => ({
  namespace_name: c.namespace,
  service_name: `${c.isvc}-predictor`,
  configuration_name: `${c.isvc}-predictor`,
  revision_name: c.revision,
  // One pod per revision: <revision>-deployment-<replicaset hash>-<pod suffix>, as Knative names them.
  pod_name: `${c.revision}-deployment-5d8f7c9b4-q2x7k`,
  container_name: 'queue-proxy',
});

function labelText(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',')}}`;
}

/**
 * The exposition text: per revision and response code, the whole requests so far and their latencies, spread over
 * Knative's buckets by the revision's shares (cumulative per `le`; each share at the middle of its range in `_sum`).
 */
function exposition(counters: RevisionCounters[]): string {
  const lines = [
    '# HELP revision_app_request_count The number of requests that are routed to user-container',
    '# TYPE revision_app_request_count counter',
  ];
  const histogram = [
    '# HELP revision_app_request_latencies The response time in millisecond',
    '# TYPE revision_app_request_latencies histogram',
  ];
  for (const c of counters) {
    for (const [code, value] of [
      ['200', c.ok],
      ['500', c.errors],
    ] as const) {
      const count = Math.floor(value);
      if (count === 0) continue;
      const labels = {
        ...QUEUE_PROXY_LABELS(c),
        response_code: code,
        response_code_class: `${code[0]}xx`,
      };
      lines.push(`revision_app_request_count${labelText(labels)} ${count}`);
      let cumulativeShare = 0;
      let sum = 0;
      let shareIndex = 0;
      const shares = c.behaviour.latencyMs;
      for (const le of KNATIVE_LATENCY_BUCKETS_MS) {
        while (shareIndex < shares.length && shares[shareIndex]![0] <= le) {
          cumulativeShare += shares[shareIndex]![1];
          // Each share's requests take the midpoint of its range (from the bound before it).
          const lower = shareIndex > 0 ? shares[shareIndex - 1]![0] : 0;
          sum += count * shares[shareIndex]![1] * ((lower + shares[shareIndex]![0]) / 2);
          shareIndex++;
        }
        histogram.push(
          `revision_app_request_latencies_bucket${labelText({ ...labels, le: String(le) })} ${Math.round(count * Math.min(1, cumulativeShare))}`,
        );
      }
      histogram.push(`revision_app_request_latencies_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`);
      histogram.push(`revision_app_request_latencies_sum${labelText(labels)} ${sum}`);
      histogram.push(`revision_app_request_latencies_count${labelText(labels)} ${count}`);
    }
  }
  return `${[...lines, ...histogram].join('\n')}\n`;
}

/** Starts the exporter on 127.0.0.1 and a free port. */
export async function startQueueProxyExporter(
  cluster: RevisionSource,
  options: QueueProxyExporterOptions = {},
): Promise<QueueProxyExporter> {
  const rps = options.rps ?? 200;
  const behaviourOf = options.behaviourOf ?? defaultBehaviour;
  const counters = new Map<string, RevisionCounters>();
  let last = Date.now();

  const advance = (): void => {
    const now = Date.now();
    const seconds = (now - last) / 1000;
    last = now;
    if (seconds <= 0) return;
    for (const isvc of cluster.objects('serving.kserve.io/v1beta1', 'InferenceService')) {
      const metadata = isvc.metadata as { name: string; namespace: string };
      const status = (isvc.status ?? {}) as { components?: { predictor?: { traffic?: TrafficTarget[] } } };
      for (const target of status.components?.predictor?.traffic ?? []) {
        if (!target.revisionName || !target.percent) continue;
        const key = `${metadata.namespace}/${target.revisionName}`;
        let c = counters.get(key);
        if (!c) {
          const revision = cluster.controller.revision(metadata.namespace, target.revisionName);
          c = {
            namespace: metadata.namespace,
            isvc: metadata.name,
            revision: target.revisionName,
            behaviour: behaviourOf(revision?.images[0] ?? ''),
            ok: 0,
            errors: 0,
          };
          counters.set(key, c);
        }
        const requests = rps * (target.percent / 100) * seconds;
        c.ok += requests * (1 - c.behaviour.errorRate);
        c.errors += requests * c.behaviour.errorRate;
      }
    }
  };

  const timer = setInterval(advance, options.tickMs ?? 100);
  timer.unref();
  const server: Server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    advance();
    const body = exposition([...counters.values()]);
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${LOOPBACK}:${port}`,
    address: `${LOOPBACK}:${port}`,
    requests: (namespace, revisionName) => {
      advance();
      const c = counters.get(`${namespace}/${revisionName}`);
      return { total: Math.floor(c?.ok ?? 0) + Math.floor(c?.errors ?? 0), errors: Math.floor(c?.errors ?? 0) };
    },
    stop: async () => {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
