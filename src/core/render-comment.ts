// The sticky PR comment: one per model per PR, found again by its hidden marker and edited in place. Pure.
import { formatTime } from './human.js';
import { codeSpan, hiddenMarker } from './markdown.js';
import type { Report } from './ports.js';
import { reportSections, type RenderContext } from './report-markdown.js';

export type CommentContext = RenderContext;

/** `<!-- model-canary:<namespace>/<model> -->`: how the comment for this model is found among the PR's comments. */
export function commentMarker(namespace: string, model: string): string {
  return hiddenMarker(`model-canary:${namespace}/${model}`);
}

export function renderComment(report: Report, context: CommentContext): string {
  const footer = context.running
    ? `<sub>Updated ${formatTime(context.now)} · this comment is edited in place while the rollout runs.</sub>`
    : `<sub>Finished ${formatTime(context.now)} · model-canary ${codeSpan(report.command)}</sub>`;
  return [
    commentMarker(report.namespace, report.model),
    `### model-canary · ${codeSpan(report.model)}`,
    ...reportSections(report, context),
    footer,
  ].join('\n\n');
}
