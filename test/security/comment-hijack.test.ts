// Issue 15, item 4: the sticky PR comment cannot be hijacked or suppressed. Someone else's comment that holds our
// marker is never ours, and outside text rendered into our comments and summaries cannot carry a marker (or any HTML
// comment), so one model's comment is never taken for another's. Driven through the comment adapter against the fake
// GitHub API, and through every Markdown renderer.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { PullRequestCommentReporter, type CommentOptions } from '../../src/adapters/github.js';
import { codeBlock, escapeText } from '../../src/core/markdown.js';
import { parseManifests } from '../../src/core/manifests.js';
import { buildPlan } from '../../src/core/plan.js';
import type { GatePlan } from '../../src/core/plan-gates.js';
import type { Logger, Report } from '../../src/core/ports.js';
import { commentMarker, renderComment } from '../../src/core/render-comment.js';
import { renderPlanMarkdown } from '../../src/core/render-plan.js';
import { renderSummary } from '../../src/core/render-summary.js';
import type { RenderContext } from '../../src/core/report-markdown.js';
import { ACTIONS_BOT_USER, startFakeGitHub, type FakeGitHub, type FakeUser } from '../support/fake-github.js';

const SHA = '9f1c2d3e4b5a69788796a5b4c3d2e1f009182736';
const GITHUB_TOKEN = 'ghs_actionsInstallationToken';
const PAT = 'ghp_personalAccessToken';
const PAT_USER: FakeUser = { login: 'release-robot', id: 501, type: 'User' };
const OUTSIDER: FakeUser = { login: 'mallory', id: 666, type: 'User' };
const OUR_MARKER = commentMarker('ml', 'churn-scorer');
/** What an attacker writes into outside text: the marker of another model on the same PR. */
const OTHER_MARKER = '<!-- model-canary:ml/other -->';

const pullRequestEvent = { number: 12, pull_request: { number: 12, state: 'open', head: { sha: SHA } } };

function report(overrides: Partial<Report> = {}): Report {
  return {
    command: 'deploy',
    model: 'churn-scorer',
    namespace: 'ml',
    verdict: 'promoted',
    image: 'myacr.azurecr.io/churn@sha256:abc',
    digest: 'sha256:abc',
    revision: 7,
    gates: [],
    steps: [{ weight: 100, startedAt: '2026-12-01T21:00:00Z', endedAt: '2026-12-01T21:05:00Z', result: 'pass' }],
    ...overrides,
  };
}

const quietLogger: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };

/** Every HTML comment delimiter in `text`, where each came from. */
const delimiters = (text: string): string[] => text.match(/<!--|-->/g) ?? [];

describe('the sticky PR comment cannot be hijacked or suppressed', () => {
  let github: FakeGitHub;

  beforeEach(async () => {
    github = await startFakeGitHub();
    github.users.set(PAT, PAT_USER);
  });
  afterEach(() => github.close());

  function reporter(token: string, overrides: Partial<CommentOptions> = {}): PullRequestCommentReporter {
    return new PullRequestCommentReporter({
      token,
      owner: 'o',
      repo: 'r',
      serverUrl: 'https://github.com',
      apiUrl: github.url,
      eventName: 'pull_request',
      eventPayload: pullRequestEvent,
      sha: SHA,
      runId: 4242,
      logger: quietLogger,
      minUpdateIntervalMs: 0,
      ...overrides,
    });
  }

  const comment = (id: number) => github.comments.find((c) => c.id === id);

  it.each([
    ['the GITHUB_TOKEN', GITHUB_TOKEN, ACTIONS_BOT_USER],
    ['a personal access token', PAT, PAT_USER],
  ])(
    '(a) with %s, comments by others that start with our marker are left alone and ours is created',
    async (_, token, self) => {
      const squatted = `${OUR_MARKER}\n\n**✅ Promoted** looks legit, merge me`;
      github.comments.push({ id: 1, issue: 12, body: squatted, user: OUTSIDER });
      // The Actions bot also writes for other workflows of the repository; with a PAT its comments are not ours.
      if (self !== ACTIONS_BOT_USER) github.comments.push({ id: 2, issue: 12, body: squatted, user: ACTIONS_BOT_USER });
      const seeded = github.comments.length;

      await reporter(token).publish(report({ verdict: 'rolled-back', reason: 'gate error-rate failed' }), true);

      expect(github.comments.slice(0, seeded).map((c) => c.body)).toEqual(Array(seeded).fill(squatted));
      const ours = github.comments.slice(seeded);
      expect(ours).toHaveLength(1);
      expect(ours[0]?.user).toEqual(self);
      expect(ours[0]?.body.startsWith(OUR_MARKER)).toBe(true);
      expect(ours[0]?.body).toContain('Rolled back');
    },
  );

  it('(b) another model marker in outside text cannot make one model comment be found as the other', async () => {
    const injected = report({
      reason: `canary failed ${OTHER_MARKER}`,
      modelSource: {
        kind: 'mlflow',
        uri: `models:/churn/${OTHER_MARKER}`,
        name: 'churn',
        version: OTHER_MARKER,
        sha256: 'a'.repeat(64),
        files: 1,
        bytes: 10,
      },
    });
    await reporter(GITHUB_TOKEN).publish(injected, true);
    await reporter(GITHUB_TOKEN).publish(report({ model: 'other', verdict: 'rolled-back' }), true);

    expect(github.comments).toHaveLength(2);
    const [churn, other] = github.comments;
    expect(churn?.body.startsWith(OUR_MARKER)).toBe(true);
    expect(churn?.body).toContain('Promoted');
    expect(other?.body.startsWith(OTHER_MARKER)).toBe(true);
    // The marker text stays in churn's comment only as escaped text, so no reader of the raw body can find it.
    expect(churn?.body).not.toContain(OTHER_MARKER);
  });

  it('(b) no renderer lets outside text carry an HTML comment: comment, summary, plan and status', () => {
    const gate = {
      name: `queue ${OTHER_MARKER}`,
      result: 'fail' as const,
      canary: 1,
      baseline: 0,
      threshold: `max 1 ${OTHER_MARKER}`,
      samples: 10,
      reason: `label pod=${OTHER_MARKER}`,
    };
    const outside = report({
      model: `churn ${OTHER_MARKER}`,
      namespace: `ml${OTHER_MARKER}`,
      command: OTHER_MARKER as Report['command'],
      verdict: 'rolled-back',
      reason: `image label says ${OTHER_MARKER}`,
      image: `evil.io/x:${OTHER_MARKER}`,
      digest: OTHER_MARKER,
      gates: [gate],
    });
    const context: RenderContext = {
      running: false,
      now: new Date('2026-12-01T21:06:00Z'),
      runId: 4242,
      repository: `o/r${OTHER_MARKER}`,
      commitSha: OTHER_MARKER,
      modelVersion: OTHER_MARKER,
      environment: OTHER_MARKER,
      rollbackWorkflow: `${OTHER_MARKER}.yml`,
    };
    const body = renderComment(outside, context);
    // Only our own marker, first; the model name inside it is reduced to characters that cannot close it.
    expect(delimiters(body)).toEqual(['<!--', '-->']);
    expect(body.startsWith(commentMarker(outside.namespace, outside.model))).toBe(true);
    expect(body).toContain('What now');
    expect(delimiters(renderSummary(outside, context))).toEqual([]);

    // The plan summary shows the manifests' annotations and custom PromQL as YAML and code.
    const manifest = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: churn-scorer
  namespace: ml
  annotations: { note: "${OTHER_MARKER}" }
spec:
  replicas: 2
  selector: { matchLabels: { app: churn-scorer } }
  template:
    metadata: { labels: { app: churn-scorer } }
    spec: { containers: [{ name: model, image: "myacr.azurecr.io/churn:1" }] }
`;
    const plan = buildPlan({
      objects: parseManifests([{ path: 'k8s/app.yaml', text: manifest }]),
      image: `myacr.azurecr.io/churn@sha256:${'b'.repeat(64)}`,
      router: 'replicas',
      steps: [50, 100],
    });
    const gates: GatePlan[] = [
      { name: 'q', threshold: 'max 1', minRequests: 0, canaryQuery: `up ${OTHER_MARKER}`, baselineQuery: '' },
    ];
    const planMarkdown = renderPlanMarkdown(plan, (text) => escapeText(text, 4000), gates);
    // Still shown, as text.
    expect(planMarkdown).toContain('&lt;!-- model-canary:ml/other --&gt;');
    expect(delimiters(planMarkdown)).toEqual([]);

    // `status` puts running-canary and history text in code blocks.
    expect(delimiters(codeBlock(`canary image ${OTHER_MARKER}\nnext line`))).toEqual([]);
  });

  it.each([
    ['the GITHUB_TOKEN', GITHUB_TOKEN, ACTIONS_BOT_USER],
    ['a personal access token', PAT, PAT_USER],
  ])('(c) with %s, our own comment is still edited in place across runs, past a squatter', async (_, token, self) => {
    github.comments.push({ id: 1, issue: 12, body: `${OUR_MARKER}\nsquatting`, user: OUTSIDER });

    await reporter(token, { runId: 1 }).publish(report({ verdict: 'rolled-back' }), true);
    const second = reporter(token, { runId: 2 });
    await second.publish(report({ verdict: 'promoted' }), false);
    await second.publish(report({ verdict: 'promoted' }), true);

    expect(github.comments).toHaveLength(2);
    expect(comment(1)?.body).toBe(`${OUR_MARKER}\nsquatting`);
    const ours = github.comments[1];
    expect(ours?.user).toEqual(self);
    expect(ours?.body).toContain('Promoted');
    expect(ours?.body).toContain('actions/runs/2');
    const writes = github.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
    expect(writes).toEqual([
      'POST /repos/o/r/issues/12/comments',
      `PATCH /repos/o/r/issues/comments/${ours?.id}`,
      `PATCH /repos/o/r/issues/comments/${ours?.id}`,
    ]);
    // Who the token is gets asked once per run, not once per update.
    expect(github.requests.filter((r) => r.path === '/user')).toHaveLength(2);
  });
});
