/**
 * Delivery of notifications to one receiver: suppression of recently delivered idempotency keys,
 * the receiver's rate limit, a timeout on every request, retries with exponential backoff on
 * 5xx / 429 / 408 / network errors / timeouts / throttling errcodes (honouring Retry-After), and
 * a verdict per notification that the consumer turns into a commit or a dead letter.
 *
 * Aborting (shutdown, partition rebalance) interrupts the waits (backoff, rate limit) but never an
 * attempt in flight: an attempt that reached the platform is awaited (its timeout bounds it), so
 * "delivered" is known before the offset is committed.
 */
import { register as defaultRegistry, type Registry } from 'prom-client';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { fetchSender, type HttpSender } from './http.js';
import { LruSet } from './lru.js';
import { alertingMetrics, type AlertingMetrics } from './metrics.js';
import type { Notification } from './notification.js';
import { TokenBucket } from './rate-limit.js';
import { RenderError, type FailureCause, type Receiver, type RenderedMessage, type Verdict } from './receivers/types.js';
import { abortableSleep, AbortedError, backoffDelay } from './retry.js';
import type { Redactor } from './secrets.js';

export type DeliveryOutcome =
  | { kind: 'delivered'; attempts: number }
  /** already delivered (or dead-lettered) by this process: not sent again */
  | { kind: 'duplicate' }
  /** not for this receiver (a resolved notification and sendResolved: false) */
  | { kind: 'skipped'; reason: string }
  /** given up: dead-letter it */
  | { kind: 'failed'; permanent: boolean; cause: FailureCause; reason: string; attempts: number }
  /** interrupted before delivery: do not commit, the record will be read again */
  | { kind: 'aborted'; attempts: number };

export interface DelivererOptions {
  /** Capacity of the idempotency-key cache (default 10 000). */
  dedupeCacheSize?: number;
  send?: HttpSender;
  now?: () => number;
  random?: () => number;
  registry?: Registry;
  metrics?: AlertingMetrics;
  logger?: Logger;
  redactor?: Redactor;
}

export class Deliverer {
  private readonly delivered: LruSet;
  private readonly bucket: TokenBucket | null;
  private readonly send: HttpSender;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly metrics: AlertingMetrics;
  private readonly labels: { receiver: string; type: string };
  private readonly logger: Logger;
  private readonly redact: (text: string) => string;

  constructor(
    readonly receiver: Receiver,
    options: DelivererOptions = {},
  ) {
    this.delivered = new LruSet(options.dedupeCacheSize ?? 10_000);
    this.now = options.now ?? Date.now;
    this.bucket = receiver.config.rateLimit ? new TokenBucket(receiver.config.rateLimit, this.now) : null;
    this.send = options.send ?? fetchSender;
    this.random = options.random ?? Math.random;
    this.metrics = options.metrics ?? alertingMetrics(options.registry ?? defaultRegistry);
    this.labels = { receiver: receiver.name, type: receiver.type };
    this.logger = (options.logger ?? silentLogger).child({ receiver: receiver.name, receiverType: receiver.type });
    const redactor = options.redactor;
    this.redact = redactor ? (t) => redactor.redact(t) : (t) => t;
  }

  get name(): string {
    return this.receiver.name;
  }

  /** Whether this process already delivered (or dead-lettered) the key to this receiver. */
  hasDelivered(idempotencyKey: string): boolean {
    return this.delivered.has(idempotencyKey);
  }

  /** Remembers the key as done (delivered, or dead-lettered so a re-read does not dead-letter it twice). */
  markDone(idempotencyKey: string): void {
    this.delivered.add(idempotencyKey);
  }

  async deliver(n: Notification, signal?: AbortSignal): Promise<DeliveryOutcome> {
    const config = this.receiver.config;
    if (n.status === 'resolved' && !config.sendResolved) return { kind: 'skipped', reason: 'sendResolved is false' };
    if (this.delivered.has(n.idempotencyKey)) {
      this.metrics.duplicates.inc(this.labels);
      this.logger.info({ idempotencyKey: n.idempotencyKey }, 'notification already delivered by this process: not sent again');
      return { kind: 'duplicate' };
    }
    let message: RenderedMessage;
    try {
      message = this.receiver.render(n, this.now());
    } catch (error) {
      const reason = this.redact(error instanceof RenderError ? error.message : `rendering failed: ${(error as Error).message}`);
      this.metrics.failed.inc({ ...this.labels, cause: 'render' });
      this.logger.error({ idempotencyKey: n.idempotencyKey, reason }, 'cannot render a valid message: dead-lettering it');
      return { kind: 'failed', permanent: true, cause: 'render', reason, attempts: 0 };
    }
    if (message.truncated) this.metrics.truncated.inc(this.labels);

    const policy = config.retry;
    const started = this.now();
    let attempts = 0;
    for (;;) {
      if (signal?.aborted) return { kind: 'aborted', attempts };
      if (this.bucket) {
        try {
          const waited = await this.bucket.take(signal);
          if (waited > 0) this.metrics.rateLimitedSeconds.inc(this.labels, waited / 1000);
        } catch (error) {
          if (error instanceof AbortedError) return { kind: 'aborted', attempts };
          throw error;
        }
      }
      attempts += 1;
      const now = this.now();
      const result = await this.send(this.receiver.request(message, now), config.timeoutMs);
      this.metrics.requestSeconds.observe(this.labels, result.elapsedMs / 1000);
      const verdict: Verdict =
        result.kind === 'response'
          ? this.receiver.judge(result.response, this.now())
          : { ok: false, retryable: true, cause: result.timedOut ? 'timeout' : 'network', detail: result.error.message, retryAfterMs: null };
      if (verdict.ok) {
        this.delivered.add(n.idempotencyKey);
        this.metrics.sent.inc(this.labels);
        this.metrics.deliverySeconds.observe(this.labels, (this.now() - started) / 1000);
        this.logger.info({ idempotencyKey: n.idempotencyKey, status: n.status, attempts }, 'notification delivered');
        return { kind: 'delivered', attempts };
      }
      const detail = this.redact(verdict.detail);
      if (!verdict.retryable || attempts >= policy.maxAttempts) {
        this.metrics.failed.inc({ ...this.labels, cause: verdict.cause });
        const reason = verdict.retryable ? `gave up after ${attempts} attempts; last: ${detail}` : detail;
        this.logger.error({ idempotencyKey: n.idempotencyKey, attempts, cause: verdict.cause, reason }, 'notification failed: dead-lettering it');
        return { kind: 'failed', permanent: !verdict.retryable, cause: verdict.cause, reason, attempts };
      }
      const retryAfter = verdict.cause === 'throttled' ? Math.max(verdict.retryAfterMs ?? 0, policy.throttleBackoffMs) : verdict.retryAfterMs;
      const delay = backoffDelay(policy, attempts, retryAfter, this.random);
      this.metrics.retries.inc({ ...this.labels, cause: verdict.cause });
      this.logger.warn(
        { idempotencyKey: n.idempotencyKey, attempt: attempts, cause: verdict.cause, detail, retryInMs: delay },
        'notification attempt failed; retrying',
      );
      try {
        await abortableSleep(delay, signal);
      } catch (error) {
        if (error instanceof AbortedError) return { kind: 'aborted', attempts };
        throw error;
      }
    }
  }
}
