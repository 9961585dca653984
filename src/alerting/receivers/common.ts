/** Pieces the receivers share: HTTP status verdicts, errcode verdicts, JSON bodies. */
import { parseRetryAfter } from '../retry.js';
import { safeUrl } from '../secrets.js';
import type { HttpResponse, ReceiverConfig, RenderedMessage, Verdict } from './types.js';

function bodySnippet(body: string, max = 200): string {
  const oneLine = body.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}

/**
 * The verdict from the HTTP status alone: 2xx ok; 429, 408 and 5xx retryable (honouring
 * Retry-After); 3xx (redirects are not followed: a webhook URL that moved is a configuration
 * error, and a token must not follow a redirect elsewhere) and other 4xx permanent.
 */
export function judgeStatus(response: HttpResponse, now: number): Verdict {
  const { status } = response;
  if (status >= 200 && status < 300) return { ok: true };
  const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now);
  const detail = `HTTP ${status}${response.body ? `: ${bodySnippet(response.body)}` : ''}`;
  if (status === 429) return { ok: false, retryable: true, cause: 'http_429', detail, retryAfterMs };
  if (status === 408) return { ok: false, retryable: true, cause: 'timeout', detail, retryAfterMs };
  if (status >= 500) return { ok: false, retryable: true, cause: 'http_5xx', detail, retryAfterMs };
  if (status >= 300 && status < 400) {
    return { ok: false, retryable: false, cause: 'http_3xx', detail: `HTTP ${status} redirect (not followed; configure the final URL)`, retryAfterMs: null };
  }
  return { ok: false, retryable: false, cause: 'http_4xx', detail, retryAfterMs: null };
}

/**
 * DingTalk and WeCom answer HTTP 200 with `{"errcode": N, "errmsg": "..."}`: 0 is success, the
 * listed throttling codes are retried after the receiver's throttle backoff, -1 ("system busy")
 * is retried, every other code is permanent.
 */
export function judgeErrcode(response: HttpResponse, now: number, platform: string, throttleCodes: ReadonlySet<number>): Verdict {
  const byStatus = judgeStatus(response, now);
  if (!byStatus.ok) return byStatus;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    return {
      ok: false,
      retryable: false,
      cause: 'bad_response',
      detail: `${platform} answered HTTP ${response.status} without a JSON body: ${bodySnippet(response.body) || '(empty)'}`,
      retryAfterMs: null,
    };
  }
  const errcode = (parsed as { errcode?: unknown } | null)?.errcode;
  const errmsg = String((parsed as { errmsg?: unknown } | null)?.errmsg ?? '');
  if (errcode === 0 || errcode === '0') return { ok: true };
  if (typeof errcode !== 'number' && typeof errcode !== 'string') {
    return {
      ok: false,
      retryable: false,
      cause: 'bad_response',
      detail: `${platform} answered without an errcode: ${bodySnippet(response.body)}`,
      retryAfterMs: null,
    };
  }
  const code = Number(errcode);
  const detail = `${platform} errcode ${code}: ${errmsg}`;
  if (throttleCodes.has(code)) return { ok: false, retryable: true, cause: 'throttled', detail, retryAfterMs: null };
  if (code === -1) return { ok: false, retryable: true, cause: 'errcode', detail, retryAfterMs: null };
  return { ok: false, retryable: false, cause: 'errcode', detail, retryAfterMs: null };
}

export function jsonMessage(payload: unknown, truncated: boolean, headers: Record<string, string> = {}): RenderedMessage {
  return { body: JSON.stringify(payload), headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, truncated };
}

export function describeReceiver(config: ReceiverConfig): string {
  return `${config.type} "${config.name}" ${safeUrl(config.url, config.urlIsSecret)}`;
}
