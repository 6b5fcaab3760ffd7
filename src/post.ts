// The action's post step: runs after the job, also when it was cancelled. Best-effort: it warns, never fails.
import * as core from '@actions/core';

export async function runPost(): Promise<void> {
  try {
    const rollout = core.getState('rollout');
    if (!rollout) {
      core.debug('post: no rollout in progress, nothing to restore');
      return;
    }
    core.warning('post: a rollout was left in progress; restoring traffic to stable is not available in this version');
  } catch (error) {
    core.warning(`post: ${error instanceof Error ? error.message : String(error)}`);
  }
}
