// What the GitHub adapters need to know of the run, without loading the GitHub client: `@actions/github`'s
// `context` comes with Octokit, which costs every command about 100 ms of start-up, and its Context class is not
// exported on its own. These few lines read the same runner variables it reads.
import { existsSync, readFileSync } from 'node:fs';

export interface GitHubOptions {
  token: string;
  /** `owner` and `repo` of the repository the workflow runs in. */
  owner: string;
  repo: string;
  /** `GITHUB_SERVER_URL`, e.g. `https://github.com`. */
  serverUrl: string;
  /** `GITHUB_API_URL`, e.g. `https://api.github.com` (a test fake in tests). */
  apiUrl: string;
  /** `GITHUB_EVENT_NAME` and the parsed `GITHUB_EVENT_PATH` file. */
  eventName: string;
  eventPayload: Record<string, unknown>;
  sha: string;
  runId: number | string;
  runAttempt?: number | string;
  /** Marks the token as a secret in the log (the action passes core.setSecret). */
  mask?: (secret: string) => void;
}

/** What `@actions/github`'s `context` holds; main.ts passes `context` itself. */
export interface RunContext {
  eventName: string;
  payload: object;
  sha: string;
  runId: number;
  runAttempt: number;
  serverUrl: string;
  apiUrl: string;
  repo: { owner: string; repo: string };
}

/** The options of the GitHub adapters from the run's context and the `github-token` input. */
export function githubOptionsFromContext(
  context: RunContext,
  token: string,
  mask?: (secret: string) => void,
): GitHubOptions {
  return {
    token,
    owner: context.repo.owner,
    repo: context.repo.repo,
    serverUrl: context.serverUrl,
    apiUrl: context.apiUrl,
    eventName: context.eventName,
    eventPayload: context.payload as Record<string, unknown>,
    sha: context.sha,
    runId: context.runId,
    runAttempt: context.runAttempt,
    mask,
  };
}

export function runUrl(options: GitHubOptions): string {
  const attempt = options.runAttempt && String(options.runAttempt) !== '1' ? `/attempts/${options.runAttempt}` : '';
  return `${options.serverUrl.replace(/\/+$/, '')}/${options.owner}/${options.repo}/actions/runs/${options.runId}${attempt}`;
}

/** The run's context from the runner's variables, as `@actions/github`'s Context reads them. */
export function runContextFromEnvironment(env: NodeJS.ProcessEnv = process.env): RunContext & { actor: string } {
  const eventPath = env.GITHUB_EVENT_PATH;
  const payload = eventPath && existsSync(eventPath) ? (JSON.parse(readFileSync(eventPath, 'utf8')) as object) : {};
  const [owner = 'local', repo = 'local'] = (env.GITHUB_REPOSITORY || 'local/local').split('/');
  return {
    eventName: env.GITHUB_EVENT_NAME ?? '',
    payload,
    sha: env.GITHUB_SHA ?? '',
    runId: Number.parseInt(env.GITHUB_RUN_ID ?? '', 10),
    runAttempt: Number.parseInt(env.GITHUB_RUN_ATTEMPT ?? '', 10),
    serverUrl: env.GITHUB_SERVER_URL ?? 'https://github.com',
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    actor: env.GITHUB_ACTOR ?? '',
    repo: { owner, repo },
  };
}
