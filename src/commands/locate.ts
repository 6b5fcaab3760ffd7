// The model's target from the manifests, for every command that touches the cluster.
import { createHash } from 'node:crypto';
import { readManifestFiles } from '../adapters/manifest-files.js';
import { parseManifests } from '../core/manifests.js';
import type { Report } from '../core/ports.js';
import { resolveTarget } from '../core/plan.js';
import type { RolloutTarget } from '../core/target.js';
import { renderSummary } from '../core/render-summary.js';
import type { CommandContext, CommandResult } from './context.js';
import { ConfigError } from '../core/config.js';
import { rolloutConfigMapName, type RolloutRecord } from '../core/rollout-record.js';
import { readRolloutRecord } from '../engine/rollout-record.js';
import { EXIT } from './exit-codes.js';

export interface Located {
  target: RolloutTarget;
  manifestHash: string;
}

export async function locateTarget({ config, cwd }: CommandContext, image: string): Promise<Located> {
  const sources = await readManifestFiles(config.manifests, cwd);
  const hash = createHash('sha256');
  for (const source of sources) hash.update(source.path).update('\0').update(source.text).update('\0');
  const target = resolveTarget({
    objects: parseManifests(sources),
    model: config.model,
    namespace: config.namespace,
    container: config.container,
    image,
    router: config.router,
  });
  return { target, manifestHash: `sha256:${hash.digest('hex')}` };
}

/**
 * Without manifests: the model's rollout as the cluster recorded it (`model` and `namespace` find it). An error that
 * says what to give when there is no record.
 */
export async function locateRecorded(context: CommandContext): Promise<RolloutRecord> {
  const { config, services } = context;
  if (!config.model) {
    throw new ConfigError([
      `model: required when no manifests are given (${config.command} finds the model's rollout in the cluster by its name)`,
    ]);
  }
  const namespace = config.namespace ?? 'default';
  const record = await readRolloutRecord(services.cluster(), config.model, namespace);
  if (!record) {
    throw new ConfigError([
      `model: no rollout of ${namespace}/${config.model} is recorded in the cluster (ConfigMap ${rolloutConfigMapName(config.model)}): ` +
        'check model and namespace, or give manifests',
    ]);
  }
  return record;
}

const EXIT_FOR: Partial<Record<Report['verdict'], number>> = {
  fail: EXIT.rolledBack,
  'rolled-back': EXIT.rolledBack,
  aborted: EXIT.rolledBack,
  inconclusive: EXIT.inconclusive,
  failed: EXIT.error,
};

/** A report -> what the terminal and the job summary show. */
export function resultOf(report: Report, text: string, context: CommandContext, exitCode?: number): CommandResult {
  return {
    report,
    text,
    markdown: renderSummary(report, { running: false, now: context.clock.now(), runUrl: context.services.run.url }),
    exitCode: exitCode ?? EXIT_FOR[report.verdict] ?? EXIT.ok,
  };
}
