import { describe, expect, it } from '@jest/globals';
import { decideAnalysis, DEFAULT_LIMITS, type Look } from '../../src/core/analysis.js';
import type { GateLook, LookOutcome } from '../../src/core/judge.js';

type Code = 'P' | 'D' | 'F' | 'I' | 'W' | 'E';
const OUTCOME: Record<Code, LookOutcome> = {
  P: 'pass',
  D: 'pass',
  F: 'fail',
  I: 'inconclusive',
  W: 'inconclusive',
  E: 'error',
};

function gateLook(name: string, code: Code): GateLook {
  const outcome = OUTCOME[code];
  return {
    report: {
      name,
      result: outcome === 'error' ? 'inconclusive' : outcome,
      canary: 1,
      baseline: 1,
      threshold: 'max 1',
      samples: 1,
      reason: `${name} ${code}`,
    },
    outcome,
    decisive: code === 'D',
    insufficient: code === 'W',
  };
}

/** 'PF' = gate a passed then failed; several gates: 'PP,PF'. */
function looks(spec: string): Look[] {
  const gates = spec.split(',');
  const length = gates[0]!.length;
  return Array.from({ length }, (_, i) => ({
    at: String(i),
    gates: gates.map((codes, g) => gateLook(`g${g}`, codes[i] as Code)),
  }));
}

describe('decideAnalysis (Argo semantics)', () => {
  it.each([
    ['', false, DEFAULT_LIMITS, 'continue', /no look yet/],
    ['', true, DEFAULT_LIMITS, 'inconclusive', /no gate was measured/],
    ['P', false, DEFAULT_LIMITS, 'continue', /not decisive/],
    ['PPP', true, DEFAULT_LIMITS, 'pass', /every gate passed its last look \(3/],
    ['PF', false, DEFAULT_LIMITS, 'fail', /gate 'g0' failed 1 look\(s\), more than failure-limit 0: g0 F/],
    ['PF', false, { ...DEFAULT_LIMITS, failureLimit: 1 }, 'continue', /not decisive/],
    ['FPF', false, { ...DEFAULT_LIMITS, failureLimit: 1 }, 'fail', /failed 2 look/],
    ['EEEE', false, DEFAULT_LIMITS, 'continue', /not decisive/],
    [
      'EEEEE',
      false,
      DEFAULT_LIMITS,
      'inconclusive',
      /could not be measured 5 times in a row \(consecutive-error-limit 4\)/,
    ],
    ['EEPEE', false, { ...DEFAULT_LIMITS, consecutiveErrorLimit: 2 }, 'continue', /not decisive/],
    ['IIII', false, DEFAULT_LIMITS, 'inconclusive', /inconclusive 4 times, more than inconclusive-limit 3/],
    ['WWWWWWP', true, DEFAULT_LIMITS, 'pass', /passed its last look/],
    ['WWWWWW', true, DEFAULT_LIMITS, 'inconclusive', /still inconclusive at the last look/],
    ['PE', true, DEFAULT_LIMITS, 'inconclusive', /still error at the last look/],
    ['PD,PD', false, DEFAULT_LIMITS, 'pass', /decisively within its bounds: stopping early/],
    ['PD,PP', false, DEFAULT_LIMITS, 'continue', /not decisive/],
    ['PP,PF', false, DEFAULT_LIMITS, 'fail', /gate 'g1'/],
  ] as const)('%s (final %s) -> %s', (spec, final, limits, state, reason) => {
    const decision = decideAnalysis(spec ? looks(spec) : [], limits, final);
    expect(decision.state).toBe(state);
    expect(decision.reason).toMatch(reason);
  });
});
