// The action's adapters: the CLI's plus the PR comment and the GitHub Deployment, from the runner's context.
import { randomBytes } from 'node:crypto';
import * as core from '@actions/core';
import { githubOptionsFromContext, runContextFromEnvironment, runUrl } from './adapters/github-options.js';
import { lazyPort } from './adapters/lazy.js';
import type { Services } from './commands/context.js';
import type { RolloutConfig } from './core/config.js';
import type { Logger, Reporter } from './core/ports.js';
import { createServices } from './wiring.js';

/**
 * The Lease holder id: unique per job, not per run, as two jobs of one run (a matrix, or two jobs on one model) must
 * not pass for one holder. The main step makes it and saves it; the post step of the same job reads it back.
 */
/** The run's context, read once. */
let runContext: ReturnType<typeof runContextFromEnvironment> | undefined;
const context = () => (runContext ??= runContextFromEnvironment());

export function jobHolder(): string {
  const saved = core.getState('holder');
  if (saved) return saved;
  const run = `${process.env.GITHUB_REPOSITORY ?? 'local'}/actions/runs/${context().runId}`;
  const job = `${process.env.GITHUB_JOB ?? 'job'}-${randomBytes(4).toString('hex')}`;
  const holder = `${run}/attempts/${process.env.GITHUB_RUN_ATTEMPT ?? '1'}/jobs/${job}`;
  core.saveState('holder', holder);
  return holder;
}

export function actionServices(
  config: RolloutConfig,
  logger: Logger,
  onCanary?: (running: boolean, image: string) => void,
): Services {
  // Outside a GitHub runner (a local `act`-style run) there is no repository: no comment, no deployment.
  const token = process.env.GITHUB_REPOSITORY ? (config.github.token ?? '') : '';
  const github = githubOptionsFromContext(context(), token, core.setSecret);
  const url = process.env.GITHUB_REPOSITORY ? runUrl(github) : undefined;
  const reporters: Reporter[] = [];
  if (token && config.github.comment) {
    const grafana = config.grafana.url ? { grafana: { url: config.grafana.url } } : {};
    const options = { ...github, logger, render: { ...grafana, environment: config.github.environment } };
    // The GitHub client loads on the first report, not at start-up.
    reporters.push(
      lazyPort<Reporter>(async () => new (await import('./adapters/github.js')).PullRequestCommentReporter(options)),
    );
  }
  if (token && config.github.environment) {
    const options = { ...github, environment: config.github.environment, logger };
    reporters.push(
      lazyPort<Reporter>(
        async () => new (await import('./adapters/github-deployments.js')).GitHubDeploymentReporter(options),
      ),
    );
  }
  const holder = jobHolder();
  const pr = (context().payload as { pull_request?: { number?: number } }).pull_request?.number;
  return createServices(config, {
    logger,
    mask: core.setSecret,
    run: { holder, url, actor: context().actor, ...(pr ? { pr } : {}) },
    reporters,
    onCanary,
  });
}
