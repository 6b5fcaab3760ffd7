// The rollout as a state machine: events in, next actions out. Pure: time arrives with each event, and every state
// answers an error by steering to a known version (roll back, or report `failed` once rolling back failed too).

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

export type LookOutcome = 'pass' | 'fail' | 'inconclusive' | 'error' | 'continue';
export type RollbackCause = 'gate-failed' | 'inconclusive' | 'not-ready' | 'aborted' | 'error';

export interface Limits {
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  /** Looks a step may take while the sequential test says "continue" before the step counts as inconclusive. */
  maxLooksPerStep: number;
  /** Attempts at promoting or rolling back before giving up. */
  maxAttempts: number;
  onInconclusive: 'rollback' | 'hold';
}

export interface StepRecord {
  weight: number;
  startedAt: string;
  endedAt?: string;
  result?: 'pass' | 'fail' | 'inconclusive' | 'running' | 'skipped';
}

export interface RolloutState {
  phase: Phase;
  steps: number[];
  intervalMs: number;
  stepIndex: number;
  failures: number;
  inconclusives: number;
  consecutiveErrors: number;
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
  | { type: 'interval-elapsed' }
  | { type: 'look'; outcome: LookOutcome; reason: string }
  | { type: 'promote-requested' }
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

export const DEFAULT_LIMITS: Limits = {
  failureLimit: 0,
  inconclusiveLimit: 3,
  consecutiveErrorLimit: 4,
  maxLooksPerStep: 10,
  maxAttempts: 3,
  onInconclusive: 'rollback',
};

export const TERMINAL: readonly Phase[] = ['promoted', 'rolled-back', 'aborted', 'held', 'failed'];

export function initialState(steps: number[], intervalMs: number): RolloutState {
  return {
    phase: 'pending',
    steps,
    intervalMs,
    stepIndex: 0,
    failures: 0,
    inconclusives: 0,
    consecutiveErrors: 0,
    looksThisStep: 0,
    attempts: 0,
    timeline: [],
  };
}

const iso = (at: Date) => at.toISOString();

function endStep(state: RolloutState, at: Date, result: StepRecord['result']): StepRecord[] {
  return state.timeline.map((record, index) =>
    index === state.timeline.length - 1 && record.endedAt === undefined
      ? { ...record, endedAt: iso(at), result }
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
      timeline: [...state.timeline, { weight, startedAt: iso(at), result: 'running' }],
    },
    actions: [
      { type: 'apply-weight', weight, stepIndex },
      { type: 'report', final: false },
    ],
  };
}

function wait(state: RolloutState, at: Date): Transition {
  return {
    state: { ...state, phase: 'waiting' },
    actions: [{ type: 'wait', until: new Date(at.getTime() + state.intervalMs) }],
  };
}

function rollBack(state: RolloutState, at: Date, cause: RollbackCause, reason: string): Transition {
  const stepResult = cause === 'gate-failed' ? 'fail' : cause === 'inconclusive' ? 'inconclusive' : 'skipped';
  return {
    state: { ...state, phase: 'rolling-back', cause, reason, attempts: 0, timeline: endStep(state, at, stepResult) },
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

function onLook(
  state: RolloutState,
  event: { outcome: LookOutcome; reason: string },
  at: Date,
  limits: Limits,
): Transition {
  const looks = state.looksThisStep + 1;
  const weight = state.steps[state.stepIndex] as number;
  const where = `step ${state.stepIndex + 1}/${state.steps.length} (${weight}%)`;
  const counted = {
    ...state,
    looksThisStep: looks,
    consecutiveErrors: event.outcome === 'error' ? state.consecutiveErrors + 1 : 0,
  };

  switch (event.outcome) {
    case 'pass': {
      const passed = { ...counted, timeline: endStep(counted, at, 'pass') };
      if (state.stepIndex + 1 >= state.steps.length) {
        return {
          state: { ...passed, phase: 'promoting', attempts: 0 },
          actions: [{ type: 'promote' }, { type: 'report', final: false }],
        };
      }
      return startStep(passed, state.stepIndex + 1, at);
    }
    case 'fail': {
      const failures = state.failures + 1;
      const next = { ...counted, failures };
      if (failures > limits.failureLimit) {
        return rollBack(next, at, 'gate-failed', `analysis failed at ${where}: ${event.reason}`);
      }
      return wait(next, at);
    }
    case 'error': {
      if (counted.consecutiveErrors > limits.consecutiveErrorLimit) {
        return inconclusive(
          counted,
          at,
          limits,
          `metrics unavailable for ${counted.consecutiveErrors} looks in a row at ${where}: ${event.reason}`,
        );
      }
      return wait(counted, at);
    }
    case 'inconclusive': {
      const inconclusives = state.inconclusives + 1;
      const next = { ...counted, inconclusives };
      if (inconclusives > limits.inconclusiveLimit) {
        return inconclusive(
          next,
          at,
          limits,
          `analysis inconclusive ${inconclusives} times at ${where}: ${event.reason}`,
        );
      }
      return wait(next, at);
    }
    case 'continue': {
      if (looks >= limits.maxLooksPerStep) {
        return inconclusive(counted, at, limits, `no decision after ${looks} looks at ${where}: ${event.reason}`);
      }
      return wait(counted, at);
    }
  }
}

function inconclusive(state: RolloutState, at: Date, limits: Limits, reason: string): Transition {
  if (limits.onInconclusive === 'hold') {
    return {
      state: { ...state, phase: 'held', cause: 'inconclusive', reason, timeline: endStep(state, at, 'inconclusive') },
      actions: [
        { type: 'hold', reason },
        { type: 'report', final: true },
        { type: 'finish', phase: 'held' },
      ],
    };
  }
  return rollBack(state, at, 'inconclusive', reason);
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
      state: { ...state, phase: 'promoting', attempts: 0, timeline: endStep(state, at, 'skipped') },
      actions: [{ type: 'promote' }, { type: 'report', final: false }],
    };
  }
  switch (state.phase) {
    case 'pending':
      return event.type === 'start' ? startStep(state, 0, at) : unchanged;
    case 'progressing':
      if (event.type === 'canary-ready') return wait(state, at);
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
      return event.type === 'interval-elapsed'
        ? {
            state: { ...state, phase: 'analyzing' },
            actions: [{ type: 'analyze', stepIndex: state.stepIndex, weight: state.steps[state.stepIndex] as number }],
          }
        : unchanged;
    case 'analyzing':
      return event.type === 'look' ? onLook(state, event, at, limits) : unchanged;
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
