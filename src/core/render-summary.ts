// The job summary: the same report as the PR comment, without the marker, headed for a page that may hold several
// models (a matrix job writes one section each). Pure.
import { codeSpan } from './markdown.js';
import type { Report } from './ports.js';
import { reportSections, type RenderContext } from './report-markdown.js';

export type SummaryContext = RenderContext;

export function renderSummary(report: Report, context: SummaryContext): string {
  return (
    [
      `## model-canary ${codeSpan(report.command)} · ${codeSpan(`${report.namespace}/${report.model}`)}`,
      ...reportSections(report, context),
    ].join('\n\n') + '\n'
  );
}
