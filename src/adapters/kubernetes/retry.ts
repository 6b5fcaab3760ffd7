// Retries for API calls: transient errors (429, 5xx, dropped connections) with exponential backoff.
import { classify, type Failure } from './errors.js';

export interface RetryOptions {
  /** Tries in all, the first included (default 6). */
  attempts?: number;
  /** First backoff; doubles each time up to `maxDelayMs` (defaults 200 ms, 5 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `call` until it succeeds, fails with a non-retryable error, or runs out of attempts. `retryOn` says which
 * failures are worth another try (a 409 only where the caller re-reads first).
 */
export async function withRetry<T>(
  call: () => Promise<T>,
  options: RetryOptions = {},
  retryOn: Failure[] = ['transient'],
): Promise<T> {
  const attempts = options.attempts ?? 6;
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5000;
  const sleep = options.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= attempts || !retryOn.includes(classify(error))) throw error;
      await sleep(Math.min(max, base * 2 ** (attempt - 1)));
    }
  }
}
