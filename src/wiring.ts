// Adapters for a command, from the validated config. Made lazily: a command pays only for what it uses.
import { hostname } from 'node:os';
import type { PrometheusAuth } from './adapters/prometheus.js';
import { lazyPort } from './adapters/lazy.js';
import { actionsExec, commandRunner } from './adapters/registry/exec.js';
import type { Services } from './commands/context.js';
import type { RolloutConfig } from './core/config.js';
import { ConfigError } from './core/config.js';
import type { Cluster, Logger, MetricSource, Reporter } from './core/ports.js';
import type { RunInfo } from './engine/deploy.js';
import { fanOutReporters } from './engine/report-fan-out.js';
import { readOnlyCluster } from './adapters/read-only.js';

function prometheusAuth(config: RolloutConfig): PrometheusAuth {
  const { auth, token } = config.prometheus;
  switch (auth) {
    case 'bearer':
      return { type: 'bearer', token: token ?? '' };
    case 'basic': {
      const at = (token ?? '').indexOf(':');
      if (at < 0) throw new ConfigError(['prometheus-token: basic auth takes user:password (got (secret))']);
      return { type: 'basic', username: (token as string).slice(0, at), password: (token as string).slice(at + 1) };
    }
    case 'azure':
      return { type: 'azure', token, runCommand: commandRunner(actionsExec({}, false)) };
    default:
      return { type: 'none' };
  }
}

function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

export function localRunInfo(): RunInfo {
  return { holder: `local/${hostname()}/${process.pid}` };
}

export interface ServiceOptions {
  logger: Logger;
  mask: (secret: string) => void;
  run: RunInfo;
  reporters?: Reporter[];
  onCanary?: (running: boolean, image: string) => void;
}

export function createServices(config: RolloutConfig, options: ServiceOptions): Services {
  // A dry run writes nothing anywhere: no comment, deployment or annotation, and the cluster refuses writes.
  const reporters = config.dryRun ? [] : [...(options.reporters ?? [])];
  if (config.grafana.url && config.grafana.token && !config.dryRun) {
    const grafana = {
      url: config.grafana.url,
      token: config.grafana.token,
      logger: options.logger,
      mask: options.mask,
    };
    reporters.push(
      lazyPort<Reporter>(async () => new (await import('./adapters/grafana.js')).GrafanaAnnotator(grafana)),
    );
  }
  const cluster = once<Cluster>(() => {
    const live = lazyPort<Cluster>(async () => {
      const { KubeCluster } = await import('./adapters/kubernetes/cluster.js');
      return KubeCluster.fromOptions({ kubeconfigPath: config.kubeconfig, logger: options.logger });
    });
    return config.dryRun ? readOnlyCluster(live) : live;
  });
  const metrics = once<MetricSource>(() => {
    if (!config.prometheus.url) throw new ConfigError([`prometheus-url: required for '${config.command}'`]);
    const settings = { url: config.prometheus.url, auth: prometheusAuth(config), mask: options.mask };
    return lazyPort<MetricSource>(
      async () => new (await import('./adapters/prometheus.js')).PrometheusClient(settings),
    );
  });
  return {
    cluster,
    metrics,
    reporter: fanOutReporters(reporters, options.logger),
    run: options.run,
    mask: options.mask,
    onCanary: options.onCanary,
  };
}
