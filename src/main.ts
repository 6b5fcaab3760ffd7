// The action's main step: the only place (with post.ts) that sets outputs, saves state or fails the step.
import * as core from '@actions/core';
import { type CommandResult, systemClock } from './commands/context.js';
import { EXIT, exitCodeForError, runCommand } from './commands/run.js';
import type { RolloutConfig } from './core/config.js';
import type { Logger } from './core/ports.js';
import { readInputs } from './inputs.js';
import { actionServices } from './action-services.js';
import { failureAnnotations } from './core/failure-annotations.js';
import { forJobLog } from './adapters/job-log.js';
import { redactUrls } from './core/url-credentials.js';

// core.info prints text as it is, and log text carries outside text (container logs, events, cluster errors): it goes
// out guarded. core.warning and core.debug percent-encode line breaks into one command's data: nothing to guard.
export const actionLogger: Logger = {
  info: (message) => core.info(forJobLog(message)),
  warn: (message) => core.warning(message),
  debug: (message) => core.debug(message),
};

function setOutputs(result: CommandResult): void {
  const { report } = result;
  core.setOutput('verdict', report.verdict);
  core.setOutput('image', report.image ?? '');
  core.setOutput('digest', report.digest ?? '');
  core.setOutput('revision', report.revision === undefined ? '' : String(report.revision));
  core.setOutput('report', JSON.stringify(report));
  core.setOutput('model-version', report.modelSource?.version ?? '');
  core.setOutput('model-sha256', report.modelSource?.sha256 ?? '');
}

function failureFor(result: CommandResult, config: RolloutConfig): string | undefined {
  if (result.exitCode === EXIT.ok) return undefined;
  const reason = result.report.reason ?? `verdict ${result.report.verdict}`;
  const rolledBack = result.exitCode === EXIT.rolledBack || result.exitCode === EXIT.inconclusive;
  if (rolledBack && !config.failOnRollback) {
    core.warning(`${result.report.model}: ${reason} (fail-on-rollback is false, so the step passes)`);
    return undefined;
  }
  return `${result.report.model}: ${reason}`;
}

export async function run(): Promise<void> {
  core.saveState('isPost', 'true');
  try {
    const config = readInputs();
    // The post step restores stable when the job is cancelled while a canary runs.
    const onCanary = (running: boolean, image: string) => core.saveState('canary', running ? image : '');
    const services = actionServices(config, actionLogger, onCanary);
    const result = await runCommand({ config, logger: actionLogger, clock: systemClock, cwd: process.cwd(), services });
    for (const note of failureAnnotations(result.report)) {
      (note.level === 'error' ? core.error : core.warning)(note.message, { title: note.title });
    }
    setOutputs(result);
    actionLogger.info(result.text);
    await core.summary.addRaw(result.markdown, true).write();
    const failure = failureFor(result, config);
    if (failure) core.setFailed(failure);
  } catch (error) {
    // Whatever failed may quote a URL with its credentials; masking covers only the secrets the inputs named.
    const message = redactUrls(error instanceof Error ? error.message : String(error));
    core.setFailed(exitCodeForError(error) === EXIT.badInput ? message : `model-canary failed: ${message}`);
  }
}
