/**
 * A token bucket per receiver, sized from the platform's published limit.
 *
 * A bucket of capacity `burst` refilled at `r` tokens per window W lets at most `burst + r*W`
 * messages through in any window W. To stay within "at most N messages per W" (DingTalk and
 * WeCom robots: 20 per minute; beyond that DingTalk throttles the robot for 10 minutes), the
 * bucket is built with burst b = max(1, round(N/10)) and r = N - b per W, so b + r = N.
 * Every attempt takes a token (retries count against the platform's limit too).
 */
import { abortableSleep, AbortedError } from './retry.js';

export interface RateLimit {
  /** At most this many messages ... */
  messages: number;
  /** ... in any window of this length, ms. */
  perMs: number;
  /** Bucket capacity (default max(1, round(messages / 10))). */
  burst?: number;
}

export class TokenBucket {
  readonly capacity: number;
  /** tokens per ms */
  readonly refillRate: number;
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limit.messages >= 1) || !(limit.perMs > 0)) throw new RangeError('rate limit needs messages >= 1 and a window > 0');
    this.capacity = Math.max(1, Math.min(limit.messages, limit.burst ?? Math.round(limit.messages / 10)));
    this.refillRate = Math.max(1, limit.messages - this.capacity) / limit.perMs;
    this.tokens = this.capacity;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    if (t > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + (t - this.last) * this.refillRate);
      this.last = t;
    }
  }

  /** Takes a token when one is available (returns 0), else returns the ms until one will be. */
  tryTake(): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.refillRate));
  }

  /** Tokens available now (fractional). */
  get available(): number {
    this.refill();
    return this.tokens;
  }

  /**
   * Waits for a token, first come first served; rejects with AbortedError when `signal` aborts.
   * Resolves with the ms waited.
   */
  take(signal?: AbortSignal): Promise<number> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    const started = this.now();
    return (async () => {
      try {
        await waitFor(previous, signal);
        for (;;) {
          const wait = this.tryTake();
          if (wait === 0) return this.now() - started;
          await abortableSleep(wait, signal);
        }
      } finally {
        release();
      }
    })();
  }
}

function waitFor(promise: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new AbortedError(signal.reason));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new AbortedError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
