// The action's post step: runs after the job, also when it was cancelled. When a canary was left running it sends
// all traffic back to stable, removes the canary, releases the lease and marks the PR comment aborted.
// Best-effort: it warns, never fails.
import * as core from '@actions/core';
import { actionServices } from './action-services.js';
import { systemClock } from './commands/context.js';
import { locateTarget } from './commands/locate.js';
import { digestOf } from './core/report.js';
import { acquireLease } from './engine/lease.js';
import { rollback } from './engine/rollout-cluster.js';
import { updateRolloutRecord } from './engine/rollout-record.js';
import { readInputs } from './inputs.js';
import { actionLogger } from './main.js';

export async function runPost(): Promise<void> {
  try {
    const image = core.getState('canary');
    if (!image) {
      core.debug('post: no canary was left running, nothing to restore');
      return;
    }
    const config = readInputs();
    const services = actionServices(config, actionLogger);
    const context = { config, logger: actionLogger, clock: systemClock, cwd: process.cwd(), services };
    const { target } = await locateTarget(context, image);
    core.warning(`post: the job ended while the canary of ${target.namespace}/${target.model} ran: restoring stable`);
    const cluster = services.cluster();
    // The main step of this job held the Lease under this same job id: this renews it and releases it when done.
    const lease = await acquireLease(cluster, {
      model: target.model,
      namespace: target.namespace,
      holder: services.run.holder,
      clock: systemClock,
      logger: actionLogger,
    });
    try {
      const result = await rollback(cluster, target, {
        router: config.router,
        timeoutMs: config.readyTimeoutMs,
        clock: systemClock,
        logger: actionLogger,
      });
      if (!result.ready)
        core.warning(`post: stable is not ready yet after the rollback: ${result.reason}: ${result.detail}`);
      await updateRolloutRecord(cluster, target.model, target.namespace, { state: 'finished' }, systemClock.now());
    } finally {
      await lease.release();
    }
    await services.reporter.publish(
      {
        command: config.command,
        model: target.model,
        namespace: target.namespace,
        verdict: 'aborted',
        reason: 'the job was cancelled or crashed mid-rollout: the post step sent all traffic back to stable',
        image,
        digest: digestOf(image),
        gates: [],
        steps: [],
      },
      true,
    );
    actionLogger.info(`post: ${target.namespace}/${target.model} is back on stable`);
  } catch (error) {
    core.warning(`post: could not restore stable: ${error instanceof Error ? error.message : String(error)}`);
  }
}
