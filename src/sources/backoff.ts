/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * the n-th consecutive failure waits uniformly in [0, min(maxMs, initialMs * 2^n)). A server's
 * Retry-After is a floor (capped by maxRetryAfterMs). The failure count resets once the caller
 * reports a healthy period (e.g. a watch that stayed up for resetAfterMs).
 */

export interface BackoffOptions {
  /** Base delay, ms. Default 500. */
  initialMs: number;
  /** Cap of the exponential part, ms. Default 30 000. */
  maxMs: number;
  /** A connection healthy for this long resets the failure count, ms. Default 60 000. */
  resetAfterMs: number;
  /** Cap applied to a server's Retry-After, ms. Default 300 000. */
  maxRetryAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 500,
  maxMs: 30_000,
  resetAfterMs: 60_000,
  maxRetryAfterMs: 300_000,
};

export class Backoff {
  private failures = 0;

  constructor(
    readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Consecutive failures so far. */
  get attempt(): number {
    return this.failures;
  }

  /** Records a failure and returns how long to wait before the next try, ms. */
  next(retryAfterMs?: number | null): number {
    const { initialMs, maxMs, maxRetryAfterMs } = this.options;
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(this.failures, 52));
    this.failures += 1;
    const jittered = Math.floor(this.random() * ceiling);
    if (retryAfterMs === undefined || retryAfterMs === null || !(retryAfterMs > 0)) return jittered;
    return Math.max(jittered, Math.min(retryAfterMs, maxRetryAfterMs));
  }

  reset(): void {
    this.failures = 0;
  }

  /** Resets the failure count when a connection lasted at least resetAfterMs. */
  healthyFor(durationMs: number): void {
    if (durationMs >= this.options.resetAfterMs) this.failures = 0;
  }
}

/** Parses an HTTP Retry-After header (delta-seconds or HTTP-date) into ms from `now`, or null. */
export function parseRetryAfter(value: string | string[] | undefined | null, now: number = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v !== 'string' || v.trim() === '') return null;
  const trimmed = v.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/**
 * Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. The timer is
 * cleared either way, so nothing outlives the caller.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
