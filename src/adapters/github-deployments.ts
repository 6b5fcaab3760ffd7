// A GitHub Deployment for the environment: created when the rollout starts, `in_progress` while it runs, then
// `success` (promoted) or `failure` (anything else). Best-effort like the PR comment: a missing
// `deployments: write` is one warning.
import type { Logger, Report, Reporter } from '../core/ports.js';
import { createOctokit, isPermissionError, runUrl, safeMessage, type GitHubOptions, type Octokit } from './github.js';

export interface DeploymentOptions extends GitHubOptions {
  environment: string;
  /** Where the model is served, shown on the deployment (optional). */
  environmentUrl?: string;
  /** The git ref the deployment is for (default: the commit `sha`). */
  ref?: string;
  logger: Logger;
}

export type DeploymentState = 'in_progress' | 'success' | 'failure';

export function deploymentState(report: Report, final: boolean): DeploymentState {
  if (!final) return 'in_progress';
  return report.verdict === 'promoted' ? 'success' : 'failure';
}

export class GitHubDeploymentReporter implements Reporter {
  private readonly octokit: Octokit;
  private deploymentId: number | undefined;
  private lastState: DeploymentState | undefined;
  private disabled = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: DeploymentOptions,
    octokit?: Octokit,
  ) {
    this.octokit = octokit ?? createOctokit(options);
  }

  /** The id GitHub gave the deployment, once created. */
  get id(): number | undefined {
    return this.deploymentId;
  }

  publish(report: Report, final: boolean): Promise<void> {
    const next = this.queue.then(() => this.send(report, final));
    this.queue = next;
    return next;
  }

  private async send(report: Report, final: boolean): Promise<void> {
    if (this.disabled) return;
    const state = deploymentState(report, final);
    if (state === this.lastState && !final) return;
    try {
      this.deploymentId ??= await this.create(report);
      const { owner, repo, environmentUrl } = this.options;
      await this.octokit.rest.repos.createDeploymentStatus({
        owner,
        repo,
        deployment_id: this.deploymentId,
        state,
        log_url: runUrl(this.options),
        ...(environmentUrl ? { environment_url: environmentUrl } : {}),
        description: describe(report, final).slice(0, 140),
      });
      this.lastState = state;
    } catch (error) {
      if (isPermissionError(error)) this.disabled = true;
      this.options.logger.warn(
        `model-canary: GitHub deployment for environment '${this.options.environment}' in ` +
          `${this.options.owner}/${this.options.repo} failed: ${safeMessage(error, this.options.token)}` +
          (isPermissionError(error) ? `. Give the job 'permissions: deployments: write'.` : ''),
      );
    }
  }

  private async create(report: Report): Promise<number> {
    const { owner, repo, environment } = this.options;
    const { data, status } = await this.octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: this.options.ref ?? this.options.sha,
      environment,
      auto_merge: false,
      required_contexts: [],
      description: `model-canary ${report.namespace}/${report.model}`.slice(0, 140),
      payload: {
        model: report.model,
        namespace: report.namespace,
        image: report.image ?? null,
        digest: report.digest ?? null,
        revision: report.revision ?? null,
        modelSource: report.modelSource ?? null,
      },
    });
    if (status !== 201 || !('id' in data)) {
      throw new Error(`GitHub did not create the deployment (HTTP ${status}): ${JSON.stringify(data).slice(0, 200)}`);
    }
    return data.id;
  }
}

function describe(report: Report, final: boolean): string {
  const model = `${report.namespace}/${report.model}`;
  if (!final) return `Rolling out ${model}`;
  return `${model}: ${report.verdict}${report.reason ? ` (${report.reason})` : ''}`;
}
