// What a failed rollout puts on the workflow run as annotations (the integrator passes them to core.error /
// core.warning): one for the verdict, one per failed or inconclusive gate. Plain text: annotations are not Markdown.
import type { Report } from './ports.js';
import { verdictTitle } from './report-markdown.js';

export interface RunAnnotation {
  level: 'error' | 'warning';
  title: string;
  message: string;
}

const FAILED: ReadonlySet<string> = new Set(['rolled-back', 'failed', 'aborted', 'fail', 'inconclusive']);

/** What a manual command was asked to do is its success, not a failure: `abort` ends aborted, `rollback` rolled back. */
const ASKED_FOR: Readonly<Record<string, string>> = { abort: 'aborted', rollback: 'rolled-back' };

export function failureAnnotations(report: Report): RunAnnotation[] {
  if (!FAILED.has(report.verdict) || ASKED_FOR[report.command] === report.verdict) return [];
  const model = `${report.namespace}/${report.model}`;
  const verdict = verdictTitle(report, false).replace(/^\S+\s/, '');
  const annotations: RunAnnotation[] = [
    {
      level: 'error',
      title: `model-canary: ${model} ${verdict.toLowerCase()}`,
      message: report.reason ?? `${model}: ${report.verdict}`,
    },
  ];
  for (const gate of report.gates) {
    if (gate.result === 'pass') continue;
    annotations.push({
      level: gate.result === 'fail' ? 'error' : 'warning',
      title: `model-canary: gate ${gate.name} ${gate.result}`,
      message: `${model}: ${gate.reason}`,
    });
  }
  return annotations;
}
