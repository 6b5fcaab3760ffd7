// The live rollout loop: the state machine of core/rollout.ts driven through its actions, with a look every
// `look-every` inside each step. `deploy` runs it against the cluster and Prometheus; `plan` and the benchmark run
// the very same loop against simulated traffic on a simulated clock, so their estimates describe this program.
import { summarizeLooks, type AnalysisLimits, type Look } from '../core/analysis.js';
import { formatDuration } from '../core/duration.js';
import type { GateLook } from '../core/judge.js';
import type { Clock, GateReport, Logger } from '../core/ports.js';
import type { RolloutConfig } from '../core/config.js';
import {
  DEFAULT_LIMITS,
  transition,
  type Limits,
  type RolloutAction,
  type RolloutEvent,
  type RolloutState,
  type StepSchedule,
} from '../core/rollout.js';

/** Where a look's numbers come from: Prometheus in a rollout, simulated counters in `plan` and the benchmark. */
export interface LookSource {
  /** Every gate measured and judged at `at` over the data since `since`; `look` counts the rollout's looks from 1. */
  look(at: Date, since: Date, look: number): Promise<GateLook[]>;
}

/** What the loop's actions do to the world. */
export interface RolloutEffects {
  applyWeight(weight: number, stepIndex: number): Promise<RolloutEvent | undefined>;
  promote(): Promise<RolloutEvent>;
  rollBack(reason: string): Promise<RolloutEvent>;
  publish(state: RolloutState, gates: GateReport[], final: boolean): Promise<void>;
  hold?(reason: string): void;
  /** Asked before every look: an event that must come first (the lease was lost, someone asked to promote). */
  interruption?(): Promise<RolloutEvent | undefined>;
  /** Aborts when an interruption cannot wait for the next look (the Lease was lost): the wait ends at once. */
  interrupted?: AbortSignal;
}

export interface LoopSettings {
  limits: Limits;
  analysis: AnalysisLimits;
  /** The power relative gates must reach before promotion (undefined: no target). */
  power?: number;
  /** Stop once the first weight is applied and ready (the `canary` command leaves it for later commands). */
  applyOnly?: boolean;
}

export interface LoopResult {
  state: RolloutState;
  gates: GateReport[];
  looks: Look[];
}

/** The step schedule and limits a rollout runs with. */
export function loopSettings(config: RolloutConfig): { schedule: StepSchedule; settings: LoopSettings } {
  const { analysis } = config;
  return {
    schedule: {
      intervalMs: config.intervalMs,
      lookEveryMs: analysis.lookEveryMs,
      minStepMs: analysis.minStepMs,
      maxStepMs: analysis.maxStepMs,
      advanceOnEvidence: analysis.advanceOnEvidence,
      ...(analysis.power !== undefined ? { power: analysis.power } : {}),
    },
    settings: {
      limits: { ...DEFAULT_LIMITS, onInconclusive: analysis.onInconclusive },
      analysis: {
        failureLimit: analysis.failureLimit,
        inconclusiveLimit: analysis.inconclusiveLimit,
        consecutiveErrorLimit: analysis.consecutiveErrorLimit,
      },
      ...(analysis.power !== undefined ? { power: analysis.power } : {}),
      applyOnly: config.command === 'canary',
    },
  };
}

/** Gate reports of the latest look, each with how many looks the judge took. */
function gateReports(looks: Look[]): GateReport[] {
  const latest = looks[looks.length - 1]?.gates ?? [];
  return latest.map((gate) => ({ ...gate.report, looks: looks.length }));
}

export async function runRolloutLoop(
  initial: RolloutState,
  settings: LoopSettings,
  ports: { clock: Clock; logger?: Logger; source: LookSource; effects: RolloutEffects },
): Promise<LoopResult> {
  const { clock, logger, source, effects } = ports;
  let state = initial;
  const looks: Look[] = [];
  let firstTraffic: Date | undefined;
  const queue: RolloutEvent[] = [{ type: 'start' }];

  const perform = async (action: RolloutAction): Promise<RolloutEvent | undefined> => {
    switch (action.type) {
      case 'apply-weight': {
        if (settings.applyOnly && state.stepIndex > 0) return undefined;
        const event = await effects.applyWeight(action.weight, action.stepIndex);
        if (event?.type === 'canary-ready') firstTraffic ??= clock.now();
        return event;
      }
      case 'wait': {
        if (settings.applyOnly) return undefined;
        await waitForLook(clock, logger, action.until, state, effects.interrupted);
        return (await effects.interruption?.()) ?? { type: 'look-due' };
      }
      case 'analyze': {
        const at = clock.now();
        const gates = await source.look(at, firstTraffic ?? at, looks.length + 1);
        looks.push({ at: at.toISOString(), gates });
        const summary = summarizeLooks(looks, settings.analysis, settings.power);
        logger?.info(`look ${looks.length} at step ${state.stepIndex + 1}/${state.steps.length}:`);
        for (const gate of gates) logger?.info(`  ${gate.report.name}: ${gate.outcome} (${gate.report.reason})`);
        return { type: 'look', summary };
      }
      case 'promote':
        return effects.promote();
      case 'roll-back':
        logger?.warn(`rolling back: ${action.reason}`);
        return effects.rollBack(action.reason);
      case 'report':
        await effects.publish(state, gateReports(looks), action.final);
        return undefined;
      case 'hold':
        logger?.warn(`holding the canary for a human decision: ${action.reason}`);
        effects.hold?.(action.reason);
        return undefined;
      case 'finish':
        return undefined;
    }
  };

  while (queue.length > 0) {
    const event = queue.shift() as RolloutEvent;
    const next = transition(state, event, clock.now(), settings.limits);
    state = next.state;
    for (const action of next.actions) {
      let follow: RolloutEvent | undefined;
      try {
        follow = await perform(action);
      } catch (error) {
        follow = { type: 'error', error: error instanceof Error ? error.message : String(error) };
      }
      if (follow) queue.push(follow);
    }
  }
  return { state, gates: gateReports(looks), looks };
}

/** Sleeps until the next look, with a progress line every few seconds for the Actions log. */
async function waitForLook(
  clock: Clock,
  logger: Logger | undefined,
  until: Date,
  state: RolloutState,
  interrupted?: AbortSignal,
): Promise<void> {
  const weight = state.steps[state.stepIndex];
  const readyAt = state.stepReadyAt ? new Date(state.stepReadyAt).getTime() : undefined;
  for (;;) {
    const now = clock.now().getTime();
    const left = until.getTime() - now;
    if (left <= 0 || interrupted?.aborted) return;
    const into = readyAt === undefined ? '' : `${formatDuration(now - readyAt)} in, `;
    logger?.info(
      `step ${state.stepIndex + 1}/${state.steps.length} (${weight}%): ${into}next look in ${formatDuration(left)}`,
    );
    await clock.sleep(Math.min(left, 10_000), interrupted);
  }
}
