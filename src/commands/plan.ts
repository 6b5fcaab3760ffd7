import { resolve } from 'node:path';
import { readManifestFiles } from '../adapters/manifest-files.js';
import { parseManifests } from '../core/manifests.js';
import { buildPlan } from '../core/plan.js';
import { planReport } from '../core/report.js';
import { type PlanTiming, renderPlanMarkdown, renderPlanText } from '../core/render-plan.js';
import type { GateReport } from '../core/ports.js';
import { codeSpan, escapeText } from '../core/markdown.js';
import { listModelFiles } from '../adapters/model-files.js';
import type { RolloutConfig } from '../core/config.js';
import { displayUri } from '../core/model-source.js';
import { resolveBaseImage, servingLayoutWarnings } from '../core/serving-presets.js';
import { planGates } from '../core/plan-gates.js';
import { metricsLine } from '../core/metrics-choice.js';
import { servingWarnings } from '../core/serving-checks.js';
import { gateSelectors } from '../core/track-workloads.js';
import { formatDuration, promDuration } from '../core/duration.js';
import {
  describeDetection,
  describePromotion,
  estimateRollout,
  type RolloutEstimate,
} from '../engine/rollout-estimate.js';
import type { CommandHandler } from './context.js';

interface PlannedBuild {
  builder: 'docker' | 'oci';
  baseImage?: string;
  preset?: string;
  modelSource?: string;
  modelPath?: string;
}

/** The image `plan` shows: the one given, or where `build` would push it. */
function plannedImage(config: Parameters<CommandHandler>[0]['config']): string {
  if (config.image) return config.image;
  return `${config.build.registry}/${config.build.repository}@sha256:<digest of the build>`;
}

/** What `build` would do with the model, when no image is given: the builder, base image, preset and model. */
async function plannedBuild(config: RolloutConfig, cwd: string): Promise<{ build?: PlannedBuild; warnings: string[] }> {
  if (config.image || !config.build.registry) return { warnings: [] };
  const { builder, baseImage, modelPath, modelSource } = config.build;
  const base = baseImage ? resolveBaseImage(baseImage) : undefined;
  const build: PlannedBuild = {
    builder,
    ...(base ? { baseImage: base.image } : {}),
    ...(base?.preset ? { preset: base.preset.name } : {}),
    ...(modelSource ? { modelSource: displayUri(modelSource) } : {}),
    ...(modelPath ? { modelPath } : {}),
  };
  if (builder !== 'oci' || modelSource || !modelPath) return { build, warnings: [] };
  const files = await listModelFiles(resolve(cwd, modelPath));
  if (files === undefined) return { build, warnings: [`model-path ${modelPath} is not a directory: build would fail`] };
  return { build, warnings: servingLayoutWarnings(baseImage, files) };
}

function buildLine(build: PlannedBuild): string {
  const model = build.modelSource
    ? `model ${build.modelSource} (fetched at build)`
    : `model ${build.modelPath ?? 'from the Dockerfile'}`;
  const base = build.baseImage ? ` on ${build.baseImage}${build.preset ? ` (preset ${build.preset})` : ''}` : '';
  return `build: ${build.builder}, ${model}${base}`;
}

/** How the live judge will run: looks, step bounds, and the estimates at the expected traffic. */
function scheduleLines(config: RolloutConfig, estimate: RolloutEstimate | undefined): string[] {
  const { analysis } = config;
  const ends = analysis.advanceOnEvidence
    ? `early on evidence after ${formatDuration(analysis.minStepMs)}, else after ${formatDuration(config.intervalMs)}`
    : `after ${formatDuration(config.intervalMs)} with no decisive failure`;
  const lines = [
    `judge: a look every ${formatDuration(analysis.lookEveryMs)}; each step ends ${ends}, at most ${formatDuration(analysis.maxStepMs)}; ` +
      `alpha ${analysis.alpha} over all looks${analysis.power !== undefined ? `; promotion waits for power ${analysis.power}` : ''}`,
  ];
  if (estimate) lines.push(`expected: ${describePromotion(estimate)}`);
  if (estimate && estimate.notSimulated.length > 0) {
    lines.push(`not estimated (custom or model gates): ${estimate.notSimulated.join(', ')}`);
  }
  return lines;
}

function timingOf(config: RolloutConfig): PlanTiming {
  const { analysis } = config;
  return {
    intervalMs: config.intervalMs,
    lookEveryMs: analysis.lookEveryMs,
    maxStepMs: analysis.maxStepMs,
    ...(analysis.advanceOnEvidence ? { minStepMs: analysis.minStepMs } : {}),
  };
}

/** `show-objects` (CLI `plan` text only): read where the config has it, so `plan` works before it is wired through. */
function showObjects(config: RolloutConfig): boolean {
  return (config as RolloutConfig & { showObjects?: boolean }).showObjects === true;
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
  const planned = await plannedBuild(config, cwd);
  const { target } = result;
  const server = planned.build?.preset ? resolveBaseImage(config.build.baseImage!).preset : undefined;
  result.warnings.push(...planned.warnings, ...config.gateNotes, ...servingWarnings(server, target, config.metrics));
  const rps = config.analysis.expectedRps;
  const estimate = rps === undefined ? undefined : await estimateRollout(config, rps);
  result.warnings.push(...(estimate?.warnings ?? []));
  // Each warning once: logged here (stderr, or a workflow annotation), kept in the report, never in the text again.
  result.warnings = [...new Set(result.warnings)];
  for (const warning of result.warnings) logger.warn(warning);
  const detections = Object.fromEntries((estimate?.gates ?? []).map((gate) => [gate.gate, describeDetection(gate)]));
  const gates = planGates(
    config.gates,
    {
      ...gateSelectors(config.metrics.preset, target),
      baselineTrack: 'stable',
      window: promDuration(config.intervalMs),
    },
    detections,
  );
  const schedule = scheduleLines(config, estimate);
  const line = planned.build ? buildLine(planned.build) : undefined;
  const timing = timingOf(config);
  const notes = [line, ...schedule, metricsLine(config.metrics)].filter((text): text is string => Boolean(text));
  return {
    report: {
      ...planReport(result),
      // The contract's `gates`: for a plan, each gate as it will be judged (threshold, min-requests, PromQL).
      gates: gates as unknown as GateReport[],
      ...(estimate ? { estimate } : {}),
      ...(planned.build ? { build: planned.build } : {}),
    },
    text: renderPlanText(result, { gates, timing, notes, showObjects: showObjects(config) }),
    // Rendered only when read (the action's job summary): every step's objects as YAML, which the CLI never shows.
    get markdown() {
      return [
        line && `- ${codeSpan(line)}\n`,
        schedule.map((text) => `- ${escapeText(text, 1000)}`).join('\n') + '\n',
        renderPlanMarkdown(result, (text) => escapeText(text, 4000), { gates, timing }),
      ]
        .filter(Boolean)
        .join('\n');
    },
    exitCode: 0,
  };
};
