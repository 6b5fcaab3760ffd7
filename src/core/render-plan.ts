// A plan -> what a person reads: a schedule table and the objects as YAML, for the terminal and the job summary.
import { stringify } from 'yaml';
import { objectId } from './kube.js';
import type { Plan } from './plan.js';
import type { GatePlan } from './plan-gates.js';
import { codeBlock, table } from './markdown.js';
import { textTable } from './text-table.js';

function scheduleRows(plan: Plan): string[][] {
  const replicas = plan.router === 'replicas';
  const header = ['step', 'canary weight', ...(replicas ? ['stable pods', 'canary pods'] : []), 'objects applied'];
  const rows = plan.steps.map((step, index) => [
    String(index + 1),
    `${step.weight}%`,
    ...(replicas ? [String(step.replicas?.stable ?? ''), String(step.replicas?.canary ?? '')] : []),
    step.objects.map(objectId).join(', '),
  ]);
  return [header, ...rows];
}

function heading(plan: Plan): string {
  const { target } = plan;
  return `Plan for ${target.kind} ${target.namespace}/${target.model}: router ${plan.router}, image ${target.image}`;
}

function stepYaml(plan: Plan, index: number): string {
  const step = plan.steps[index];
  if (!step) return '';
  return step.objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n');
}

function gateLines(gates: GatePlan[]): string[] {
  return gates.flatMap((gate) => [
    `gate ${gate.name} (${gate.threshold})`,
    `  canary:   ${gate.canaryQuery}`,
    ...(gate.baselineQuery ? [`  baseline: ${gate.baselineQuery}`] : []),
    ...(gate.detection ? [`  expected: ${gate.detection}`] : []),
  ]);
}

export function renderPlanText(plan: Plan, gates: GatePlan[] = []): string {
  const parts = [heading(plan), ''];
  for (const warning of plan.warnings) parts.push(`warning: ${warning}`);
  if (plan.warnings.length > 0) parts.push('');
  parts.push(textTable(scheduleRows(plan)), '');
  if (gates.length > 0) parts.push(...gateLines(gates), '');
  plan.steps.forEach((step, index) => {
    parts.push(`# step ${index + 1}: canary at ${step.weight}%`, '---', stepYaml(plan, index));
  });
  return parts.join('\n');
}

/** Markdown for the job summary; `escape` makes text from the manifests safe (names, labels). */
export function renderPlanMarkdown(plan: Plan, escape: (text: string) => string, gates: GatePlan[] = []): string {
  const rows = scheduleRows(plan).map((row) => row.map(escape));
  const parts = [`### model-canary plan`, '', escape(heading(plan)), ''];
  for (const warning of plan.warnings) parts.push(`> ⚠️ ${escape(warning)}`, '');
  const [header = [], ...body] = rows;
  parts.push(table(header, body), '');
  // Queries and objects hold outside text (custom PromQL, labels and annotations from the manifests), shown whole.
  if (gates.length > 0) parts.push(codeBlock(gateLines(gates).join('\n'), Infinity, 'promql'), '');
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
