// Retries for registry calls: 429, 5xx and network errors, with exponential backoff and Retry-After.

export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
}

export const defaultRetryPolicy: RetryPolicy = {
  retries: 4,
  baseDelayMs: 250,
  maxDelayMs: 8000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

/** Errors with no HTTP answer at all: refused, reset, timed out, socket hang up. */
export function isNetworkError(error: unknown): boolean {
  const value = error as { response?: unknown; code?: string; message?: string };
  if (value?.response) return false;
  const codes = ['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE'];
  return codes.includes(value?.code ?? '') || /socket hang up|aborted|timeout|ECONNRESET/i.test(value?.message ?? '');
}

/** Backoff for attempt `attempt` (0-based); a Retry-After in seconds wins, capped. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfter?: string): number {
  const seconds = retryAfter !== undefined ? Number(retryAfter) : NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, policy.maxDelayMs);
  return Math.min(policy.baseDelayMs * 2 ** attempt, policy.maxDelayMs);
}
