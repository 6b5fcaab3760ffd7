import { stringify } from 'yaml';
import type { KubeObject } from '../core/ports.js';
import { redactUrls } from '../core/url-credentials.js';
import { renderGatesText } from '../core/render-gates.js';
import { keyOf } from '../core/routers/index.js';
import { checkGates, runRollout } from '../engine/deploy.js';
import type { CommandContext, CommandHandler, CommandResult } from './context.js';
import { imageToDeploy } from './image.js';
import { locateTarget, resultOf } from './locate.js';
import { plan } from './plan.js';

/** Whether the model is new to the cluster (no stable yet): then the preflight cannot ask for stable series. */
async function firstRolloutOf(context: CommandContext, stable: KubeObject): Promise<boolean> {
  try {
    return !(await context.services.cluster().get(keyOf(stable)));
  } catch (error) {
    context.logger.warn(
      `dry run: cannot read the cluster (${(error as Error).message}): the preflight checks only that Prometheus answers every gate's queries`,
    );
    return true;
  }
}

/**
 * Everything `plan` shows, for the image that would be deployed, and the Prometheus preflight the real run makes
 * (read-only): a mistyped prometheus-url or gate query fails the dry run as it would fail the deploy. Nothing changes.
 */
async function dryRun(context: CommandContext, image: string): Promise<CommandResult> {
  const { config, services, clock, logger } = context;
  const steps = config.command === 'canary' ? [config.weight] : config.steps;
  const planned = await plan({ ...context, config: { ...config, image, steps } });
  const { target } = await locateTarget(context, image);
  const firstRollout = await firstRolloutOf(context, target.stable);
  await checkGates(
    config,
    target,
    { metrics: services.metrics(), clock, logger, cluster: () => services.cluster() },
    firstRollout,
  );
  const checked = `preflight: Prometheus at ${redactUrls(config.prometheus.url ?? '')} answered every gate's queries`;
  return {
    ...planned,
    report: { ...planned.report, command: config.command },
    text: `dry run: nothing was changed\n${checked}\n${planned.text}`,
  };
}

/** `deploy` (every step) and `canary` (one weight, left running): image, preflight, lease, steps, verdict. */
export const deploy: CommandHandler = async (context) => {
  const { config, services, logger, clock } = context;
  // Said before the first network call (a build, the registry, the cluster), so the log shows at once what runs.
  logger.info(
    `${config.command}${config.dryRun ? ' (dry run)' : ''}: ${config.image ?? 'the image built first'}, manifests ${config.manifests.join(', ')}, router ${config.router}`,
  );
  const { image, modelSource } = await imageToDeploy(context);
  if (config.dryRun) return dryRun(context, image);
  const located = await locateTarget(context, image);
  const { manifestHash } = located;
  const target = modelSource ? { ...located.target, modelSource } : located.target;
  const metrics = services.metrics();
  const firstRollout = !(await services.cluster().get(keyOf(target.stable)));
  await checkGates(config, target, { metrics, clock, logger, cluster: () => services.cluster() }, firstRollout);
  for (const note of config.gateNotes) logger.info(note);
  logger.info(
    `rolling out ${image} to ${target.namespace}/${target.model}: steps ${config.steps.join(', ')}%, router ${config.router}, metrics ${config.metrics.preset} (${config.metrics.chosenBy})`,
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
