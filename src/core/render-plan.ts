// A plan -> what a person reads: one compact table per model (steps, pods or weights, time), the gates with their
// thresholds and PromQL once, and the objects as YAML only when asked for. For the terminal and the job summary.
import { stringify } from 'yaml';
import { formatDuration } from './duration.js';
import { objectId } from './kube.js';
import type { Plan } from './plan.js';
import type { GatePlan } from './plan-gates.js';
import { codeBlock, table } from './markdown.js';
import { textTable } from './text-table.js';
import { weights } from './routers/services.js';

/** How long a step lasts, from the config: the live judge's schedule. */
export interface PlanTiming {
  /** `interval`: a step with no decisive failure ends after this. */
  intervalMs: number;
  /** `look-every`. */
  lookEveryMs: number;
  /** `min-step-duration`, when `advance-on-evidence` lets a step end early. */
  minStepMs?: number;
  /** `max-step-duration`. */
  maxStepMs: number;
}

export interface RenderPlanOptions {
  gates?: GatePlan[];
  timing?: PlanTiming;
  /** Lines shown under the heading (build, judge schedule, estimates). */
  notes?: string[];
  /** Every object at every step as YAML (`show-objects`). */
  showObjects?: boolean;
}

function stepTime(timing: PlanTiming): string {
  const interval = formatDuration(timing.intervalMs);
  return timing.minStepMs !== undefined && timing.minStepMs < timing.intervalMs
    ? `${formatDuration(timing.minStepMs)}-${interval}`
    : interval;
}

function scheduleRows(plan: Plan, timing?: PlanTiming): string[][] {
  const replicas = plan.router === 'replicas';
  const header = [
    'step',
    'canary weight',
    ...(replicas ? ['stable pods', 'canary pods'] : ['traffic stable/canary']),
    ...(timing ? ['time'] : []),
  ];
  const rows = plan.steps.map((step, index) => {
    const share = weights(step.weight);
    return [
      String(index + 1),
      `${step.weight}%`,
      ...(replicas
        ? [String(step.replicas?.stable ?? ''), String(step.replicas?.canary ?? '')]
        : [`${share.stable}% / ${share.canary}%`]),
      ...(timing ? [stepTime(timing)] : []),
    ];
  });
  return [header, ...rows];
}

function totalLine(plan: Plan, timing: PlanTiming): string {
  const n = plan.steps.length;
  const least =
    (timing.minStepMs !== undefined ? Math.min(timing.minStepMs, timing.intervalMs) : timing.intervalMs) * n;
  const usual = formatDuration(timing.intervalMs * n);
  const range = least < timing.intervalMs * n ? `${formatDuration(least)} to ${usual}` : `about ${usual}`;
  return (
    `total: ${n} step${n === 1 ? '' : 's'}, ${range} (at most ${formatDuration(timing.maxStepMs * n)}), ` +
    `a look every ${formatDuration(timing.lookEveryMs)}, plus the wait for pods to be ready`
  );
}

function heading(plan: Plan): string {
  const { target } = plan;
  return `Plan for ${target.kind} ${target.namespace}/${target.model}: router ${plan.router}, image ${target.image}`;
}

/** Every object any step applies, once, in order. */
function objectsLine(plan: Plan): string {
  const ids = [...new Set(plan.steps.flatMap((step) => step.objects.map(objectId)))];
  return `applies: ${ids.join(', ')}`;
}

function stepYaml(plan: Plan, index: number): string {
  const step = plan.steps[index];
  if (!step) return '';
  return step.objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n');
}

function gateRows(gates: GatePlan[]): string[][] {
  const estimated = gates.some((gate) => gate.detection);
  return [
    ['gate', 'threshold', 'min-requests', ...(estimated ? ['expected'] : [])],
    ...gates.map((gate) => [
      gate.name,
      gate.threshold,
      String(gate.minRequests),
      ...(estimated ? [gate.detection ?? 'not estimated'] : []),
    ]),
  ];
}

/** The baseline's query when it is not just the canary's with the baseline track: shown too. */
function baselineDiffers(gate: GatePlan): boolean {
  if (!gate.baselineQuery) return false;
  return gate.canaryQuery.replace(/track="canary"/g, 'track="stable"') !== gate.baselineQuery;
}

/** Each gate's PromQL once: the canary's; the baseline's is the same with track="stable" (else shown as well). */
function queryLines(gates: GatePlan[]): string[] {
  const width = Math.max(...gates.map((gate) => gate.name.length));
  const header = gates.some(baselineDiffers)
    ? `PromQL (canary; the baseline's under it):`
    : `PromQL (canary; the baseline's is the same with track="stable"):`;
  return [
    header,
    ...gates.flatMap((gate) => [
      `  ${gate.name.padEnd(width)}  ${gate.canaryQuery}`,
      ...(baselineDiffers(gate) ? [`  ${' '.repeat(width)}  baseline: ${gate.baselineQuery}`] : []),
    ]),
  ];
}

/**
 * The terminal's plan. Warnings are not in it: the command logs each one once (stderr, or a workflow annotation), and
 * the report JSON carries them.
 */
export function renderPlanText(plan: Plan, options: RenderPlanOptions = {}): string {
  const { gates = [], timing, notes = [], showObjects = false } = options;
  const parts = [heading(plan), ...notes, ''];
  parts.push(textTable(scheduleRows(plan, timing)));
  if (timing) parts.push(totalLine(plan, timing));
  parts.push(objectsLine(plan), '');
  if (gates.length > 0) parts.push(textTable(gateRows(gates)), '', ...queryLines(gates), '');
  if (showObjects) {
    plan.steps.forEach((step, index) => {
      parts.push(`# step ${index + 1}: canary at ${step.weight}%`, '---', stepYaml(plan, index));
    });
  } else {
    parts.push('(--show-objects prints every object at every step; --output json has them too)');
  }
  return parts.join('\n').replace(/\n+$/, '');
}

/** Markdown for the job summary; `escape` makes text from the manifests safe (names, labels). */
export function renderPlanMarkdown(
  plan: Plan,
  escape: (text: string) => string,
  options: Omit<RenderPlanOptions, 'showObjects' | 'notes'> | GatePlan[] = {},
): string {
  const { gates = [], timing } = Array.isArray(options) ? { gates: options, timing: undefined } : options;
  const rows = scheduleRows(plan, timing).map((row) => row.map(escape));
  const parts = [`### model-canary plan`, '', escape(heading(plan)), ''];
  for (const warning of plan.warnings) parts.push(`> ⚠️ ${escape(warning)}`, '');
  const [header = [], ...body] = rows;
  parts.push(table(header, body), '');
  if (timing) parts.push(escape(totalLine(plan, timing)), '');
  if (gates.length > 0) {
    const [gateHeader = [], ...gateBody] = gateRows(gates).map((row) => row.map(escape));
    parts.push(table(gateHeader, gateBody), '');
    // Queries and objects hold outside text (custom PromQL, labels and annotations from the manifests), shown whole.
    parts.push(codeBlock(queryLines(gates).join('\n'), Infinity, 'promql'), '');
  }
  plan.steps.forEach((step, index) => {
    parts.push(
      `<details><summary>Step ${index + 1}: objects at ${step.weight}%</summary>`,
      '',
      codeBlock(stepYaml(plan, index).replace(/\n$/, ''), Infinity, 'yaml'),
      '</details>',
      '',
    );
  });
  return parts.join('\n');
}
