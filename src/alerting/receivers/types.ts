/**
 * What every receiver is: a resolved configuration (secrets read, templates compiled), a message
 * renderer, the HTTP request of one attempt, and the verdict on the response.
 */
import type { Notification } from '../notification.js';
import type { RateLimit } from '../rate-limit.js';
import type { RetryPolicy } from '../retry.js';

export interface ReceiverCommonConfig {
  name: string;
  /** The receiver type (registry.ts). */
  type: string;
  /** Notify resolved alerts and closed incidents too (default true). */
  sendResolved: boolean;
  /** Per request, ms. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** null: unlimited */
  rateLimit: RateLimit | null;
  /** The endpoint (a secret for the chat platforms). */
  url: string;
  /** Whether url is a secret (never logged, even in part). */
  urlIsSecret: boolean;
}

/** A receiver's resolved configuration: the common part; each receiver type adds its own (see its file). */
export type ReceiverConfig = ReceiverCommonConfig;

export interface HttpRequest {
  url: string;
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  body: string;
}

export interface HttpResponse {
  status: number;
  /** lower-case header names */
  headers: Record<string, string>;
  /** the body as text, cut to a bounded length */
  body: string;
}

/** The result of one attempt: a response, or an error before a complete response. */
export type AttemptResult =
  { kind: 'response'; response: HttpResponse; elapsedMs: number } | { kind: 'error'; error: Error; timedOut: boolean; elapsedMs: number };

/** Why an attempt failed, for the retry decision and the retried/failed metrics' `cause` label. */
export type FailureCause = 'timeout' | 'network' | 'http_5xx' | 'http_429' | 'http_4xx' | 'http_3xx' | 'errcode' | 'throttled' | 'bad_response' | 'render';

export type Verdict =
  | { ok: true }
  | {
      ok: false;
      retryable: boolean;
      cause: FailureCause;
      /** One line for logs and dead letters (no secrets). */
      detail: string;
      /** The server's (or platform's) wait before a retry, ms. */
      retryAfterMs: number | null;
    };

/** A message rendered for one notification: the body and headers of every attempt. */
export interface RenderedMessage {
  body: string;
  headers: Record<string, string>;
  /** Whether the renderer had to cut the text to fit the platform's limits. */
  truncated: boolean;
}

export class RenderError extends Error {
  override name = 'RenderError';
}

export interface Receiver {
  readonly config: ReceiverConfig;
  readonly name: string;
  readonly type: string;
  /** Renders the message (once per notification). Throws RenderError when no valid message can be made. */
  render(notification: Notification, now: number): RenderedMessage;
  /** The request of one attempt (DingTalk signs each attempt with a fresh timestamp). */
  request(message: RenderedMessage, now: number): HttpRequest;
  /** The verdict on a response (network errors and timeouts are judged by the deliverer). */
  judge(response: HttpResponse, now: number): Verdict;
  /** `dingtalk "ops" https://oapi.dingtalk.com/[redacted]`: safe to log. */
  describe(): string;
}
