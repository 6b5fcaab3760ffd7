// The README's metrics setup, tested: the PodMonitors in workflows-examples/sample-model/prometheus (kube-prometheus-
// stack's and Azure Monitor managed Prometheus's) are turned into the scrape config prometheus-operator generates for
// them (the same code makes the add-on's config), run by a real Prometheus against pods' metrics endpoints, and the
// series must carry the namespace, app and track labels the gates select on.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { LOOPBACK, sleep } from './support/local.js';
import { startScrapingPrometheus, type ScrapingPrometheus } from './support/scraping-prometheus.js';

const DIR = 'workflows-examples/sample-model/prometheus';

interface Relabeling {
  sourceLabels?: string[];
  separator?: string;
  targetLabel?: string;
  regex?: string;
  replacement?: string;
  action?: string;
}
interface PodMonitor {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: {
    selector: { matchLabels: Record<string, string> };
    podTargetLabels?: string[];
    podMetricsEndpoints: { port: string; path?: string; interval?: string; relabelings?: Relabeling[] }[];
    labelLimit?: number;
    labelNameLengthLimit?: number;
    labelValueLengthLimit?: number;
  };
}

const read = (file: string) => parse(readFileSync(`${DIR}/${file}`, 'utf8')) as PodMonitor;
const kubePrometheusStack = read('podmonitor.yaml');
const azureMonitor = read('podmonitor-azure-monitor.yaml');
const mlserver = read('podmonitor-mlserver.yaml');
const kserve = read('podmonitor-kserve.yaml');

const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');

/** A PodMonitor relabeling (camelCase) as a Prometheus relabel_config (snake_case). */
const relabelConfig = (r: Relabeling) =>
  Object.fromEntries(
    Object.entries({
      source_labels: r.sourceLabels,
      separator: r.separator,
      target_label: r.targetLabel,
      regex: r.regex,
      replacement: r.replacement,
      action: r.action?.toLowerCase(),
    }).filter(([, value]) => value !== undefined),
  );

/**
 * The scrape job prometheus-operator writes for a PodMonitor's first endpoint (pkg/prometheus/promcfg.go,
 * generatePodMonitorConfig): keep the selected pods and port, namespace/container/pod labels, podTargetLabels, job
 * and endpoint, then the endpoint's own relabelings. Targets come as static configs carrying the __meta labels
 * Kubernetes service discovery would give them.
 */
function operatorScrapeJob(
  monitor: PodMonitor,
  targets: { address: string; meta: Record<string, string> }[],
  index = 0,
) {
  const endpoint = monitor.spec.podMetricsEndpoints[index]!;
  const selector = Object.entries(monitor.spec.selector.matchLabels).map(([key, value]) => ({
    action: 'keep',
    source_labels: [
      `__meta_kubernetes_pod_label_${sanitize(key)}`,
      `__meta_kubernetes_pod_labelpresent_${sanitize(key)}`,
    ],
    regex: `(${value});true`,
  }));
  return {
    job_name: `podMonitor/${monitor.metadata.namespace}/${monitor.metadata.name}/${index}`,
    scrape_interval: '1s', // the test's pace; the file's interval is for a cluster
    metrics_path: endpoint.path ?? '/metrics',
    static_configs: targets.map((target) => ({ targets: [target.address], labels: target.meta })),
    relabel_configs: [
      ...selector,
      { action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: endpoint.port },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      ...(monitor.spec.podTargetLabels ?? []).map((label) => ({
        source_labels: [`__meta_kubernetes_pod_label_${sanitize(label)}`],
        target_label: sanitize(label),
        regex: '(.+)',
        replacement: '${1}',
      })),
      { target_label: 'job', replacement: `${monitor.metadata.namespace}/${monitor.metadata.name}` },
      { target_label: 'endpoint', replacement: endpoint.port },
      ...(endpoint.relabelings ?? []).map(relabelConfig),
    ],
  };
}

/** What Kubernetes service discovery says of a pod of the sample Deployment. */
const podMeta = (pod: string, labels: Record<string, string>, port = 'http') => ({
  __meta_kubernetes_namespace: 'ml',
  __meta_kubernetes_pod_name: pod,
  __meta_kubernetes_pod_container_name: 'churn-scorer',
  __meta_kubernetes_pod_container_port_name: port,
  ...Object.fromEntries(
    Object.entries(labels).flatMap(([key, value]) => [
      [`__meta_kubernetes_pod_label_${sanitize(key)}`, value],
      [`__meta_kubernetes_pod_labelpresent_${sanitize(key)}`, 'true'],
    ]),
  ),
});

describe('the PodMonitors of the README', () => {
  it('kube-prometheus-stack: monitoring.coreos.com/v1; Azure Monitor: azmonitoring.coreos.com/v1, same spec plus the label limits', () => {
    expect(kubePrometheusStack).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor' });
    expect(azureMonitor).toMatchObject({ apiVersion: 'azmonitoring.coreos.com/v1', kind: 'PodMonitor' });
    const { labelLimit, labelNameLengthLimit, labelValueLengthLimit, ...azureSpec } = azureMonitor.spec;
    expect({ labelLimit, labelNameLengthLimit, labelValueLengthLimit }).toEqual({
      labelLimit: 63,
      labelNameLengthLimit: 511,
      labelValueLengthLimit: 1023,
    });
    expect(azureSpec).toEqual(kubePrometheusStack.spec);
    // The add-on expands $VAR in its configs: a bare $1 in a replacement would be eaten.
    expect(JSON.stringify(azureMonitor.spec)).not.toMatch(/[^$]\$\d/);
    expect(kubePrometheusStack.spec.podTargetLabels).toEqual(['app', 'track']);
  });

  describe.each([
    ['kube-prometheus-stack', kubePrometheusStack],
    ['Azure Monitor managed Prometheus', azureMonitor],
    ['MLServer’s metrics port (podmonitor-mlserver.yaml)', mlserver],
  ])('%s, run by a real Prometheus', (_name, monitor) => {
    const port = monitor.spec.podMetricsEndpoints[0]!.port;
    let prometheus: ScrapingPrometheus;
    const servers: Server[] = [];

    const metricsServer = async (body: string): Promise<string> => {
      const server = createServer((_request, response) => {
        response.setHeader('content-type', 'text/plain; version=0.0.4');
        response.end(body);
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
      return `${LOOPBACK}:${(server.address() as AddressInfo).port}`;
    };
    const requests = (n: number) =>
      `# TYPE http_requests_total counter\nhttp_requests_total{code="200"} ${n}\nhttp_requests_total{code="500"} 1\n`;

    beforeAll(async () => {
      const targets = [
        // The user's own Deployment: its pods have no track label.
        {
          address: await metricsServer(requests(100)),
          meta: podMeta('churn-scorer-7d9f-abcde', { app: 'churn-scorer' }, port),
        },
        // The canary model-canary makes.
        {
          address: await metricsServer(requests(10)),
          meta: podMeta('churn-scorer-canary-5c6b-fghij', { app: 'churn-scorer', track: 'canary' }, port),
        },
        // Another app's pod, and a port of another name: not selected.
        {
          address: await metricsServer(requests(7)),
          meta: podMeta('fraud-1', { app: 'fraud', track: 'canary' }, port),
        },
        {
          address: await metricsServer(requests(8)),
          meta: podMeta('churn-scorer-admin', { app: 'churn-scorer' }, 'admin'),
        },
      ];
      prometheus = await startScrapingPrometheus({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        scrape_configs: [operatorScrapeJob(monitor, targets)],
      });
    }, 30_000);
    afterAll(async () => {
      await prometheus?.stop();
      for (const server of servers) server.close();
    });

    it('series carry namespace, app and track (stable for pods without one), as the gates select them', async () => {
      let series: Array<{ metric: Record<string, string>; value: number }> = [];
      // Until both pods were scraped (a state), with a deadline wide enough for a busy machine.
      for (const deadline = Date.now() + 120_000; series.length < 2 && Date.now() < deadline;) {
        await sleep(200);
        series = await prometheus.query('http_requests_total{code="200"}');
      }
      const labels = series
        .map(({ metric, value }) => [metric.namespace, metric.app, metric.track, metric.pod, value])
        .sort();
      expect(labels).toEqual([
        ['ml', 'churn-scorer', 'canary', 'churn-scorer-canary-5c6b-fghij', 10],
        ['ml', 'churn-scorer', 'stable', 'churn-scorer-7d9f-abcde', 100],
      ]);
      // The selector a gate uses, as {{ selector }} renders it.
      const canary = await prometheus.query(
        'sum(http_requests_total{namespace="ml",app="churn-scorer",track="canary"})',
      );
      expect(canary.map((s) => s.value)).toEqual([11]);
      const stable = await prometheus.query(
        'sum(http_requests_total{namespace="ml",app="churn-scorer",track="stable"})',
      );
      expect(stable.map((s) => s.value)).toEqual([101]);
    }, 30_000);
  });

  describe('KServe (podmonitor-kserve.yaml), run by a real Prometheus', () => {
    let prometheus: ScrapingPrometheus;
    const servers: Server[] = [];
    const serve = async (body: string): Promise<string> => {
      const server = createServer((_request, response) => response.end(body));
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
      return `${LOOPBACK}:${(server.address() as AddressInfo).port}`;
    };
    const revisionPod = (revision: string, port: string) =>
      podMeta(
        `${revision}-deployment-abc`,
        {
          'serving.kserve.io/inferenceservice': 'churn-scorer',
          'serving.knative.dev/revision': revision,
          component: 'predictor',
        },
        port,
      );

    beforeAll(async () => {
      const queueProxy = (revision: string, count: number) =>
        `# TYPE revision_app_request_count counter\nrevision_app_request_count{namespace_name="ml",revision_name="${revision}",response_code="200",response_code_class="2xx"} ${count}\n`;
      const model = (invalid: number) =>
        `# TYPE model_invalid_predictions_total counter\nmodel_invalid_predictions_total ${invalid}\n`;
      const targets = [
        {
          address: await serve(queueProxy('churn-scorer-predictor-00001', 90)),
          meta: revisionPod('churn-scorer-predictor-00001', 'http-usermetric'),
        },
        {
          address: await serve(queueProxy('churn-scorer-predictor-00002', 10)),
          meta: revisionPod('churn-scorer-predictor-00002', 'http-usermetric'),
        },
        { address: await serve(model(3)), meta: revisionPod('churn-scorer-predictor-00001', 'user-port') },
        { address: await serve(model(1)), meta: revisionPod('churn-scorer-predictor-00002', 'user-port') },
      ];
      prometheus = await startScrapingPrometheus({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        scrape_configs: [operatorScrapeJob(kserve, targets, 0), operatorScrapeJob(kserve, targets, 1)],
      });
    }, 30_000);
    afterAll(async () => {
      await prometheus?.stop();
      for (const server of servers) server.close();
    });

    it('queue-proxy series keep revision_name; the model’s own series get the revision label the model gates select on', async () => {
      const until = async (query: string, count: number) => {
        let series: Array<{ metric: Record<string, string>; value: number }> = [];
        for (const deadline = Date.now() + 120_000; series.length < count && Date.now() < deadline;) {
          await sleep(200);
          series = await prometheus.query(query);
        }
        return series;
      };
      const traffic = await until('revision_app_request_count', 2);
      expect(traffic.map((s) => [s.metric.revision_name, s.value]).sort()).toEqual([
        ['churn-scorer-predictor-00001', 90],
        ['churn-scorer-predictor-00002', 10],
      ]);
      await until('model_invalid_predictions_total', 2);
      // The selectors the kserve preset renders for the canary revision.
      const invalid = await prometheus.query(
        'sum(model_invalid_predictions_total{namespace="ml",revision="churn-scorer-predictor-00002"})',
      );
      expect(invalid.map((s) => s.value)).toEqual([1]);
      const requests = await prometheus.query(
        'sum(revision_app_request_count{namespace_name="ml",revision_name="churn-scorer-predictor-00002"})',
      );
      expect(requests.map((s) => s.value)).toEqual([10]);
    }, 150_000);
  });
});
