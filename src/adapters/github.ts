// The PR verdict: finds the pull request of the run, and keeps one comment per model on it, found by the hidden
// marker it starts with and by its author (whoever the token comments as), and edited in place while the rollout
// runs. Best-effort: a missing permission is one warning, never a failed deploy.
import { getOctokit } from '@actions/github';
import type { Logger, Report, Reporter } from '../core/ports.js';
import { commentMarker, isStickyComment, renderComment, type CommentAuthor } from '../core/render-comment.js';
import type { RenderContext } from '../core/report-markdown.js';
import { runUrl, type GitHubOptions } from './github-options.js';

export { githubOptionsFromContext, runUrl, type GitHubOptions, type RunContext } from './github-options.js';

export type Octokit = ReturnType<typeof getOctokit>;

export interface CommentOptions extends GitHubOptions {
  logger: Logger;
  /** Milliseconds since the epoch; injected so throttling is testable. */
  now?: () => number;
  /** Least time between two updates while running (default 5 s); the final update is always sent. */
  minUpdateIntervalMs?: number;
  /** What the comment shows besides the report: Grafana, environment, model version, rollback workflow. */
  render?: Pick<RenderContext, 'grafana' | 'environment' | 'modelVersion' | 'rollbackWorkflow'>;
}

export function createOctokit(options: GitHubOptions): Octokit {
  options.mask?.(options.token);
  return getOctokit(options.token, { baseUrl: options.apiUrl.replace(/\/+$/, '') });
}

/** The render context for this run: links, commit, repository; `running` and `now` are per publish. */
export function runRenderContext(options: CommentOptions, running: boolean, now: Date): RenderContext {
  return {
    ...options.render,
    running,
    now,
    runUrl: runUrl(options),
    runId: options.runId,
    repository: `${options.owner}/${options.repo}`,
    commitSha: options.sha,
  };
}

function pullNumberFromPayload(payload: Record<string, unknown>): number | undefined {
  const pr = payload.pull_request as { number?: unknown } | undefined;
  const number = pr?.number ?? payload.number;
  return typeof number === 'number' ? number : undefined;
}

/**
 * The PR this run reports on: from the event for `pull_request`/`pull_request_target`; otherwise the open PR that
 * holds the commit (`GET /repos/{owner}/{repo}/commits/{sha}/pulls`), preferring one whose head is the commit.
 */
export async function findPullRequest(octokit: Octokit, options: GitHubOptions): Promise<number | undefined> {
  if (options.eventName === 'pull_request' || options.eventName === 'pull_request_target') {
    return pullNumberFromPayload(options.eventPayload);
  }
  const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({
    owner: options.owner,
    repo: options.repo,
    commit_sha: options.sha,
  });
  const open = data.filter((pr) => pr.state === 'open');
  const pick = open.find((pr) => pr.head.sha === options.sha) ?? open[0] ?? data[0];
  return pick?.number;
}

/** Who the `GITHUB_TOKEN` of Actions comments as. */
export const ACTIONS_BOT: CommentAuthor = { login: 'github-actions[bot]', type: 'Bot' };

/**
 * Who the token writes comments as: its own user (`GET /user`, for a personal access token), or, for the
 * `GITHUB_TOKEN` of Actions, which `GET /user` answers with 403 "Resource not accessible by integration",
 * `github-actions[bot]`. Any other failure is thrown: guessing the author could match someone else's comment.
 */
export async function tokenAuthor(octokit: Octokit): Promise<CommentAuthor> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return { login: data.login, type: data.type };
  } catch (error) {
    if (httpStatus(error) === 403) return ACTIONS_BOT;
    throw error;
  }
}

/**
 * The id of this model's sticky comment on the PR, looking through every page of comments: the first that starts
 * with `marker` and was written by `author`. A comment by anyone else is never ours, whatever it holds.
 */
export async function findMarkedComment(
  octokit: Octokit,
  options: GitHubOptions,
  issueNumber: number,
  marker: string,
  author: CommentAuthor,
): Promise<number | undefined> {
  const iterator = octokit.paginate.iterator(octokit.rest.issues.listComments, {
    owner: options.owner,
    repo: options.repo,
    issue_number: issueNumber,
    per_page: 100,
  });
  for await (const page of iterator) {
    const found = page.data.find((comment) => isStickyComment(comment, marker, author));
    if (found) return found.id;
  }
  return undefined;
}

function httpStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** An error's message without the token, whatever the library put into it. */
export function safeMessage(error: unknown, token: string): string {
  const message = error instanceof Error ? error.message : String(error);
  return token ? message.split(token).join('***') : message;
}

/** Whether an error is GitHub saying the token may not do this (no `pull-requests: write`, or a fork's token). */
export function isPermissionError(error: unknown): boolean {
  const status = httpStatus(error);
  return status === 403 || status === 404 || status === 401;
}

/** The sticky PR comment as a `Reporter`: created on the first publish, then edited in place. Never throws. */
export class PullRequestCommentReporter implements Reporter {
  private readonly octokit: Octokit;
  private readonly now: () => number;
  private pullNumber: number | undefined | null = null;
  private commentId: number | undefined;
  /** Who the token comments as, asked once per run (the token does not change within one). */
  private author: CommentAuthor | undefined;
  private lastSentAt = -Infinity;
  private disabled = false;
  private queue: Promise<void> = Promise.resolve();
  /** The newest report held back by the throttle, sent when the interval is over (unless a newer one came). */
  private heldBack: Report | undefined;
  private heldBackTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly options: CommentOptions,
    octokit?: Octokit,
  ) {
    this.octokit = octokit ?? createOctokit(options);
    this.now = options.now ?? Date.now;
  }

  publish(report: Report, final: boolean): Promise<void> {
    return this.enqueue(report, final, false);
  }

  private enqueue(report: Report, final: boolean, trailing: boolean): Promise<void> {
    // One at a time, so two quick publishes cannot both create a comment.
    const next = this.queue.then(() => this.send(report, final, trailing));
    this.queue = next;
    return next;
  }

  private async send(report: Report, final: boolean, trailing: boolean): Promise<void> {
    if (this.disabled) return;
    const at = this.now();
    const wait = (this.options.minUpdateIntervalMs ?? 5000) - (at - this.lastSentAt);
    if (!final && !trailing && wait > 0) {
      this.holdBack(report, wait);
      return;
    }
    this.cancelHeldBack();
    try {
      const pullNumber = await this.pull();
      if (pullNumber === undefined) return;
      const body = renderComment(report, runRenderContext(this.options, !final, new Date(at)));
      await this.upsert(pullNumber, commentMarker(report.namespace, report.model), body);
      this.lastSentAt = at;
    } catch (error) {
      this.fail(error);
    }
  }

  /** Too soon after the last update: send the newest report once the interval is over, so none stays stale. */
  private holdBack(report: Report, waitMs: number): void {
    this.heldBack = report;
    if (this.heldBackTimer) return;
    this.heldBackTimer = setTimeout(() => {
      this.heldBackTimer = undefined;
      const held = this.heldBack;
      this.heldBack = undefined;
      if (held) void this.enqueue(held, false, true);
    }, waitMs);
    // A held-back update never keeps the process alive; the final update is always sent anyway.
    this.heldBackTimer.unref?.();
  }

  private cancelHeldBack(): void {
    if (this.heldBackTimer) clearTimeout(this.heldBackTimer);
    this.heldBackTimer = undefined;
    this.heldBack = undefined;
  }

  private async pull(): Promise<number | undefined> {
    if (this.pullNumber === null) {
      this.pullNumber = await findPullRequest(this.octokit, this.options);
      if (this.pullNumber === undefined) {
        this.options.logger.info(
          `model-canary: no pull request for commit ${this.options.sha.slice(0, 12)}; the verdict is in the job summary only`,
        );
      }
    }
    return this.pullNumber;
  }

  private async upsert(issueNumber: number, marker: string, body: string): Promise<void> {
    const { owner, repo } = this.options;
    if (this.commentId === undefined) {
      this.author ??= await tokenAuthor(this.octokit);
      this.commentId = await findMarkedComment(this.octokit, this.options, issueNumber, marker, this.author);
    }
    if (this.commentId !== undefined) {
      try {
        await this.octokit.rest.issues.updateComment({ owner, repo, comment_id: this.commentId, body });
        return;
      } catch (error) {
        // Someone deleted the comment mid-rollout: write a new one rather than going silent.
        if (httpStatus(error) !== 404) throw error;
      }
    }
    const { data } = await this.octokit.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body });
    this.commentId = data.id;
  }

  private fail(error: unknown): void {
    const where = `${this.options.owner}/${this.options.repo}`;
    if (isPermissionError(error)) {
      this.disabled = true;
      this.options.logger.warn(
        `model-canary: cannot comment on the pull request in ${where} (HTTP ${httpStatus(error)}: ` +
          `${safeMessage(error, this.options.token)}). Give the job 'permissions: pull-requests: write' ` +
          `(and 'contents: read'), or set 'comment: false'. The deploy goes on; the verdict is in the job summary.`,
      );
      return;
    }
    this.options.logger.warn(
      `model-canary: updating the PR comment in ${where} failed: ${safeMessage(error, this.options.token)}; ` +
        'the next update tries again',
    );
  }
}
