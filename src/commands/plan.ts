import { readManifestFiles } from '../adapters/manifest-files.js';
import { parseManifests } from '../core/manifests.js';
import { buildPlan } from '../core/plan.js';
import { planReport } from '../core/report.js';
import { renderPlanMarkdown, renderPlanText } from '../core/render-plan.js';
import { escapeText } from '../core/markdown.js';
import { planGates } from '../core/plan-gates.js';
import { promDuration } from '../core/duration.js';
import type { CommandHandler } from './context.js';

/** The image `plan` shows: the one given, or where `build` would push it. */
function plannedImage(config: Parameters<CommandHandler>[0]['config']): string {
  if (config.image) return config.image;
  return `${config.build.registry}/${config.build.repository}@sha256:<digest of the build>`;
}

export const plan: CommandHandler = async ({ config, cwd, logger }) => {
  const objects = parseManifests(await readManifestFiles(config.manifests, cwd));
  const result = buildPlan({
    objects,
    model: config.model,
    namespace: config.namespace,
    container: config.container,
    image: plannedImage(config),
    router: config.router,
    steps: config.steps,
  });
  for (const warning of result.warnings) logger.warn(warning);
  const { target } = result;
  const traffic = config.analysis.expectedRps
    ? {
        rps: config.analysis.expectedRps,
        weight: config.steps[0] as number,
        intervalSeconds: config.intervalMs / 1000,
        alpha: config.analysis.alpha,
      }
    : undefined;
  const gates = planGates(
    config.gates,
    {
      namespace: target.namespace,
      model: target.model,
      baselineTrack: 'stable',
      window: promDuration(config.intervalMs),
    },
    traffic,
  );
  return {
    report: { ...planReport(result), gatePlans: gates },
    text: renderPlanText(result, gates),
    markdown: renderPlanMarkdown(result, (text) => escapeText(text, 4000), gates),
    exitCode: 0,
  };
};
