// The rollout as a state machine: events in, next actions out. Pure: time arrives with each event, and every state
// answers an error by steering to a known version (roll back, or report `failed` once rolling back failed too).
// Inside a step the live judge looks every `lookEvery`; the step's schedule decides when it may end.
import type { LookSummary } from './analysis.js';
import type { StepEndReason } from './ports.js';

export type Phase =
  | 'pending'
  | 'progressing' // applying a weight and waiting for the canary to be ready
  | 'waiting' // the interval runs before the next look
  | 'analyzing'
  | 'promoting'
  | 'rolling-back'
  | 'promoted'
  | 'rolled-back'
  | 'aborted'
  | 'held' // inconclusive with on-inconclusive: hold: the canary stays for a human to promote or abort
  | 'failed';

export type RollbackCause = 'gate-failed' | 'inconclusive' | 'not-ready' | 'aborted' | 'error';

export interface Limits {
  /** Attempts at promoting or rolling back before giving up. */
  maxAttempts: number;
  onInconclusive: 'rollback' | 'hold';
}

/** When the live judge looks inside a step, and when a step may end. */
export interface StepSchedule {
  /** A step with no decisive failure advances once this much time has passed (and every gate is measured). */
  intervalMs: number;
  /** Time between looks inside a step. */
  lookEveryMs: number;
  /** With `advanceOnEvidence`: a step ends as soon as every gate is decisively not worse, but not before this. */
  minStepMs: number;
  /** A step still short of evidence then is inconclusive. */
  maxStepMs: number;
  advanceOnEvidence: boolean;
  /** The power every relative gate must reach before the last step with baseline traffic ends (see powerStep). */
  power?: number;
}

export interface StepRecord {
  weight: number;
  startedAt: string;
  endedAt?: string;
  result?: 'pass' | 'fail' | 'inconclusive' | 'running' | 'skipped';
  looks?: number;
  endReason?: StepEndReason;
}

export interface RolloutState {
  phase: Phase;
  steps: number[];
  schedule: StepSchedule;
  stepIndex: number;
  /** When the canary was ready at this step's weight: the step's time counts from here. */
  stepReadyAt?: string;
  looksThisStep: number;
  attempts: number;
  cause?: RollbackCause;
  reason?: string;
  timeline: StepRecord[];
}

export type RolloutEvent =
  | { type: 'start' }
  | { type: 'canary-ready' }
  | { type: 'canary-not-ready'; reason: string }
  | { type: 'look-due' }
  | { type: 'look'; summary: LookSummary }
  | { type: 'promote-requested'; reason?: string }
  | { type: 'abort-requested'; reason?: string }
  | { type: 'promoted' }
  | { type: 'rolled-back' }
  | { type: 'error'; error: string };

export type RolloutAction =
  | { type: 'apply-weight'; weight: number; stepIndex: number }
  | { type: 'wait'; until: Date }
  | { type: 'analyze'; stepIndex: number; weight: number }
  | { type: 'promote' }
  | { type: 'roll-back'; reason: string }
  | { type: 'hold'; reason: string }
  | { type: 'report'; final: boolean }
  | { type: 'finish'; phase: Phase };

export interface Transition {
  state: RolloutState;
  actions: RolloutAction[];
}

export const DEFAULT_LIMITS: Limits = { maxAttempts: 3, onInconclusive: 'rollback' };

export const TERMINAL: readonly Phase[] = ['promoted', 'rolled-back', 'aborted', 'held', 'failed'];

export function initialState(steps: number[], schedule: StepSchedule): RolloutState {
  return {
    phase: 'pending',
    steps,
    schedule,
    stepIndex: 0,
    looksThisStep: 0,
    attempts: 0,
    timeline: [],
  };
}

const iso = (at: Date) => at.toISOString();

function endStep(state: RolloutState, at: Date, result: StepRecord['result'], endReason: StepEndReason): StepRecord[] {
  return state.timeline.map((record, index) =>
    index === state.timeline.length - 1 && record.endedAt === undefined
      ? { ...record, endedAt: iso(at), result, looks: state.looksThisStep, endReason }
      : record,
  );
}

function startStep(state: RolloutState, stepIndex: number, at: Date): Transition {
  const weight = state.steps[stepIndex] as number;
  return {
    state: {
      ...state,
      phase: 'progressing',
      stepIndex,
      looksThisStep: 0,
      stepReadyAt: undefined,
      timeline: [...state.timeline, { weight, startedAt: iso(at), result: 'running' }],
    },
    actions: [
      { type: 'apply-weight', weight, stepIndex },
      { type: 'report', final: false },
    ],
  };
}

/** The next look: one `lookEvery` on, or sooner where the step reaches one of its time bounds. */
export function nextLookAt(state: RolloutState, at: Date): Date {
  const { schedule } = state;
  const readyAt = new Date(state.stepReadyAt ?? at.toISOString()).getTime();
  const now = at.getTime();
  const bounds = [readyAt + schedule.intervalMs, readyAt + schedule.maxStepMs];
  if (schedule.advanceOnEvidence) bounds.push(readyAt + schedule.minStepMs);
  return new Date(
    bounds.filter((bound) => bound > now).reduce((next, bound) => Math.min(next, bound), now + schedule.lookEveryMs),
  );
}

function wait(state: RolloutState, at: Date): Transition {
  return {
    state: { ...state, phase: 'waiting' },
    actions: [{ type: 'wait', until: nextLookAt(state, at) }],
  };
}

const END_REASON_OF: Record<RollbackCause, StepEndReason> = {
  'gate-failed': 'failed',
  inconclusive: 'max-duration',
  'not-ready': 'not-ready',
  aborted: 'aborted',
  error: 'error',
};

function rollBack(
  state: RolloutState,
  at: Date,
  cause: RollbackCause,
  reason: string,
  endReason: StepEndReason = END_REASON_OF[cause],
): Transition {
  const stepResult = cause === 'gate-failed' ? 'fail' : cause === 'inconclusive' ? 'inconclusive' : 'skipped';
  return {
    state: {
      ...state,
      phase: 'rolling-back',
      cause,
      reason,
      attempts: 0,
      timeline: endStep(state, at, stepResult, endReason),
    },
    actions: [
      { type: 'roll-back', reason },
      { type: 'report', final: false },
    ],
  };
}

function finish(state: RolloutState, phase: Phase): Transition {
  return {
    state: { ...state, phase },
    actions: [
      { type: 'report', final: true },
      { type: 'finish', phase },
    ],
  };
}

/**
 * The step that waits for `power`: the last one, or the one before a final 100% step, since at 100% the stable
 * serves nothing and the baseline's evidence stops growing.
 */
export function powerStep(steps: number[]): number {
  const last = steps.length - 1;
  return steps[last] === 100 && last > 0 ? last - 1 : last;
}

function advance(state: RolloutState, at: Date, endReason: StepEndReason): Transition {
  const passed = { ...state, timeline: endStep(state, at, 'pass', endReason) };
  if (state.stepIndex + 1 >= state.steps.length) {
    return {
      state: { ...passed, phase: 'promoting', attempts: 0 },
      actions: [{ type: 'promote' }, { type: 'report', final: false }],
    };
  }
  return startStep(passed, state.stepIndex + 1, at);
}

/**
 * A look inside a step. A decisive failure rolls back at once; otherwise the step ends when its time and the
 * evidence allow (interval passed with every gate measured; early on evidence; the last step held for power), and
 * at max-step-duration a step still short of it is inconclusive.
 */
function onLook(state: RolloutState, summary: LookSummary, at: Date, limits: Limits): Transition {
  const counted = { ...state, looksThisStep: state.looksThisStep + 1 };
  const weight = state.steps[state.stepIndex] as number;
  const where = `step ${state.stepIndex + 1}/${state.steps.length} (${weight}%)`;
  if (summary.verdict === 'fail') {
    return rollBack(counted, at, 'gate-failed', `analysis failed at ${where}: ${summary.reason}`);
  }
  if (summary.verdict === 'inconclusive') {
    return inconclusive(counted, at, limits, `analysis inconclusive at ${where}: ${summary.reason}`, 'failed');
  }
  const { schedule } = state;
  const elapsed = at.getTime() - new Date(state.stepReadyAt ?? at.toISOString()).getTime();
  const measured = summary.verdict === 'ok' && summary.passing;
  if (measured && schedule.advanceOnEvidence && summary.decisive && elapsed >= schedule.minStepMs) {
    return advance(counted, at, 'evidence');
  }
  const waitsForPower = schedule.power !== undefined && state.stepIndex === powerStep(state.steps);
  const powerMissing = waitsForPower && summary.shortOfPower.length > 0;
  if (measured && elapsed >= schedule.intervalMs && !powerMissing) {
    return advance(counted, at, waitsForPower ? 'power' : 'interval');
  }
  if (elapsed >= schedule.maxStepMs) {
    const missing = !measured
      ? (summary.pending ?? summary.reason)
      : `short of power ${schedule.power}: ${summary.shortOfPower.join(', ')}`;
    return inconclusive(counted, at, limits, `no decision at ${where} after max-step-duration: ${missing}`);
  }
  return wait(counted, at);
}

function inconclusive(
  state: RolloutState,
  at: Date,
  limits: Limits,
  reason: string,
  endReason: StepEndReason = 'max-duration',
): Transition {
  if (limits.onInconclusive === 'hold') {
    const weight = state.steps[state.stepIndex];
    return {
      state: {
        ...state,
        phase: 'held',
        cause: 'inconclusive',
        reason: `held at ${weight}% for a human to promote or abort: ${reason}`,
        timeline: endStep(state, at, 'inconclusive', endReason),
      },
      actions: [
        { type: 'hold', reason },
        { type: 'report', final: true },
        { type: 'finish', phase: 'held' },
      ],
    };
  }
  return rollBack(state, at, 'inconclusive', reason, endReason);
}

function onError(state: RolloutState, error: string, at: Date, limits: Limits): Transition {
  const attempts = state.attempts + 1;
  switch (state.phase) {
    case 'rolling-back':
      if (attempts >= limits.maxAttempts) {
        return finish(
          {
            ...state,
            attempts,
            reason: `${state.reason ?? 'rollback'}; rolling back failed ${attempts} times: ${error}`,
          },
          'failed',
        );
      }
      return { state: { ...state, attempts }, actions: [{ type: 'roll-back', reason: state.reason ?? error }] };
    case 'promoting':
      if (attempts >= limits.maxAttempts) {
        return rollBack({ ...state, attempts }, at, 'error', `promotion failed ${attempts} times: ${error}`);
      }
      return { state: { ...state, attempts }, actions: [{ type: 'promote' }] };
    case 'pending':
      return finish({ ...state, cause: 'error', reason: `could not start: ${error}` }, 'failed');
    default:
      return rollBack(state, at, 'error', `error at step ${state.stepIndex + 1}: ${error}`);
  }
}

/** The next state and actions for an event at time `at`. Events that do not fit the phase change nothing. */
export function transition(
  state: RolloutState,
  event: RolloutEvent,
  at: Date,
  limits: Limits = DEFAULT_LIMITS,
): Transition {
  const unchanged: Transition = { state, actions: [] };
  if (TERMINAL.includes(state.phase)) return unchanged;
  if (event.type === 'error') return onError(state, event.error, at, limits);
  if (event.type === 'abort-requested' && state.phase !== 'rolling-back') {
    return rollBack(state, at, 'aborted', event.reason ?? 'aborted by hand');
  }
  if (event.type === 'promote-requested' && ['progressing', 'waiting', 'analyzing'].includes(state.phase)) {
    return {
      state: {
        ...state,
        phase: 'promoting',
        attempts: 0,
        reason: event.reason ?? 'promoted by hand',
        timeline: endStep(state, at, 'skipped', 'promoted-by-hand'),
      },
      actions: [{ type: 'promote' }, { type: 'report', final: false }],
    };
  }
  switch (state.phase) {
    case 'pending':
      return event.type === 'start' ? startStep(state, 0, at) : unchanged;
    case 'progressing':
      if (event.type === 'canary-ready') return wait({ ...state, stepReadyAt: iso(at) }, at);
      if (event.type === 'canary-not-ready') {
        return rollBack(
          state,
          at,
          'not-ready',
          `canary not ready at ${state.steps[state.stepIndex]}%: ${event.reason}`,
        );
      }
      return unchanged;
    case 'waiting':
      return event.type === 'look-due'
        ? {
            state: { ...state, phase: 'analyzing' },
            actions: [{ type: 'analyze', stepIndex: state.stepIndex, weight: state.steps[state.stepIndex] as number }],
          }
        : unchanged;
    case 'analyzing':
      return event.type === 'look' ? onLook(state, event.summary, at, limits) : unchanged;
    case 'promoting':
      return event.type === 'promoted' ? finish(state, 'promoted') : unchanged;
    case 'rolling-back':
      return event.type === 'rolled-back'
        ? finish(state, state.cause === 'aborted' ? 'aborted' : 'rolled-back')
        : unchanged;
    default:
      return unchanged;
  }
}

/** CLI exit code for a finished rollout (../shared/CONTRACT.md). */
export function exitCodeFor(state: Pick<RolloutState, 'phase' | 'cause'>): number {
  if (state.phase === 'promoted') return 0;
  if (state.cause === 'inconclusive') return 4;
  if (state.phase === 'failed' && state.cause !== 'gate-failed') return 1;
  return 3;
}
