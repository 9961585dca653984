/**
 * Retry timing for notifications: exponential backoff with jitter, a server's Retry-After as a
 * floor (capped), and an abortable sleep that works with fake timers.
 */

export interface RetryPolicy {
  /** Attempts in total, the first included (>= 1). */
  maxAttempts: number;
  /** Backoff before the first retry, ms; doubled for each further one. */
  initialBackoffMs: number;
  /** Cap of the exponential backoff, ms. */
  maxBackoffMs: number;
  /** Cap applied to a server's Retry-After, ms. */
  maxRetryAfterMs: number;
  /** Floor of the wait after a platform says "too many messages" without a Retry-After (DingTalk/WeCom errcodes), ms. */
  throttleBackoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 6,
  initialBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  maxRetryAfterMs: 300_000,
  throttleBackoffMs: 30_000,
};

/**
 * Wait before retry number `retry` (1 = the first retry): the exponential delay
 * min(max, initial * 2^(retry-1)) with "equal jitter" (uniform in [d/2, d]), raised to the
 * server's Retry-After (capped by maxRetryAfterMs) when one was given.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, retryAfterMs: number | null = null, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.min(Math.max(0, retry - 1), 40));
  const jittered = Math.round(exp / 2 + (random() * exp) / 2);
  if (retryAfterMs === null || !(retryAfterMs > 0)) return jittered;
  return Math.max(jittered, Math.min(retryAfterMs, policy.maxRetryAfterMs));
}

/** Parses an HTTP Retry-After value (delta-seconds or HTTP-date) into ms from `now`; null when absent or invalid. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (typeof value !== 'string') return null;
  const v = value.trim();
  if (v === '') return null;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export class AbortedError extends Error {
  constructor(reason?: unknown) {
    super(`aborted${reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : ''}`);
    this.name = 'AbortedError';
  }
}

/** Resolves after `ms`; rejects with AbortedError as soon as `signal` aborts (the timer is cleared). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError(signal.reason));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError(signal?.reason));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
