import { stringify } from 'yaml';
import { buildPlan } from '../core/plan.js';
import { planReport } from '../core/report.js';
import { renderPlanText } from '../core/render-plan.js';
import { renderGatesText } from '../core/render-gates.js';
import { checkGates, runRollout } from '../engine/deploy.js';
import type { CommandContext, CommandHandler, CommandResult } from './context.js';
import { imageToDeploy } from './image.js';
import { locateTarget, resultOf } from './locate.js';
import { readManifestFiles } from '../adapters/manifest-files.js';
import { parseManifests } from '../core/manifests.js';

async function dryRun(context: CommandContext, image: string): Promise<CommandResult> {
  const { config, cwd } = context;
  const plan = buildPlan({
    objects: parseManifests(await readManifestFiles(config.manifests, cwd)),
    model: config.model,
    namespace: config.namespace,
    container: config.container,
    image,
    router: config.router,
    steps: config.command === 'canary' ? [config.weight] : config.steps,
  });
  return resultOf(
    { ...planReport(plan), command: config.command },
    `dry run: nothing was changed\n${renderPlanText(plan)}`,
    context,
    0,
  );
}

/** `deploy` (every step) and `canary` (one weight, left running): image, preflight, lease, steps, verdict. */
export const deploy: CommandHandler = async (context) => {
  const { config, services, logger, clock } = context;
  const image = await imageToDeploy(context);
  if (config.dryRun) return dryRun(context, image);
  const { target, manifestHash } = await locateTarget(context, image);
  const metrics = services.metrics();
  await checkGates(config, target, { metrics, clock });
  logger.info(
    `rolling out ${image} to ${target.namespace}/${target.model}: steps ${config.steps.join(', ')}%, router ${config.router}`,
  );
  const outcome = await runRollout(
    config,
    target,
    { cluster: services.cluster(), metrics, clock, logger, reporter: services.reporter, onCanary: services.onCanary },
    services.run,
    manifestHash,
  );
  const { report } = outcome;
  const text = [
    `${report.namespace}/${report.model}: ${report.verdict}${report.reason ? ` (${report.reason})` : ''}`,
    `image ${report.image}, revision ${report.revision}`,
    renderGatesText(report.gates),
    stringify(report.steps),
  ].join('\n');
  return resultOf(report, text, context, outcome.exitCode);
};
