// The model's target from the manifests, for every command that touches the cluster.
import { createHash } from 'node:crypto';
import { readManifestFiles } from '../adapters/manifest-files.js';
import { parseManifests } from '../core/manifests.js';
import type { Report } from '../core/ports.js';
import { resolveTarget } from '../core/plan.js';
import type { RolloutTarget } from '../core/target.js';
import { renderSummary } from '../core/render-summary.js';
import type { CommandContext, CommandResult } from './context.js';
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
