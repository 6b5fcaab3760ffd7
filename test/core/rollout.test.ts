import {
  DEFAULT_LIMITS,
  exitCodeFor,
  initialState,
  type Limits,
  type Phase,
  type RolloutEvent,
  type RolloutState,
  TERMINAL,
  transition,
} from '../../src/core/rollout.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** Feeds events one by one (a second apart) and returns the final state and every action type seen. */
function run(events: RolloutEvent[], limits: Limits = DEFAULT_LIMITS, steps = [10, 50, 100]) {
  let state = initialState(steps, 30_000);
  const actions: string[] = [];
  events.forEach((event, i) => {
    const next = transition(state, event, at(i), limits);
    state = next.state;
    actions.push(...next.actions.map((a) => ('weight' in a ? `${a.type}:${a.weight}` : a.type)));
  });
  return { state, actions };
}

const ready: RolloutEvent = { type: 'canary-ready' };
const tick: RolloutEvent = { type: 'interval-elapsed' };
const look = (outcome: 'pass' | 'fail' | 'inconclusive' | 'error' | 'continue'): RolloutEvent => ({
  type: 'look',
  outcome,
  reason: `${outcome} reason`,
});
const passStep = [ready, tick, look('pass')];

describe('rollout state machine', () => {
  it('walks every step and promotes', () => {
    const { state, actions } = run([{ type: 'start' }, ...passStep, ...passStep, ...passStep, { type: 'promoted' }]);
    expect(state.phase).toBe('promoted');
    expect(actions).toEqual([
      'apply-weight:10',
      'report',
      'wait',
      'analyze:10',
      'apply-weight:50',
      'report',
      'wait',
      'analyze:50',
      'apply-weight:100',
      'report',
      'wait',
      'analyze:100',
      'promote',
      'report',
      'report',
      'finish',
    ]);
    expect(state.timeline.map((s) => [s.weight, s.result])).toEqual([
      [10, 'pass'],
      [50, 'pass'],
      [100, 'pass'],
    ]);
    expect(state.timeline[0]).toMatchObject({ startedAt: at(0).toISOString(), endedAt: at(3).toISOString() });
    expect(exitCodeFor(state)).toBe(0);
  });

  it('waits for the interval before each look', () => {
    const { actions } = transition(transition(initialState([10], 30_000), { type: 'start' }, T0).state, ready, at(5));
    expect(actions).toEqual([{ type: 'wait', until: at(35) }]);
  });

  type Row = [string, RolloutEvent[], Partial<Limits>, Phase, string | undefined, number];
  const rows: Row[] = [
    [
      'a failed gate rolls back at once (failureLimit 0)',
      [{ type: 'start' }, ready, tick, look('fail'), { type: 'rolled-back' }],
      {},
      'rolled-back',
      'gate-failed',
      3,
    ],
    [
      'failureLimit 1 tolerates one failure',
      [
        { type: 'start' },
        ready,
        tick,
        look('fail'),
        tick,
        look('pass'),
        ready,
        tick,
        look('fail'),
        { type: 'rolled-back' },
      ],
      { failureLimit: 1 },
      'rolled-back',
      'gate-failed',
      3,
    ],
    [
      'inconclusive past the limit rolls back',
      [{ type: 'start' }, ready, tick, look('inconclusive'), tick, look('inconclusive'), { type: 'rolled-back' }],
      { inconclusiveLimit: 1 },
      'rolled-back',
      'inconclusive',
      4,
    ],
    [
      'inconclusive with hold leaves the canary',
      [{ type: 'start' }, ready, tick, look('inconclusive')],
      { inconclusiveLimit: 0, onInconclusive: 'hold' },
      'held',
      'inconclusive',
      4,
    ],
    [
      'errors past consecutiveErrorLimit are inconclusive',
      [
        { type: 'start' },
        ready,
        tick,
        look('error'),
        tick,
        look('error'),
        tick,
        look('error'),
        { type: 'rolled-back' },
      ],
      { consecutiveErrorLimit: 2 },
      'rolled-back',
      'inconclusive',
      4,
    ],
    [
      'a good look resets the error count',
      [
        { type: 'start' },
        ready,
        tick,
        look('error'),
        tick,
        look('continue'),
        tick,
        look('error'),
        tick,
        look('pass'),
        ready,
      ],
      { consecutiveErrorLimit: 1 },
      'waiting',
      undefined,
      3,
    ],
    [
      'continue past maxLooksPerStep is inconclusive',
      [{ type: 'start' }, ready, tick, look('continue'), tick, look('continue'), { type: 'rolled-back' }],
      { maxLooksPerStep: 2 },
      'rolled-back',
      'inconclusive',
      4,
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
      [{ type: 'start' }, ready, tick, { type: 'abort-requested' }, { type: 'rolled-back' }],
      {},
      'aborted',
      'aborted',
      3,
    ],
    [
      'events out of order change nothing',
      [{ type: 'start' }, tick, look('fail'), { type: 'promoted' }],
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

  it('keeps the reason of a failed gate with the step it failed at', () => {
    const { state } = run([{ type: 'start' }, ...passStep, ready, tick, look('fail')]);
    expect(state.reason).toBe('analysis failed at step 2/3 (50%): fail reason');
    expect(state.timeline.map((s) => s.result)).toEqual(['pass', 'fail']);
  });

  // Every non-terminal state answers an error by steering to a known version.
  const reach: Record<string, RolloutEvent[]> = {
    pending: [],
    progressing: [{ type: 'start' }],
    waiting: [{ type: 'start' }, ready],
    analyzing: [{ type: 'start' }, ready, tick],
    promoting: [{ type: 'start' }, ready, { type: 'promote-requested' }],
    'rolling-back': [{ type: 'start' }, ready, tick, look('fail')],
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
    const { state } = run([
      { type: 'start' },
      ready,
      tick,
      look('fail'),
      { type: 'rolled-back' },
      { type: 'start' },
      error,
    ]);
    expect(state.phase).toBe('rolled-back');
  });
});
