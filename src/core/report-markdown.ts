// The pieces a rollout report is shown with: verdict line, gate table, step timeline, image facts, links, and what
// to do after a rollback. The PR comment and the job summary are both assembled from these. Pure.
import { formatElapsed, formatThreshold, formatTime, formatValue, gateUnit, parseTime, formatCount } from './human.js';
import { codeBlock, codeSpan, escapeText, link, table } from './markdown.js';
import type { ModelProvenance } from './model-source.js';
import type { GateReport, GateResult, Report, StepEndReason, StepReport } from './ports.js';
import { redactUrls } from './url-credentials.js';

/** Most rows shown in one table; a report with more says how many were left out (a comment holds 65,536 chars). */
export const MAX_ROWS = 40;

export interface GrafanaLink {
  /** Grafana base URL, e.g. `https://grafana.example.com`. */
  url: string;
  /** UID of the rollout dashboard (default `model-canary`, the dashboard shipped in workflows-examples/grafana). */
  dashboardUid?: string;
  /** The window to show; default: from the first step's start to the last step's end (or now while running). */
  window?: { from: Date; to: Date };
}

export interface RenderContext {
  /** The rollout is still going: the verdict is not final yet. */
  running: boolean;
  /** When the text is rendered (running steps show their elapsed time). */
  now: Date;
  /** Link to the workflow run, e.g. `https://github.com/o/r/actions/runs/123`. */
  runUrl?: string;
  /** The run id, for `gh run rerun`. */
  runId?: string | number;
  /** `owner/repo`, for the `gh` commands. */
  repository?: string;
  commitSha?: string;
  modelVersion?: string;
  environment?: string;
  grafana?: GrafanaLink;
  /** File name of the workflow_dispatch workflow for manual commands (default `manual-rollback.yml`). */
  rollbackWorkflow?: string;
}

const RESULT_ICON: Record<GateResult | 'running' | 'skipped', string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  inconclusive: '❔ inconclusive',
  running: '🔄 running',
  skipped: '⏭️ skipped',
};

/** The step that is live now: the last one started and not ended. */
export function currentStep(report: Report): { step: StepReport; index: number } | undefined {
  for (let index = report.steps.length - 1; index >= 0; index--) {
    const step = report.steps[index];
    if (step && (step.result === 'running' || (step.startedAt && !step.endedAt))) return { step, index };
  }
  return undefined;
}

function hasResult(report: Report, result: GateResult): boolean {
  return report.gates.some((gate) => gate.result === result);
}

/** Emoji and words for the state of the rollout; used by the verdict line and by annotations. */
export function verdictTitle(report: Report, running: boolean): string {
  if (running) return '🔄 Rolling out';
  switch (report.verdict) {
    case 'promoted':
      return '✅ Promoted';
    case 'rolled-back':
      return hasResult(report, 'inconclusive') && !hasResult(report, 'fail')
        ? '❔ Rolled back (inconclusive)'
        : '⏪ Rolled back';
    case 'aborted':
      return '🛑 Aborted';
    case 'failed':
      return '💥 Failed';
    case 'pass':
      return '✅ Gates passed';
    case 'fail':
      return '❌ Gates failed';
    case 'inconclusive':
      return '❔ Inconclusive';
    case 'canary-running':
      return '🐤 Canary running';
    case 'built':
      return '📦 Built';
    case 'planned':
      return '📝 Planned';
  }
}

function modelName(report: Report): string {
  return codeSpan(`${report.namespace}/${report.model}`);
}

/** `**✅ Promoted** `ml/churn` revision 7 — reason`, with the live weight while running. */
export function verdictLine(report: Report, context: RenderContext): string {
  const parts = [`**${verdictTitle(report, context.running)}** ${modelName(report)}`];
  if (report.revision !== undefined) parts.push(`revision ${escapeText(report.revision)}`);
  let line = parts.join(' ');
  const live = context.running ? currentStep(report) : undefined;
  if (live) {
    line += ` — canary at **${escapeText(live.step.weight)}%** (step ${live.index + 1} of ${report.steps.length})`;
  } else if (report.reason) {
    line += ` — ${escapeText(report.reason)}`;
  }
  return line;
}

function gateRow(gate: GateReport): string[] {
  const unit = gateUnit(gate.name);
  return [
    codeSpan(gate.name),
    RESULT_ICON[gate.result] ?? escapeText(gate.result),
    formatValue(gate.canary, unit),
    formatValue(gate.baseline, unit),
    escapeText(formatThreshold(gate.threshold, unit)),
    gate.samples === null || gate.samples === undefined ? '—' : formatCount(gate.samples),
    gate.looks === undefined ? '—' : formatCount(gate.looks),
    gate.power === undefined ? '—' : escapeText(gate.power.toFixed(2)),
    escapeText(gate.reason),
  ];
}

function leftOut(total: number): string {
  return total > MAX_ROWS ? `\n\n_${total - MAX_ROWS} more not shown; the full list is in the \`report\` output._` : '';
}

export function gateTable(gates: GateReport[]): string {
  if (gates.length === 0) return '_No gate has been judged yet._';
  return (
    table(
      ['Gate', 'Result', 'Canary', 'Baseline', 'Threshold', 'Samples', 'Looks', 'Power', 'Reason'],
      gates.slice(0, MAX_ROWS).map(gateRow),
      ['left', 'left', 'right', 'right', 'left', 'right', 'right', 'right', 'left'],
    ) + leftOut(gates.length)
  );
}

function stepRow(step: StepReport, index: number, context: RenderContext): string[] {
  const started = parseTime(step.startedAt);
  const ended = parseTime(step.endedAt);
  const end = ended ?? (context.running && started ? context.now : undefined);
  const result = step.result ?? (started && !ended ? 'running' : undefined);
  return [
    String(index + 1),
    `${escapeText(step.weight)}%`,
    started ? formatTime(started) : '—',
    started && end ? formatElapsed(end.getTime() - started.getTime()) : '—',
    step.looks === undefined ? '—' : formatCount(step.looks),
    result ? (RESULT_ICON[result] ?? escapeText(result)) : '⏳ pending',
    step.endReason ? END_REASON_TEXT[step.endReason] : '—',
  ];
}

/** Why a step ended, as the timeline says it. */
const END_REASON_TEXT: Record<StepEndReason, string> = {
  interval: 'interval passed, no harm seen',
  evidence: 'evidence early',
  power: 'power reached',
  'max-duration': 'max-step-duration, short of evidence',
  failed: 'decisive failure',
  'not-ready': 'canary not ready',
  aborted: 'aborted',
  'promoted-by-hand': 'promoted by hand',
  error: 'error',
};

export function stepTimeline(steps: StepReport[], context: RenderContext): string {
  if (steps.length === 0) return '_No steps._';
  return (
    table(
      ['Step', 'Weight', 'Started', 'Duration', 'Looks', 'Result', 'Ended by'],
      steps.slice(0, MAX_ROWS).map((step, index) => stepRow(step, index, context)),
      ['right', 'right', 'left', 'right', 'right', 'left', 'left'],
    ) + leftOut(steps.length)
  );
}

/** `churn` version `7` from `azureml:churn:7`, sha256 `0123456789ab`: every part external, so every part a code span. */
function modelFact(model: ModelProvenance | undefined): string | undefined {
  if (!model) return undefined;
  const from = model.uri && model.kind !== 'path' ? ` from ${codeSpan(model.uri)}` : '';
  return `${codeSpan(model.name)} version ${codeSpan(model.version)}${from}, sha256 ${codeSpan(model.sha256.slice(0, 12))}`;
}

/** Image, digest, revision, model version, commit and environment as a bullet list. */
export function imageFacts(report: Report, context: RenderContext): string {
  const facts: Array<[string, string | undefined]> = [
    ['Image', report.image && codeSpan(report.image)],
    ['Digest', report.digest && codeSpan(report.digest)],
    ['Revision', report.revision === undefined ? undefined : escapeText(report.revision)],
    ['Model', modelFact(report.modelSource)],
    ['Model version', !report.modelSource && context.modelVersion ? codeSpan(context.modelVersion) : undefined],
    ['Commit', context.commitSha && codeSpan(context.commitSha.slice(0, 12))],
    ['Environment', context.environment && codeSpan(context.environment)],
  ];
  return facts
    .filter((fact): fact is [string, string] => Boolean(fact[1]))
    .map(([label, value]) => `- **${label}:** ${value}`)
    .join('\n');
}

/** The time window the rollout covers, for Grafana: first step start to last step end (now while running). */
export function rolloutWindow(report: Report, context: RenderContext): { from: Date; to: Date } | undefined {
  const starts = report.steps.map((step) => parseTime(step.startedAt)).filter((d): d is Date => d !== undefined);
  const ends = report.steps.map((step) => parseTime(step.endedAt)).filter((d): d is Date => d !== undefined);
  const first = starts[0];
  if (!first) return undefined;
  const last = context.running ? context.now : (ends[ends.length - 1] ?? context.now);
  return { from: first, to: last.getTime() >= first.getTime() ? last : first };
}

/** Grafana dashboard URL for the exact window, with the model and namespace variables set. */
export function grafanaUrl(report: Report, context: RenderContext): string | undefined {
  const grafana = context.grafana;
  if (!grafana) return undefined;
  const window = grafana.window ?? rolloutWindow(report, context);
  const query = new URLSearchParams();
  if (window) {
    query.set('from', String(window.from.getTime()));
    query.set('to', String(window.to.getTime()));
  }
  query.set('var-namespace', report.namespace);
  query.set('var-model', report.model);
  // The link is posted where the whole PR can read it: grafana-url's user:password (or token) is not.
  const base = redactUrls(grafana.url).replace(/\/+$/, '');
  return `${base}/d/${encodeURIComponent(grafana.dashboardUid ?? 'model-canary')}?${query.toString()}`;
}

export function links(report: Report, context: RenderContext): string {
  const items: string[] = [];
  if (context.runUrl) items.push(link('Workflow run', context.runUrl));
  const grafana = grafanaUrl(report, context);
  if (grafana) items.push(link('Grafana (rollout window)', grafana));
  return items.join(' · ');
}

const NEEDS_HELP: ReadonlySet<string> = new Set(['rolled-back', 'failed', 'aborted', 'fail', 'inconclusive']);

/** For a rollback (or a failed or aborted run; the verdict line says why): the commands to retry or go further back. */
export function rollbackHelp(report: Report, context: RenderContext): string | undefined {
  if (context.running || !NEEDS_HELP.has(report.verdict)) return undefined;
  const repo = context.repository ? ` --repo ${shellWord(context.repository)}` : '';
  const commands: string[] = [];
  if (context.runId !== undefined) {
    commands.push('# retry this run (for example after fixing the model or a flaky dependency)');
    commands.push(`gh run rerun ${context.runId}${repo}`);
  }
  commands.push('# roll the model back further, to the revision before the current stable one');
  commands.push(
    `npx model-canary rollback --model ${shellWord(report.model)} --namespace ${shellWord(report.namespace)} --to-revision previous`,
  );
  commands.push('# or the same from GitHub, through the workflow_dispatch workflow');
  commands.push(
    `gh workflow run ${shellWord(context.rollbackWorkflow ?? 'manual-rollback.yml')}${repo} -f command=rollback ` +
      `-f model=${shellWord(report.model)} -f namespace=${shellWord(report.namespace)} -f revision=previous`,
  );
  // Model, namespace and workflow names come from outside: codeBlock keeps them from closing the block or carrying
  // an HTML comment; the commands are short, and a cut one could not be pasted.
  return `**What now:**\n\n${codeBlock(commands.join('\n'), Infinity, 'sh')}`;
}

/** A word safe to paste into a shell: kept bare when plain, else single-quoted. */
export function shellWord(word: string): string {
  const oneLine = word.replace(/[\r\n`]+/g, ' ');
  return /^[A-Za-z0-9._:/@=+-]+$/.test(oneLine) ? oneLine : `'${oneLine.replace(/'/g, `'\\''`)}'`;
}

/** The body shared by the PR comment and the job summary, in reading order. */
export function reportSections(report: Report, context: RenderContext): string[] {
  const facts = imageFacts(report, context);
  const linkLine = links(report, context);
  return [
    verdictLine(report, context),
    '#### Gates',
    gateTable(report.gates),
    '#### Steps',
    stepTimeline(report.steps, context),
    facts,
    linkLine,
    rollbackHelp(report, context),
  ].filter((section): section is string => Boolean(section));
}
