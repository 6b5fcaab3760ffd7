import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitHubDeploymentReporter } from '../../src/adapters/github-deployments.js';
import { JobSummaryReporter } from '../../src/adapters/github-summary.js';
import {
  githubOptionsFromContext,
  PullRequestCommentReporter,
  runUrl,
  type CommentOptions,
} from '../../src/adapters/github.js';
import type { Logger, Report } from '../../src/core/ports.js';
import { ACTIONS_BOT_USER, startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { tempDir } from '../support/local.js';

const TOKEN = 'ghs_secretTokenValue123';
const SHA = '9f1c2d3e4b5a69788796a5b4c3d2e1f009182736';
const MARKER = '<!-- model-canary:ml/churn-scorer -->';

// Trimmed from real webhook payloads: only the fields a workflow run sees and model-canary reads are kept.
const pullRequestEvent = {
  action: 'synchronize',
  number: 12,
  pull_request: { number: 12, state: 'open', head: { sha: SHA, ref: 'new-model' }, base: { ref: 'main' } },
  repository: { name: 'r', full_name: 'o/r', owner: { login: 'o' } },
};
const pushEvent = {
  ref: 'refs/heads/new-model',
  before: '0000000000000000000000000000000000000000',
  after: SHA,
  head_commit: { id: SHA, message: 'Retrain churn model @org/team | <b>' },
  repository: { name: 'r', full_name: 'o/r', owner: { login: 'o' } },
};

function recordingLogger(): Logger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { warnings, infos, warn: (m) => warnings.push(m), info: (m) => infos.push(m), debug: () => undefined };
}

function report(overrides: Partial<Report> = {}): Report {
  return {
    command: 'deploy',
    model: 'churn-scorer',
    namespace: 'ml',
    verdict: 'promoted',
    image: 'myacr.azurecr.io/churn@sha256:abc',
    digest: 'sha256:abc',
    revision: 7,
    gates: [
      {
        name: 'error-rate',
        result: 'pass',
        canary: 0.002,
        baseline: 0.003,
        threshold: 'max 0.01',
        samples: 900,
        reason: 'ok',
      },
    ],
    steps: [{ weight: 10, startedAt: '2026-12-01T21:00:00Z' }, { weight: 100 }],
    ...overrides,
  };
}

describe('GitHub adapter against a fake GitHub API', () => {
  let github: FakeGitHub;
  let logger: ReturnType<typeof recordingLogger>;
  const masked: string[] = [];

  beforeEach(async () => {
    github = await startFakeGitHub();
    logger = recordingLogger();
    masked.length = 0;
  });
  afterEach(() => github.close());

  function options(overrides: Partial<CommentOptions> = {}): CommentOptions {
    return {
      token: TOKEN,
      owner: 'o',
      repo: 'r',
      serverUrl: 'https://github.com',
      apiUrl: github.url,
      eventName: 'pull_request',
      eventPayload: pullRequestEvent,
      sha: SHA,
      runId: 4242,
      runAttempt: 1,
      mask: (secret) => masked.push(secret),
      logger,
      minUpdateIntervalMs: 0,
      ...overrides,
    };
  }

  const commentWrites = (): string[] =>
    github.requests.filter((r) => r.method !== 'GET' && r.path.includes('/comments')).map((r) => r.method);

  it('comments on the PR of a pull_request event, with the marker and the token as auth', async () => {
    await new PullRequestCommentReporter(options()).publish(report(), true);
    expect(github.comments).toHaveLength(1);
    expect(github.comments[0]?.issue).toBe(12);
    expect(github.comments[0]?.body.startsWith(MARKER)).toBe(true);
    expect(github.comments[0]?.body).toContain('✅ Promoted');
    expect(github.comments[0]?.body).toContain('https://github.com/o/r/actions/runs/4242');
    expect(github.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
    expect(masked).toEqual([TOKEN]);
    // No commit lookup needed: the event names the PR.
    expect(github.requests.some((r) => r.path.includes('/commits/'))).toBe(false);
  });

  it('finds the PR through the commit for a push event, preferring the open PR whose head is the commit', async () => {
    github.pullsByCommit.set(SHA, [
      { number: 3, state: 'closed', headSha: SHA },
      { number: 8, state: 'open', headSha: 'other' },
      { number: 9, state: 'open', headSha: SHA },
    ]);
    await new PullRequestCommentReporter(options({ eventName: 'push', eventPayload: pushEvent })).publish(
      report(),
      true,
    );
    expect(github.requests.some((r) => r.path === `/repos/o/r/commits/${SHA}/pulls`)).toBe(true);
    expect(github.comments.map((c) => c.issue)).toEqual([9]);
  });

  it('writes no comment when the commit has no PR, and says so once', async () => {
    const reporter = new PullRequestCommentReporter(options({ eventName: 'push', eventPayload: pushEvent }));
    await reporter.publish(report(), false);
    await reporter.publish(report(), true);
    expect(github.comments).toHaveLength(0);
    expect(commentWrites()).toEqual([]);
    expect(logger.infos.filter((m) => m.includes('no pull request'))).toHaveLength(1);
    expect(github.requests.filter((r) => r.path.includes('/commits/'))).toHaveLength(1);
  });

  it('keeps one comment after five publishes, edited in place, ending with the verdict', async () => {
    const reporter = new PullRequestCommentReporter(options());
    for (let step = 0; step < 4; step++) await reporter.publish(report({ verdict: 'promoted' }), false);
    await reporter.publish(report({ verdict: 'rolled-back', reason: 'canary 5.1% > 1%' }), true);
    expect(github.comments).toHaveLength(1);
    expect(commentWrites()).toEqual(['POST', 'PATCH', 'PATCH', 'PATCH', 'PATCH']);
    expect(github.comments[0]?.body).toContain('⏪ Rolled back');
    expect(github.comments[0]?.body).not.toContain('Rolling out');
  });

  it('throttles updates while running but always sends the final one', async () => {
    let clock = 0;
    const reporter = new PullRequestCommentReporter(options({ minUpdateIntervalMs: 5000, now: () => clock }));
    await reporter.publish(report(), false); // sent
    clock = 1000;
    await reporter.publish(report(), false); // too soon
    clock = 2000;
    await reporter.publish(report(), false); // too soon
    clock = 6000;
    await reporter.publish(report(), false); // sent
    clock = 6500;
    await reporter.publish(report(), true); // final: sent
    expect(commentWrites()).toEqual(['POST', 'PATCH', 'PATCH']);
    expect(github.comments[0]?.body).toContain('✅ Promoted');
  });

  it('sends an update held back by the throttle once the interval is over', async () => {
    const reporter = new PullRequestCommentReporter(options({ minUpdateIntervalMs: 150 }));
    await reporter.publish(report({ steps: [{ weight: 10, startedAt: '2026-12-01T21:00:00Z' }] }), false);
    await reporter.publish(report({ steps: [{ weight: 25, startedAt: '2026-12-01T21:00:00Z' }] }), false);
    await reporter.publish(report({ steps: [{ weight: 50, startedAt: '2026-12-01T21:00:00Z' }] }), false);
    expect(commentWrites()).toEqual(['POST']);
    // Wait for the held-back write to happen (a state), then check it was only one.
    for (let waited = 0; commentWrites().length < 2 && waited < 10_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Only the newest of the held-back reports is sent.
    expect(commentWrites()).toEqual(['POST', 'PATCH']);
    expect(github.comments[0]?.body).toContain('canary at **50%**');
  });

  it('writes a new comment when its comment was deleted mid-rollout', async () => {
    const reporter = new PullRequestCommentReporter(options());
    await reporter.publish(report(), false);
    github.comments.length = 0;
    await reporter.publish(report(), true);
    expect(commentWrites()).toEqual(['POST', 'PATCH', 'POST']);
    expect(github.comments).toHaveLength(1);
    expect(github.comments[0]?.body).toContain('✅ Promoted');
    expect(logger.warnings).toEqual([]);
  });

  it('pages through older comments to find its marker, and edits that comment', async () => {
    const reviewer = { login: 'reviewer', id: 7, type: 'User' as const };
    for (let i = 0; i < 250; i++) {
      github.comments.push({ id: i + 1, issue: 12, body: `chatter ${i}`, user: reviewer });
    }
    github.comments[230] = { id: 231, issue: 12, body: `${MARKER}\nold verdict`, user: ACTIONS_BOT_USER };
    // Another model's comment on the same PR is left alone.
    github.comments[5] = {
      id: 6,
      issue: 12,
      body: '<!-- model-canary:ml/other-model -->\nother',
      user: ACTIONS_BOT_USER,
    };
    await new PullRequestCommentReporter(options()).publish(report(), true);
    const pages = github.requests
      .filter((r) => r.method === 'GET' && r.path.endsWith('/comments'))
      .map((r) => r.query.get('page') ?? '1');
    expect(pages).toEqual(['1', '2', '3']);
    expect(commentWrites()).toEqual(['PATCH']);
    expect(github.comments).toHaveLength(250);
    expect(github.comments[230]?.body).toContain('✅ Promoted');
    expect(github.comments[5]?.body).toContain('other');
  });

  it('warns once and never throws when the token may not comment (403), without the token in the warning', async () => {
    github.forbidComments = true;
    const reporter = new PullRequestCommentReporter(options());
    await expect(reporter.publish(report(), false)).resolves.toBeUndefined();
    await expect(reporter.publish(report(), true)).resolves.toBeUndefined();
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain('pull-requests: write');
    expect(logger.warnings[0]).toContain('403');
    expect(logger.warnings.join('\n')).not.toContain(TOKEN);
    // After the 403 nothing more is tried.
    expect(github.requests.filter((r) => r.path.includes('/comments'))).toHaveLength(1);
  });

  it('warns on an unreachable API and does not throw', async () => {
    await github.close();
    const reporter = new PullRequestCommentReporter(options({ apiUrl: 'http://127.0.0.1:9' }));
    await expect(reporter.publish(report(), true)).resolves.toBeUndefined();
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).not.toContain(TOKEN);
    github = await startFakeGitHub(); // for afterEach
  });

  it('creates a deployment with the image payload and statuses in_progress then success', async () => {
    const deployments = new GitHubDeploymentReporter({
      ...options(),
      environment: 'production',
      environmentUrl: 'https://churn.example.com',
    });
    await deployments.publish(report(), false);
    await deployments.publish(report(), false);
    await deployments.publish(report({ verdict: 'promoted' }), true);
    expect(github.deployments).toHaveLength(1);
    const [deployment] = github.deployments;
    expect(deployment?.body).toMatchObject({
      ref: SHA,
      environment: 'production',
      auto_merge: false,
      required_contexts: [],
      payload: { model: 'churn-scorer', namespace: 'ml', digest: 'sha256:abc', revision: 7 },
    });
    expect(deployment?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(deployment?.statuses[0]).toMatchObject({
      log_url: 'https://github.com/o/r/actions/runs/4242',
      environment_url: 'https://churn.example.com',
    });
    expect(deployments.id).toBe(deployment?.id);
  });

  it('marks the deployment failed on a rollback, and only warns without deployments: write', async () => {
    const rolledBack = new GitHubDeploymentReporter({ ...options(), environment: 'staging' });
    await rolledBack.publish(report(), false);
    await rolledBack.publish(report({ verdict: 'rolled-back', reason: 'gate error-rate failed' }), true);
    expect(github.deployments[0]?.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);

    github.forbidDeployments = true;
    const forbidden = new GitHubDeploymentReporter({ ...options(), environment: 'staging' });
    await expect(forbidden.publish(report(), true)).resolves.toBeUndefined();
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain('deployments: write');
    expect(logger.warnings[0]).not.toContain(TOKEN);
  });

  it('appends the final report to the job summary file, once per model', async () => {
    const dir = tempDir('summary');
    try {
      const path = join(dir.path, 'summary.md');
      const summary = new JobSummaryReporter({ path, logger, now: () => Date.parse('2026-12-01T21:05:00Z') });
      await summary.publish(report(), false);
      await summary.publish(report(), true);
      await summary.publish(report({ model: 'fraud' }), true);
      const text = readFileSync(path, 'utf8');
      expect(text).not.toContain('<!--');
      expect(text.match(/^## model-canary/gm)).toHaveLength(2);
      expect(text).toContain('`ml/fraud`');
    } finally {
      dir.remove();
    }
  });

  it('takes its options from the run context, and links the run attempt after the first', () => {
    const fromContext = githubOptionsFromContext(
      {
        eventName: 'push',
        payload: pushEvent,
        sha: SHA,
        runId: 99,
        runAttempt: 2,
        serverUrl: 'https://ghe.example.com',
        apiUrl: 'https://ghe.example.com/api/v3',
        repo: { owner: 'o', repo: 'r' },
      },
      TOKEN,
    );
    expect(fromContext).toMatchObject({ owner: 'o', repo: 'r', eventName: 'push', sha: SHA, token: TOKEN });
    expect(runUrl(fromContext)).toBe('https://ghe.example.com/o/r/actions/runs/99/attempts/2');
  });
});
