// Expected time for the judge to catch a given regression at a given request rate, for `plan` to show before a
// rollout starts. Uses the expected counts at each look (about the median detection time the benchmark measures).
import { alphaAtLook, compareRates, normalUpperTail } from './stats.js';

export interface TrafficAssumption {
  /** Requests per second reaching the canary and the baseline (stable) during the step. */
  canaryRps: number;
  baselineRps: number;
  intervalSeconds: number;
  /** Alpha of this gate (its share of the overall alpha). */
  alpha: number;
  /** Give up after this long (default 1 h). */
  maxSeconds?: number;
}

export interface Detection {
  /** Seconds of traffic until the judge fails the canary; undefined: not within maxSeconds. */
  seconds?: number;
  looks?: number;
}

function firstLook(traffic: TrafficAssumption, caught: (seconds: number, look: number) => boolean): Detection {
  const limit = traffic.maxSeconds ?? 3600;
  for (let look = 1; look * traffic.intervalSeconds <= limit; look++) {
    const seconds = look * traffic.intervalSeconds;
    if (caught(seconds, look)) return { seconds, looks: look };
  }
  return {};
}

/** An error rate of `canaryRate` against `baselineRate`, judged with `max-increase` as `maxRatio`. */
export function errorRateDetection(
  baselineRate: number,
  canaryRate: number,
  maxRatio: number,
  traffic: TrafficAssumption,
): Detection {
  return firstLook(traffic, (seconds) => {
    const canaryTotal = traffic.canaryRps * seconds;
    const baselineTotal = traffic.baselineRps * seconds;
    return compareRates(
      { events: canaryTotal * canaryRate, total: canaryTotal },
      { events: baselineTotal * baselineRate, total: baselineTotal },
      maxRatio,
      traffic.alpha,
    ).worse;
  });
}

/**
 * A latency regression of effect size `slower` = P(a canary request is slower than a baseline one), 0.5 meaning no
 * change (a whole-distribution slow-down of 1.5x with log-sd 0.5 is about 0.72), judged by Mann–Whitney with alpha
 * spent over looks.
 */
export function latencyDetection(slower: number, traffic: TrafficAssumption): Detection {
  return firstLook(traffic, (seconds, look) => {
    const n1 = traffic.canaryRps * seconds;
    const n2 = traffic.baselineRps * seconds;
    const z = (slower - 0.5) * Math.sqrt((12 * n1 * n2) / (n1 + n2 + 1));
    return normalUpperTail(z) < alphaAtLook(traffic.alpha, look);
  });
}

function percent(rate: number): string {
  return `${Number((rate * 100).toPrecision(3))}%`;
}

/** "an error rate of 5% vs 0.5% at 20 rps would be caught in about 30 s" */
export function describeErrorRateDetection(
  baselineRate: number,
  canaryRate: number,
  maxRatio: number,
  traffic: TrafficAssumption,
): string {
  const detection = errorRateDetection(baselineRate, canaryRate, maxRatio, traffic);
  const what = `an error rate of ${percent(canaryRate)} vs ${percent(baselineRate)} at ${Number(traffic.canaryRps.toPrecision(3))} rps on the canary`;
  return detection.seconds === undefined
    ? `${what} would not be caught within ${traffic.maxSeconds ?? 3600} s: send more traffic to the canary or loosen alpha`
    : `${what} would be caught in about ${detection.seconds} s (${detection.looks} look(s))`;
}
