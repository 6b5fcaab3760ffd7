import type { RolloutConfig } from '../core/config.js';
import type { Clock, Cluster, Logger, MetricSource, Report, Reporter } from '../core/ports.js';
import type { RunInfo } from '../engine/deploy.js';
import type { ModelSourceBackend } from '../engine/model-fetch.js';

/** What a command is handed: the validated config and the ports it may use. */
export interface CommandContext {
  config: RolloutConfig;
  logger: Logger;
  clock: Clock;
  cwd: string;
  services: Services;
}

/** The adapters a command may use, made on first use so `plan` touches no cluster and no network. */
export interface Services {
  cluster(): Cluster;
  metrics(): MetricSource;
  /** The PR comment, deployments, Grafana: whatever the caller set up (none for the CLI without Grafana). */
  reporter: Reporter;
  run: RunInfo;
  mask(secret: string): void;
  /** The action's main step records a running canary so its post step can restore stable after a cancel. */
  onCanary?(running: boolean, image: string): void;
  /** Where `model-source` models come from (default: the real Azure ML, MLflow, https and OCI resolvers). */
  modelSources?(): ModelSourceBackend;
}

export interface CommandResult {
  report: Report;
  /** For the terminal. */
  text: string;
  /** For the job summary. */
  markdown: string;
  /** ../shared/CONTRACT.md exit codes: 0 ok, 3 rolled back / gate failed, 4 inconclusive. */
  exitCode: number;
}

export type CommandHandler = (context: CommandContext) => Promise<CommandResult>;

export { systemClock } from '../adapters/clock.js';
