import type { LookSummary } from '../../src/core/analysis.js';
import {
  DEFAULT_LIMITS,
  exitCodeFor,
  initialState,
  nextLookAt,
  type Limits,
  type Phase,
  type RolloutEvent,
  type RolloutState,
  type StepSchedule,
  TERMINAL,
  transition,
} from '../../src/core/rollout.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const SCHEDULE: StepSchedule = {
  intervalMs: 60_000,
  lookEveryMs: 15_000,
  minStepMs: 30_000,
  maxStepMs: 180_000,
  advanceOnEvidence: false,
};

/** Feeds events at the given seconds; a bare event comes a second after the previous one. */
function run(
  events: Array<RolloutEvent | [number, RolloutEvent]>,
  limits: Limits = DEFAULT_LIMITS,
  steps = [10, 50, 100],
  schedule: StepSchedule = SCHEDULE,
) {
  let state = initialState(steps, schedule);
  const actions: string[] = [];
  let now = 0;
  for (const item of events) {
    const [seconds, event] = Array.isArray(item) ? item : [now + 1, item];
    now = seconds;
    const next = transition(state, event, at(seconds), limits);
    state = next.state;
    actions.push(...next.actions.map((a) => ('weight' in a ? `${a.type}:${a.weight}` : a.type)));
  }
  return { state, actions };
}

const ready: RolloutEvent = { type: 'canary-ready' };
const due: RolloutEvent = { type: 'look-due' };
const summary = (changes: Partial<LookSummary> = {}): LookSummary => ({
  verdict: 'ok',
  reason: 'every gate passed its latest look',
  passing: true,
  decisive: false,
  shortOfPower: [],
  ...changes,
});
const look = (changes: Partial<LookSummary> = {}): RolloutEvent => ({ type: 'look', summary: summary(changes) });
const failing = look({ verdict: 'fail', reason: 'error-rate above 1.5x', passing: false });
const warming = look({ passing: false, pending: "gate 'error-rate' is inconclusive: canary served 12 requests" });

/** Looks every 15 s from `from` until `to` (inclusive), each with the given summary. */
function looksBetween(from: number, to: number, event: RolloutEvent = look()): Array<[number, RolloutEvent]> {
  const out: Array<[number, RolloutEvent]> = [];
  for (let t = from + 15; t <= to; t += 15) out.push([t, due], [t, event]);
  return out;
}

describe('rollout state machine: looks inside every step', () => {
  it('looks every look-every, ends each step at its interval, and promotes', () => {
    const { state, actions } = run([
      [0, { type: 'start' }],
      [0, ready],
      ...looksBetween(0, 60),
      [60, ready],
      ...looksBetween(60, 120),
      [120, ready],
      ...looksBetween(120, 180),
      [181, { type: 'promoted' }],
    ]);
    expect(state.phase).toBe('promoted');
    expect(actions.filter((a) => a.startsWith('analyze')).length).toBe(12);
    expect(state.timeline.map((s) => [s.weight, s.result, s.looks, s.endReason])).toEqual([
      [10, 'pass', 4, 'interval'],
      [50, 'pass', 4, 'interval'],
      [100, 'pass', 4, 'interval'],
    ]);
    expect(state.timeline[0]).toMatchObject({ startedAt: at(0).toISOString(), endedAt: at(60).toISOString() });
    expect(exitCodeFor(state)).toBe(0);
  });

  it('the next look is one look-every on, or a step bound when that comes first', () => {
    const state = { ...initialState([10], { ...SCHEDULE, lookEveryMs: 40_000 }), stepReadyAt: at(0).toISOString() };
    expect(nextLookAt(state, at(0))).toEqual(at(40));
    expect(nextLookAt(state, at(40))).toEqual(at(60));
    expect(nextLookAt(state, at(60))).toEqual(at(100));
    expect(nextLookAt(state, at(170))).toEqual(at(180));
    const early = { ...state, schedule: { ...state.schedule, advanceOnEvidence: true } };
    expect(nextLookAt(early, at(0))).toEqual(at(30));
    const { actions } = transition(transition(initialState([10], SCHEDULE), { type: 'start' }, T0).state, ready, at(5));
    expect(actions).toEqual([{ type: 'wait', until: at(20) }]);
  });

  it('a decisive failure rolls back at that look, mid-step', () => {
    const { state, actions } = run([
      [0, { type: 'start' }],
      [0, ready],
      [15, due],
      [15, look()],
      [30, due],
      [30, failing],
    ]);
    expect(state.phase).toBe('rolling-back');
    expect(state.cause).toBe('gate-failed');
    expect(state.reason).toBe('analysis failed at step 1/3 (10%): error-rate above 1.5x');
    expect(state.timeline[0]).toMatchObject({
      result: 'fail',
      looks: 2,
      endReason: 'failed',
      endedAt: at(30).toISOString(),
    });
    expect(actions).toContain('roll-back');
  });

  it('a step short of evidence runs on past its interval, then is inconclusive at max-step-duration', () => {
    const { state } = run([
      [0, { type: 'start' }],
      [0, ready],
      ...looksBetween(0, 180, warming),
      [181, { type: 'rolled-back' }],
    ]);
    expect(state.phase).toBe('rolled-back');
    expect(state.cause).toBe('inconclusive');
    expect(state.reason).toMatch(
      /no decision at step 1\/3 \(10%\) after max-step-duration: gate 'error-rate' is inconclusive/,
    );
    expect(state.timeline[0]).toMatchObject({ result: 'inconclusive', looks: 12, endReason: 'max-duration' });
    expect(exitCodeFor(state)).toBe(4);
  });

  it('a step measured late advances at the first passing look after its interval', () => {
    const { state } = run([
      [0, { type: 'start' }],
      [0, ready],
      ...looksBetween(0, 75, warming),
      [90, due],
      [90, look()],
    ]);
    expect(state.phase).toBe('progressing');
    expect(state.timeline[0]).toMatchObject({ result: 'pass', looks: 6, endReason: 'interval' });
  });

  it('with on-inconclusive hold the canary stays', () => {
    const { state, actions } = run([[0, { type: 'start' }], [0, ready], ...looksBetween(0, 180, warming)], {
      ...DEFAULT_LIMITS,
      onInconclusive: 'hold',
    });
    expect(state.phase).toBe('held');
    expect(actions).toContain('hold');
    expect(exitCodeFor(state)).toBe(4);
  });

  it('advance-on-evidence ends a step once every gate is decisive and min-step-duration passed', () => {
    const schedule = { ...SCHEDULE, advanceOnEvidence: true };
    const decisive = look({ decisive: true });
    const { state } = run(
      [
        [0, { type: 'start' }],
        [0, ready],
        [15, due],
        [15, decisive],
        [30, due],
        [30, decisive],
      ],
      DEFAULT_LIMITS,
      [10, 100],
      schedule,
    );
    expect(state.timeline[0]).toMatchObject({
      result: 'pass',
      looks: 2,
      endReason: 'evidence',
      endedAt: at(30).toISOString(),
    });
    expect(state.stepIndex).toBe(1);
    const off = run([
      [0, { type: 'start' }],
      [0, ready],
      [15, due],
      [15, decisive],
      [30, due],
      [30, decisive],
    ]);
    expect(off.state.phase).toBe('waiting');
  });

  it('with power set, the last step runs on until every relative gate has it', () => {
    const schedule = { ...SCHEDULE, power: 0.8 };
    const short = look({ shortOfPower: ['error-rate (power 0.4 < 0.8)'] });
    const { state, actions } = run(
      [[0, { type: 'start' }], [0, ready], ...looksBetween(0, 90, short), [105, due], [105, look()]],
      DEFAULT_LIMITS,
      [100],
      schedule,
    );
    expect(state.phase).toBe('promoting');
    expect(actions).toContain('promote');
    expect(state.timeline[0]).toMatchObject({ result: 'pass', looks: 7, endReason: 'power' });
    const never = run(
      [[0, { type: 'start' }], [0, ready], ...looksBetween(0, 180, short)],
      DEFAULT_LIMITS,
      [100],
      schedule,
    );
    expect(never.state.cause).toBe('inconclusive');
    expect(never.state.reason).toMatch(/short of power 0.8: error-rate \(power 0.4 < 0.8\)/);
    // Earlier steps advance at their interval whatever the power: more traffic is how evidence grows.
    const earlier = run(
      [[0, { type: 'start' }], [0, ready], ...looksBetween(0, 60, short)],
      DEFAULT_LIMITS,
      [10, 50, 100],
      schedule,
    );
    expect(earlier.state.stepIndex).toBe(1);
    // Before a final 100% step (where the stable serves nothing), the step before it waits for the power.
    const beforeFull = run(
      [[0, { type: 'start' }], [0, ready], ...looksBetween(0, 60, short)],
      DEFAULT_LIMITS,
      [50, 100],
      schedule,
    );
    expect([beforeFull.state.stepIndex, beforeFull.state.phase]).toEqual([0, 'waiting']);
  });

  type Row = [string, Array<RolloutEvent | [number, RolloutEvent]>, Partial<Limits>, Phase, string | undefined, number];
  const rows: Row[] = [
    [
      'an inconclusive summary (a limit ran out) ends the step at once',
      [
        [0, { type: 'start' }],
        [0, ready],
        [15, due],
        [15, look({ verdict: 'inconclusive', reason: 'limit' })],
        { type: 'rolled-back' },
      ],
      {},
      'rolled-back',
      'inconclusive',
      4,
    ],
    [
      'looks no gate could be measured at keep the step waiting',
      [
        [0, { type: 'start' }],
        [0, ready],
        [15, due],
        [15, look({ verdict: 'error', passing: false })],
      ],
      {},
      'waiting',
      undefined,
      3,
    ],
    [
      'a canary that never becomes ready rolls back',
      [{ type: 'start' }, { type: 'canary-not-ready', reason: 'ImagePullBackOff' }, { type: 'rolled-back' }],
      {},
      'rolled-back',
      'not-ready',
      3,
    ],
    [
      'manual promote skips the remaining steps',
      [{ type: 'start' }, ready, { type: 'promote-requested' }, { type: 'promoted' }],
      {},
      'promoted',
      undefined,
      0,
    ],
    [
      'manual abort rolls back',
      [{ type: 'start' }, ready, due, { type: 'abort-requested' }, { type: 'rolled-back' }],
      {},
      'aborted',
      'aborted',
      3,
    ],
    [
      'events out of order change nothing',
      [{ type: 'start' }, due, failing, { type: 'promoted' }],
      {},
      'progressing',
      undefined,
      3,
    ],
  ];
  it.each(rows)('%s', (_name, events, limits, phase, cause, exit) => {
    const { state } = run(events, { ...DEFAULT_LIMITS, ...limits });
    expect(state.phase).toBe(phase);
    expect(state.cause).toBe(cause);
    if (TERMINAL.includes(phase)) expect(exitCodeFor(state)).toBe(exit);
  });

  // Every non-terminal state answers an error by steering to a known version.
  const reach: Record<string, RolloutEvent[]> = {
    pending: [],
    progressing: [{ type: 'start' }],
    waiting: [{ type: 'start' }, ready],
    analyzing: [{ type: 'start' }, ready, due],
    promoting: [{ type: 'start' }, ready, { type: 'promote-requested' }],
    'rolling-back': [{ type: 'start' }, ready, due, failing],
  };
  const error: RolloutEvent = { type: 'error', error: 'connection reset' };
  it.each([
    ['pending', [error], 'failed', []],
    ['progressing', [error], 'rolling-back', ['roll-back']],
    ['waiting', [error], 'rolling-back', ['roll-back']],
    ['analyzing', [error], 'rolling-back', ['roll-back']],
    ['promoting', [error], 'promoting', ['promote']],
    ['promoting', [error, error, error], 'rolling-back', ['roll-back']],
    ['rolling-back', [error], 'rolling-back', ['roll-back']],
    ['rolling-back', [error, error, error], 'failed', ['finish']],
  ] as [string, RolloutEvent[], Phase, string[]][])(
    'an error while %s (x%#) -> %s',
    (from, errors, phase, lastActions) => {
      const { state, actions } = run([...(reach[from] as RolloutEvent[]), ...errors]);
      expect(state.phase).toBe(phase);
      for (const action of lastActions) expect(actions).toContain(action);
      if (phase === 'rolling-back') {
        const done = transition(state, { type: 'rolled-back' }, at(99)).state as RolloutState;
        expect(done.phase).toBe('rolled-back');
      }
    },
  );

  it('ignores everything once finished', () => {
    const { state } = run([{ type: 'start' }, ready, due, failing, { type: 'rolled-back' }, { type: 'start' }, error]);
    expect(state.phase).toBe('rolled-back');
  });
});
