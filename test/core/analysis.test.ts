import { describe, expect, it } from '@jest/globals';
import { DEFAULT_LIMITS, summarizeLooks, type Look } from '../../src/core/analysis.js';
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

function withPower(look: GateLook, power: number): GateLook {
  return { ...look, power };
}

describe('summarizeLooks (Argo semantics for limits; passing, decisive and power for the step schedule)', () => {
  it.each([
    ['', DEFAULT_LIMITS, 'error', /no gate was measured/, false, false],
    ['P', DEFAULT_LIMITS, 'ok', /every gate passed its latest look/, true, false],
    ['PF', DEFAULT_LIMITS, 'fail', /gate 'g0' failed 1 look\(s\), more than failure-limit 0: g0 F/, false, false],
    ['PF', { ...DEFAULT_LIMITS, failureLimit: 1 }, 'ok', /gate 'g0' is fail: g0 F/, false, false],
    ['FPF', { ...DEFAULT_LIMITS, failureLimit: 1 }, 'fail', /failed 2 look/, false, false],
    ['EEEE', DEFAULT_LIMITS, 'error', /no gate could be measured/, false, false],
    [
      'EEEEE',
      DEFAULT_LIMITS,
      'inconclusive',
      /could not be measured 5 looks in a row \(consecutive-error-limit 4\)/,
      false,
      false,
    ],
    ['EEPEE', { ...DEFAULT_LIMITS, consecutiveErrorLimit: 2 }, 'error', /no gate could be measured/, false, false],
    ['IIII', DEFAULT_LIMITS, 'inconclusive', /inconclusive 4 times, more than inconclusive-limit 3/, false, false],
    ['WWWWWWP', DEFAULT_LIMITS, 'ok', /every gate passed/, true, false],
    ['WWWWWW', DEFAULT_LIMITS, 'ok', /gate 'g0' is inconclusive/, false, false],
    ['PD,PD', DEFAULT_LIMITS, 'ok', /every gate passed/, true, true],
    ['PD,PP', DEFAULT_LIMITS, 'ok', /every gate passed/, true, false],
    ['PP,PF', DEFAULT_LIMITS, 'fail', /gate 'g1'/, false, false],
  ] as const)('%s -> %s', (spec, limits, verdict, reason, passing, decisive) => {
    const summary = summarizeLooks(spec ? looks(spec) : [], limits);
    expect(summary.verdict).toBe(verdict);
    expect(summary.reason).toMatch(reason);
    expect(summary.passing).toBe(passing);
    expect(summary.decisive).toBe(decisive);
  });

  it('names the relative gates short of the power target; a decisive pass needs no power', () => {
    const [look] = looks('P,P,D');
    const gates = look!.gates;
    const latest: Look = {
      at: '0',
      gates: [withPower(gates[0]!, 0.42), withPower(gates[1]!, 0.91), withPower(gates[2]!, 0.1)],
    };
    expect(summarizeLooks([latest], DEFAULT_LIMITS, 0.8).shortOfPower).toEqual(['g0 (power 0.42 < 0.8)']);
    expect(summarizeLooks([latest], DEFAULT_LIMITS).shortOfPower).toEqual([]);
  });
});
