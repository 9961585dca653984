import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { Deliverer } from '../../../src/alerting/deliver.js';
import type { HttpSender } from '../../../src/alerting/http.js';
import { alertNotification } from '../../../src/alerting/notification.js';
import { TokenBucket } from '../../../src/alerting/rate-limit.js';
import { createReceiver } from '../../../src/alerting/receivers/registry.js';
import { type AttemptResult, type HttpRequest, type ReceiverConfig } from '../../../src/alerting/receivers/types.js';
import { backoffDelay, DEFAULT_RETRY, parseRetryAfter } from '../../../src/alerting/retry.js';
import { Redactor } from '../../../src/alerting/secrets.js';
import { configFrom, resolvedAlert, sampleAlert } from './fixtures.js';

const CONFIG = configFrom(
  `
route: { receiver: hook }
defaults:
  retry: { maxAttempts: 4, initialBackoff: 1s, maxBackoff: 10s, maxRetryAfter: 30s, throttleBackoff: 20s }
receivers:
  - { name: hook, type: webhook, url: "http://127.0.0.1:1/hook" }
  - { name: quiet, type: webhook, url: "http://127.0.0.1:1/hook", sendResolved: false }
  - { name: dt, type: dingtalk, url: "\${env:DT}", rateLimit: null }
  - { name: limited, type: dingtalk, url: "\${env:DT}" }
`,
  { DT: 'https://oapi.dingtalk.com/robot/send?access_token=secret-token-123' },
);
const rc = (name: string) => CONFIG.receivers.find((r) => r.name === name) as ReceiverConfig;

type Reply = { status: number; body?: string; headers?: Record<string, string> } | 'timeout' | 'refused';

/** A sender answering from a script (the last reply repeats), recording each request's time. */
function scripted(replies: Reply[]) {
  const calls: Array<{ at: number; request: HttpRequest; timeoutMs: number }> = [];
  const send: HttpSender = async (request, timeoutMs) => {
    calls.push({ at: Date.now(), request, timeoutMs });
    const reply = replies[Math.min(calls.length - 1, replies.length - 1)] as Reply;
    if (reply === 'timeout')
      return { kind: 'error', error: new Error(`no complete response within ${timeoutMs} ms`), timedOut: true, elapsedMs: timeoutMs } satisfies AttemptResult;
    if (reply === 'refused') return { kind: 'error', error: new Error('request failed: ECONNREFUSED'), timedOut: false, elapsedMs: 1 } satisfies AttemptResult;
    return { kind: 'response', response: { status: reply.status, headers: reply.headers ?? {}, body: reply.body ?? '' }, elapsedMs: 5 } satisfies AttemptResult;
  };
  return { send, calls };
}

function deliverer(name: string, send: HttpSender, registry = new Registry()) {
  const redactor = new Redactor();
  redactor.add('https://oapi.dingtalk.com/robot/send?access_token=secret-token-123');
  return { d: new Deliverer(createReceiver(rc(name)), { send, registry, random: () => 1, redactor }), registry };
}

async function counter(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

const n = alertNotification(sampleAlert());
const T = Date.UTC(2025, 5, 1);

beforeEach(() => {
  vi.useFakeTimers({ now: T });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('retry policy', () => {
  it('doubles the backoff with equal jitter, up to the cap; Retry-After is a capped floor', () => {
    const p = { ...DEFAULT_RETRY, initialBackoffMs: 1000, maxBackoffMs: 5000, maxRetryAfterMs: 30_000 };
    expect([1, 2, 3, 4, 5].map((r) => backoffDelay(p, r, null, () => 1))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect([1, 2, 3].map((r) => backoffDelay(p, r, null, () => 0))).toEqual([500, 1000, 2000]);
    expect(backoffDelay(p, 1, 7000, () => 1)).toBe(7000);
    expect(backoffDelay(p, 3, 1000, () => 1)).toBe(4000);
    expect(backoffDelay(p, 1, 3_600_000, () => 1)).toBe(30_000);
    expect(parseRetryAfter('120', T)).toBe(120_000);
    expect(parseRetryAfter(new Date(T + 5000).toUTCString(), T)).toBe(5000);
    expect(parseRetryAfter('soon', T)).toBeNull();
  });
});

describe('delivery to one receiver', () => {
  it('retries 5xx with exponential backoff and delivers', async () => {
    const { send, calls } = scripted([{ status: 500 }, { status: 502 }, { status: 200 }]);
    const { d, registry } = deliverer('hook', send);
    const done = d.deliver(n);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await done).toEqual({ kind: 'delivered', attempts: 3 });
    expect(calls.map((c) => c.at - T)).toEqual([0, 1000, 3000]);
    expect(calls[0]?.timeoutMs).toBe(5000);
    expect(await counter(registry, 'kubevents_alert_notification_retries_total', { receiver: 'hook', cause: 'http_5xx' })).toBe(2);
    expect(await counter(registry, 'kubevents_alert_notifications_sent_total', { receiver: 'hook' })).toBe(1);
    expect(await counter(registry, 'kubevents_alert_notification_request_seconds', {})).toBeGreaterThan(0);
  });

  it('honours Retry-After on 429 (and on 503)', async () => {
    const { send, calls } = scripted([{ status: 429, headers: { 'retry-after': '7' } }, { status: 503, headers: { 'retry-after': '2' } }, { status: 204 }]);
    const { d } = deliverer('hook', send);
    const done = d.deliver(n);
    await vi.advanceTimersByTimeAsync(6_999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await done).toEqual({ kind: 'delivered', attempts: 3 });
    expect(calls.map((c) => c.at - T)).toEqual([0, 7000, 9000]);
  });

  it('retries timeouts and network errors', async () => {
    const { send, calls } = scripted(['timeout', 'refused', { status: 200 }]);
    const { d, registry } = deliverer('hook', send);
    const done = d.deliver(n);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await done).toMatchObject({ kind: 'delivered', attempts: 3 });
    expect(calls).toHaveLength(3);
    expect(await counter(registry, 'kubevents_alert_notification_retries_total', { cause: 'timeout' })).toBe(1);
    expect(await counter(registry, 'kubevents_alert_notification_retries_total', { cause: 'network' })).toBe(1);
  });

  it('gives up at once on a permanent error (4xx other than 429)', async () => {
    const { send, calls } = scripted([{ status: 400, body: 'invalid_payload' }]);
    const { d, registry } = deliverer('hook', send);
    expect(await d.deliver(n)).toEqual({ kind: 'failed', permanent: true, cause: 'http_4xx', reason: 'HTTP 400: invalid_payload', attempts: 1 });
    expect(calls).toHaveLength(1);
    expect(await counter(registry, 'kubevents_alert_notifications_failed_total', { receiver: 'hook', cause: 'http_4xx' })).toBe(1);
  });

  it('gives up when the attempts run out', async () => {
    const { send, calls } = scripted([{ status: 503 }]);
    const { d } = deliverer('hook', send);
    const done = d.deliver(n);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await done).toEqual({ kind: 'failed', permanent: false, cause: 'http_5xx', reason: 'gave up after 4 attempts; last: HTTP 503', attempts: 4 });
    expect(calls.map((c) => c.at - T)).toEqual([0, 1000, 3000, 7000]);
  });

  it('treats DingTalk errcodes in a 200 as failures: throttling waits the throttle backoff, others are permanent', async () => {
    const { send, calls } = scripted([
      { status: 200, body: '{"errcode":130101,"errmsg":"send too fast"}' },
      { status: 200, body: '{"errcode":0,"errmsg":"ok"}' },
    ]);
    const { d } = deliverer('dt', send);
    const done = d.deliver(n);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(await done).toEqual({ kind: 'delivered', attempts: 2 });
    expect(calls.map((c) => c.at - T)).toEqual([0, 20_000]);
    const bad = scripted([{ status: 200, body: '{"errcode":300001,"errmsg":"token is not exist"}' }]);
    expect(await deliverer('dt', bad.send).d.deliver(n)).toMatchObject({
      kind: 'failed',
      permanent: true,
      reason: 'DingTalk errcode 300001: token is not exist',
    });
  });

  it('never puts a secret in a failure reason', async () => {
    const { send } = scripted([{ status: 404, body: 'no robot at https://oapi.dingtalk.com/robot/send?access_token=secret-token-123' }]);
    const out = await deliverer('dt', send).d.deliver(n);
    expect(out).toMatchObject({ kind: 'failed' });
    expect(JSON.stringify(out)).not.toContain('secret-token-123');
    expect(JSON.stringify(out)).toContain('[redacted]');
  });

  it('stops waiting when aborted, without another attempt', async () => {
    const { send, calls } = scripted([{ status: 500 }, { status: 200 }]);
    const { d } = deliverer('hook', send);
    const controller = new AbortController();
    const done = d.deliver(n, controller.signal);
    await vi.advanceTimersByTimeAsync(500);
    controller.abort('stopping');
    expect(await done).toEqual({ kind: 'aborted', attempts: 1 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(1);
  });

  it('suppresses a notification it already delivered (idempotency key), and skips resolved ones when asked', async () => {
    const { send, calls } = scripted([{ status: 200 }]);
    const { d, registry } = deliverer('hook', send);
    expect(await d.deliver(n)).toMatchObject({ kind: 'delivered' });
    expect(await d.deliver(alertNotification(sampleAlert()))).toEqual({ kind: 'duplicate' });
    expect(await d.deliver(alertNotification(resolvedAlert()))).toMatchObject({ kind: 'delivered' });
    expect(calls).toHaveLength(2);
    expect(await counter(registry, 'kubevents_alert_notification_duplicates_total', { receiver: 'hook' })).toBe(1);
    const quiet = deliverer('quiet', send).d;
    expect(await quiet.deliver(alertNotification(resolvedAlert()))).toEqual({ kind: 'skipped', reason: 'sendResolved is false' });
  });
});

describe('rate limit (token bucket)', () => {
  it('never lets more than `messages` through in any window', () => {
    const bucket = new TokenBucket({ messages: 20, perMs: 60_000 });
    const sent: number[] = [];
    for (let t = 0; t < 5 * 60_000; t += 100) {
      vi.setSystemTime(T + t);
      while (bucket.tryTake() === 0) sent.push(t);
    }
    for (const start of sent) expect(sent.filter((t) => t >= start && t < start + 60_000).length).toBeLessThanOrEqual(20);
    expect(sent.length).toBeGreaterThanOrEqual(5 * 18); // it does not starve either
  });

  it('makes DingTalk deliveries wait for tokens (20 per minute by default)', async () => {
    const { send, calls } = scripted([{ status: 200, body: '{"errcode":0}' }]);
    const { d, registry } = deliverer('limited', send);
    const all = Array.from({ length: 25 }, (_, i) => d.deliver(alertNotification(sampleAlert({ sequence: i }))));
    await vi.advanceTimersByTimeAsync(120_000);
    const outcomes = await Promise.all(all);
    expect(outcomes.every((o) => o.kind === 'delivered')).toBe(true);
    const times = calls.map((c) => c.at - T);
    for (const start of times) expect(times.filter((t) => t >= start && t < start + 60_000).length).toBeLessThanOrEqual(20);
    expect(times.slice(0, 3)).toEqual([0, 0, 3334]);
    expect(await counter(registry, 'kubevents_alert_notification_rate_limited_seconds_total', { receiver: 'limited' })).toBeGreaterThan(60);
  });

  it('is interrupted by an abort while waiting for a token', async () => {
    const bucket = new TokenBucket({ messages: 1, perMs: 60_000, burst: 1 });
    expect(await bucket.take()).toBe(0);
    const controller = new AbortController();
    const waiting = bucket.take(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow(/aborted/);
  });
});
