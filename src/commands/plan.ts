import { readManifestFiles } from '../adapters/manifest-files.js';
import { parseManifests } from '../core/manifests.js';
import { buildPlan } from '../core/plan.js';
import { planReport } from '../core/report.js';
import { renderPlanMarkdown, renderPlanText } from '../core/render-plan.js';
import { escapeText } from '../core/markdown.js';
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
  return {
    report: planReport(result),
    text: renderPlanText(result),
    markdown: renderPlanMarkdown(result, (text) => escapeText(text, 4000)),
    exitCode: 0,
  };
};
