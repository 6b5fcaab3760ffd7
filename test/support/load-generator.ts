// Sends real HTTP requests at a given rate to one or more URLs, for a bounded time or count, and counts the answers.
import { setTimeout as sleep } from 'node:timers/promises';

export interface LoadOptions {
  /** Targets; with `weights`, each request picks one at random by weight (like a traffic split), else round-robin. */
  urls: string[];
  weights?: number[];
  /** Requests per second (mean, for poisson arrivals). */
  ratePerSecond: number;
  /** Stop after this long or this many requests, whichever comes first; at least one must be given. */
  durationMs?: number;
  count?: number;
  /** `even` spacing, or `poisson` arrivals (exponential gaps) as real traffic has. Default `even`. */
  arrival?: 'even' | 'poisson';
  method?: 'GET' | 'POST';
  /** JSON body for POST. */
  body?: unknown;
  /** Per request timeout (default 10 s). */
  timeoutMs?: number;
  /** Source of randomness for arrivals and weighted picks; pass a seeded one for reproducible runs. */
  random?: () => number;
  /** Stops early, e.g. when a test's scenario ends. */
  signal?: AbortSignal;
}

export interface LoadResult {
  sent: number;
  /** Answers by HTTP status; `error` counts requests that got no answer (refused, reset, timed out). */
  byStatus: Record<string, number>;
  byUrl: Record<string, Record<string, number>>;
  elapsedMs: number;
}

/** A hard ceiling so a wrong rate or duration can never run away. */
const MAX_REQUESTS = 200000;
/**
 * Most requests open at once, as a client's connection pool bounds them: a server that stalls on a loaded machine
 * must slow the load down, not pile up sockets until the test process runs out of file descriptors.
 */
const MAX_IN_FLIGHT = 256;

function chooser(options: LoadOptions, random: () => number): () => string {
  const { urls, weights } = options;
  if (urls.length === 0) throw new Error('load generator: give at least one URL');
  if (!weights) {
    let next = 0;
    return () => urls[next++ % urls.length] as string;
  }
  if (weights.length !== urls.length || weights.some((w) => !(w >= 0)) || weights.every((w) => w === 0)) {
    throw new Error(`load generator: weights ${JSON.stringify(weights)} must be one non-negative number per URL`);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  return () => {
    let point = random() * total;
    for (let i = 0; i < urls.length; i++) {
      point -= weights[i] as number;
      if (point < 0) return urls[i] as string;
    }
    return urls[urls.length - 1] as string;
  };
}

export async function generateLoad(options: LoadOptions): Promise<LoadResult> {
  const { ratePerSecond, durationMs, method = 'GET', arrival = 'even', timeoutMs = 10000 } = options;
  if (!(ratePerSecond > 0)) throw new Error(`load generator: ratePerSecond ${ratePerSecond} must be above 0`);
  if (durationMs === undefined && options.count === undefined) {
    throw new Error('load generator: give durationMs or count, so the load stops by itself');
  }
  const random = options.random ?? Math.random;
  const limit = Math.min(options.count ?? MAX_REQUESTS, MAX_REQUESTS);
  const pick = chooser(options, random);
  const result: LoadResult = { sent: 0, byStatus: {}, byUrl: {}, elapsedMs: 0 };
  const tally = (url: string, status: string): void => {
    result.byStatus[status] = (result.byStatus[status] ?? 0) + 1;
    const perUrl = (result.byUrl[url] ??= {});
    perUrl[status] = (perUrl[status] ?? 0) + 1;
  };
  const send = async (url: string): Promise<void> => {
    try {
      const response = await fetch(url, {
        method,
        headers: method === 'POST' ? { 'content-type': 'application/json' } : undefined,
        body: method === 'POST' ? JSON.stringify(options.body ?? {}) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer();
      tally(url, String(response.status));
    } catch {
      tally(url, 'error');
    }
  };

  const started = performance.now();
  const gapMs = (): number =>
    arrival === 'poisson' ? (-Math.log(1 - random()) * 1000) / ratePerSecond : 1000 / ratePerSecond;
  const inFlight = new Set<Promise<void>>();
  let due = 0;
  while (result.sent < limit && !options.signal?.aborted) {
    if (durationMs !== undefined && due >= durationMs) break;
    const wait = due - (performance.now() - started);
    if (wait > 1) await sleep(wait);
    if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const request = send(pick());
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
    result.sent++;
    due += gapMs();
  }
  await Promise.all(inFlight);
  result.elapsedMs = performance.now() - started;
  return result;
}
