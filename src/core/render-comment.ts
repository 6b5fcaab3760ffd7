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

/** Who wrote a comment, as GitHub names a user: `login` and `type` (`User`, `Bot`, `Organization`). */
export interface CommentAuthor {
  login: string;
  type: string;
}

/**
 * Whether a PR comment is the sticky comment `marker` names: written by `self` (whoever the token comments as),
 * with the marker first, as `renderComment` writes it. Anyone can paste a marker into their own comment, and outside
 * text inside ours could once carry another model's, so neither the marker alone nor its presence anywhere counts.
 */
export function isStickyComment(
  comment: { body?: string | null; user?: CommentAuthor | null },
  marker: string,
  self: CommentAuthor,
): boolean {
  return (
    Boolean(comment.body?.startsWith(marker)) && comment.user?.login === self.login && comment.user?.type === self.type
  );
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
