// `promote` and `abort` finish a running canary by hand (workflow_dispatch); `rollback` and `status` read the history.
import { ConfigError } from '../core/config.js';
import { nextRevision, renderHistoryTable } from '../core/history.js';
import { codeBlock, escapeText } from '../core/markdown.js';
import type { Cluster, Report } from '../core/ports.js';
import { digestOf } from '../core/report.js';
import { currentRevision, readHistory, rollbackChoice, rollbackTo, writeRecord } from '../engine/history.js';
import { acquireLease, leaseGuardedCluster, leaseHolder } from '../engine/lease.js';
import { awaitRolloutEnd, fileRequest, withdrawRequest } from '../engine/manual-request.js';
import { parseRequest, requestKey, type ManualAction } from '../core/manual-request.js';
import { formatDuration } from '../core/duration.js';
import { EXIT } from './exit-codes.js';
import { promote as promoteInCluster, rollback as rollbackInCluster } from '../engine/rollout-cluster.js';
import type { CommandContext, CommandHandler, CommandResult } from './context.js';
import { locateRecorded, locateTarget, resultOf } from './locate.js';
import { containerImage } from '../core/live.js';
import { canaryRuns, type RolloutRecord } from '../core/rollout-record.js';
import { renderRunningCanary, runningCanary } from '../core/running-canary.js';
import type { RouterName } from '../core/routers/index.js';
import type { RolloutTarget } from '../core/target.js';
import { updateRolloutRecord } from '../engine/rollout-record.js';

async function withLease<T>(
  context: CommandContext,
  model: string,
  namespace: string,
  work: (cluster: Cluster) => Promise<T>,
): Promise<T> {
  const { services, clock, config, logger } = context;
  const lease = await acquireLease(services.cluster(), {
    model,
    namespace,
    holder: services.run.holder,
    clock,
    waitForLease: config.waitForLease,
    logger,
  });
  try {
    // `work` writes through this cluster only: once another run holds the model, nothing more is written.
    return await work(leaseGuardedCluster(services.cluster(), lease));
  } finally {
    await lease.release().catch((error: Error) => logger.warn(`could not release the lease: ${error.message}`));
  }
}

interface Running {
  target: RolloutTarget;
  manifestHash: string;
  router: RouterName;
}

/** The running canary: from the cluster's rollout record, or (with manifests) from them and the live canary. */
async function runningTarget(context: CommandContext): Promise<Running> {
  const { config } = context;
  if (config.manifests.length === 0) {
    const record = await locateRecorded(context);
    if (record.state === 'finished') {
      const { namespace, model } = record.target;
      throw new ConfigError([
        `model: no canary of ${namespace}/${model} is running (its last rollout finished): nothing to ${config.command}`,
      ]);
    }
    return { target: record.target, manifestHash: record.manifestHash, router: record.router };
  }
  const probe = await locateTarget(context, config.image ?? 'unknown');
  const { target } = probe;
  if (config.image) return { ...probe, router: config.router };
  const canary = target.canary
    ? await context.services.cluster().get({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: target.namespace,
        name: target.canary.metadata.name,
      })
    : undefined;
  const image = containerImage(canary, target.container);
  if (!image) {
    throw new ConfigError([
      `image: no canary of ${target.namespace}/${target.model} is running; give image to promote a specific one`,
    ]);
  }
  return { ...(await locateTarget(context, image)), router: config.router };
}

/**
 * Another run's rollout holds the model: ask it to promote or abort at its next look, and wait (up to `timeout`)
 * for the verdict it records.
 */
async function requestOfRunning(
  context: CommandContext,
  target: { model: string; namespace: string },
  holder: string,
  action: ManualAction,
): Promise<CommandResult> {
  const { config, services, clock, logger } = context;
  const cluster = services.cluster();
  const where = `${target.namespace}/${target.model}`;
  if (config.dryRun) return wouldDo(context, target, `ask the running rollout (${holder}) to ${action}`);
  await fileRequest(cluster, target.model, target.namespace, {
    action,
    holder,
    requestedAt: clock.now().toISOString(),
    ...(services.run.actor ? { actor: services.run.actor } : {}),
    ...(services.run.url ? { run: services.run.url } : {}),
  });
  logger.info(
    `asked the running rollout of ${where} (${holder}) to ${action} at its next look; waiting for its verdict`,
  );
  const record = await awaitRolloutEnd(cluster, target, holder, clock, config.readyTimeoutMs);
  const untaken = parseRequest(await cluster.get(requestKey(target.model, target.namespace)));
  if (untaken?.holder === holder) await withdrawRequest(cluster, target.model, target.namespace);
  if (!record) {
    throw new Error(
      `the running rollout of ${where} (${holder}) did not finish within timeout ${formatDuration(config.readyTimeoutMs)}; the request was withdrawn`,
    );
  }
  const wanted = action === 'promote' ? 'promoted' : 'aborted';
  const acted = !untaken;
  const reason = acted
    ? `the running rollout (${holder}) took the request: ${record.verdict}`
    : `the running rollout (${holder}) ended ${record.verdict} before it took the request`;
  const report: Report = {
    ...emptyReport(config.command, target),
    verdict: record.verdict as Report['verdict'],
    reason,
    image: record.image,
    digest: record.digest,
    revision: record.revision,
  };
  const exitCode = record.verdict === wanted ? EXIT.ok : record.verdict === 'failed' ? EXIT.error : EXIT.rolledBack;
  return resultOf(report, `${where}: ${record.verdict} (${reason})`, context, exitCode);
}

function emptyReport(command: string, target: { model: string; namespace: string }): Report {
  return { command, model: target.model, namespace: target.namespace, verdict: 'pass', gates: [], steps: [] };
}

/** A dry run of a manual command: what it would do, reported and not done (the cluster is read-only anyway). */
function wouldDo(
  context: CommandContext,
  target: { model: string; namespace: string },
  action: string,
  extra: Partial<Report> = {},
): CommandResult {
  const reason = `dry run: would ${action}`;
  const report: Report = { ...emptyReport(context.config.command, target), verdict: 'planned', reason, ...extra };
  return resultOf(report, `${target.namespace}/${target.model}: ${reason}; nothing was changed`, context, EXIT.ok);
}

function finishHandler(outcome: ManualAction): CommandHandler {
  return async (context) => {
    const { config, services, clock, logger } = context;
    const { target, manifestHash, router } = await runningTarget(context);
    const cluster = services.cluster();
    const startedAt = clock.now().toISOString();
    const holder = await leaseHolder(cluster, target.model, target.namespace, services.run.holder, clock.now());
    if (holder) return requestOfRunning(context, target, holder, outcome);
    if (config.dryRun) {
      const revision = nextRevision(await readHistory(cluster, target.model, target.namespace));
      return wouldDo(
        context,
        target,
        outcome === 'promote'
          ? `promote the canary ${target.image} to stable, recorded as revision ${revision}`
          : `abort the canary ${target.image}: all traffic back to stable and the canary removed`,
      );
    }
    return withLease(context, target.model, target.namespace, async (cluster) => {
      const options = { router, timeoutMs: config.readyTimeoutMs, clock, logger };
      const records = await readHistory(cluster, target.model, target.namespace);
      const revision = nextRevision(records);
      const result =
        outcome === 'promote'
          ? await promoteInCluster(cluster, target, options, revision)
          : await rollbackInCluster(cluster, target, options);
      const verdict: Report['verdict'] =
        !result.ready && outcome === 'promote' ? 'failed' : outcome === 'promote' ? 'promoted' : 'aborted';
      const reason = result.ready
        ? `${outcome === 'promote' ? 'promoted' : 'aborted'} by hand`
        : `${result.reason}: ${result.detail}`;
      // An abort is recorded too, so the history (and a re-run that finds no canary) says how the canary ended.
      await writeRecord(
        cluster,
        target.model,
        target.namespace,
        {
          revision,
          image: target.image,
          digest: digestOf(target.image) ?? '',
          manifestHash,
          verdict,
          startedAt,
          endedAt: clock.now().toISOString(),
          ...(services.run.url ? { runUrl: services.run.url } : {}),
          ...(services.run.actor ? { actor: services.run.actor } : {}),
        },
        { current: verdict === 'promoted' },
      );
      const report: Report = {
        command: config.command,
        model: target.model,
        namespace: target.namespace,
        verdict,
        reason,
        image: target.image,
        digest: digestOf(target.image),
        revision,
        gates: [],
        steps: [],
      };
      if (result.ready) {
        await updateRolloutRecord(cluster, target.model, target.namespace, { state: 'finished' }, clock.now());
      }
      await services.reporter.publish(report, true);
      return resultOf(
        report,
        `${target.namespace}/${target.model}: ${verdict} (${reason})`,
        context,
        verdict === 'failed' ? 1 : 0,
      );
    });
  };
}

export const promote = finishHandler('promote');
export const abort = finishHandler('abort');

/** `rollback`: a recorded revision straight from the history: no rebuild, no analysis. */
/** The model's target and router: from the manifests when given, else as the cluster recorded its last rollout. */
async function modelTarget(
  context: CommandContext,
): Promise<{ target: RolloutTarget; router: RouterName; record?: RolloutRecord }> {
  const { config } = context;
  if (config.manifests.length > 0) {
    return { target: (await locateTarget(context, config.image ?? 'unknown')).target, router: config.router };
  }
  const record = await locateRecorded(context);
  return { target: record.target, router: record.router, record };
}

export const rollback: CommandHandler = async (context) => {
  const { config, services, clock, logger } = context;
  const { target, router } = await modelTarget(context);
  const cluster = services.cluster();
  if (config.dryRun) {
    const { chosen, revision } = await rollbackChoice(cluster, target, config.toRevision, services.run.url);
    return wouldDo(
      context,
      target,
      `roll back to revision ${chosen.revision} (${chosen.image}), recorded as revision ${revision}`,
      { image: chosen.image, digest: chosen.digest, rolledBackTo: chosen.revision },
    );
  }
  return withLease(context, target.model, target.namespace, async (cluster) => {
    const result = await rollbackTo(
      cluster,
      target,
      config.toRevision,
      { router, timeoutMs: config.readyTimeoutMs, clock, logger },
      {
        startedAt: clock.now().toISOString(),
        ...(services.run.url ? { runUrl: services.run.url } : {}),
        ...(services.run.actor ? { actor: services.run.actor } : {}),
      },
    );
    const report: Report = {
      command: 'rollback',
      model: target.model,
      namespace: target.namespace,
      verdict: result.ready ? 'rolled-back' : 'failed',
      reason: result.ready ? `rolled back to revision ${result.record.revision}` : result.reason,
      image: result.record.image,
      digest: result.record.digest,
      revision: result.revision,
      ...(result.record.model ? { modelSource: result.record.model } : {}),
      rolledBackTo: result.record.revision,
      gates: [],
      steps: [],
    };
    if (result.ready) {
      await updateRolloutRecord(cluster, target.model, target.namespace, { state: 'finished' }, clock.now());
    }
    await services.reporter.publish(report, true);
    return resultOf(
      report,
      `${target.namespace}/${target.model}: ${report.verdict}: ${report.reason} (${report.image})`,
      context,
      result.ready ? 0 : 1,
    );
  });
};

/** `status`: the running canary, if any, and the rollout history as a table. */
export const status: CommandHandler = async (context) => {
  const { services, clock } = context;
  const { target, record } = await modelTarget(context);
  const cluster = services.cluster();
  const records = await readHistory(cluster, target.model, target.namespace);
  const current = await currentRevision(cluster, target);
  const latest = records.find((r) => r.revision === current) ?? records[records.length - 1];
  const running = canaryRuns(record) ? runningCanary(record) : undefined;
  const report: Report = {
    command: 'status',
    model: target.model,
    namespace: target.namespace,
    verdict: running ? 'canary-running' : (latest?.verdict ?? 'pass'),
    image: running?.image ?? latest?.image,
    digest: running ? digestOf(running.image) : latest?.digest,
    revision: current,
    ...(latest?.model ? { modelSource: latest.model } : {}),
    ...(running ? { running } : {}),
    history: records,
    gates: running?.gates ?? [],
    steps: [],
  };
  const where = `${target.namespace}/${target.model}`;
  const table = renderHistoryTable(records, current);
  const canaryText = running ? renderRunningCanary(running, clock.now()) : 'no canary is running';
  const result = resultOf(report, `${where}: ${canaryText}\n\nhistory:\n${table}`, context, 0);
  return {
    ...result,
    // Model names come from outside registries: the fence must outlast any backticks in them.
    markdown:
      `## model-canary status: ${escapeText(where)}\n\n${codeBlock(canaryText, 60_000)}\n\n` +
      `${codeBlock(table, 60_000)}\n`,
  };
};
