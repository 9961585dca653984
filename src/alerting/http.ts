/**
 * One HTTP attempt with a deadline covering the whole exchange (connect, headers, body), via the
 * platform's fetch and an AbortController. Never throws: network errors and timeouts come back as
 * results for the deliverer to judge. Redirects are not followed.
 */
import { packageVersion } from '../core/paths.js';
import type { AttemptResult, HttpRequest } from './receivers/types.js';

/** Names the sender in receivers' access logs (fetch would say `node`); a receiver's own User-Agent header wins. */
export const USER_AGENT = `kubevents/${packageVersion()}`;

/** Most response body characters kept (enough for an errcode JSON or an error page's start). */
export const MAX_RESPONSE_CHARS = 16 * 1024;

export type HttpSender = (request: HttpRequest, timeoutMs: number) => Promise<AttemptResult>;

export class RequestTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no complete response within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

async function readBody(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (text.length >= MAX_RESPONSE_CHARS) {
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
  } finally {
    reader.releaseLock();
  }
  return text.slice(0, MAX_RESPONSE_CHARS);
}

/** Describes a fetch failure without the URL (it may carry a token): `ECONNREFUSED`, `socket hang up`, ... */
function networkError(error: unknown): Error {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  const code = e.cause?.code;
  const message = code ? `${code}${e.cause?.message && !e.cause.message.includes(code) ? ` ${e.cause.message}` : ''}` : (e.cause?.message ?? e.message);
  return new Error(`request failed: ${message}`);
}

export const fetchSender: HttpSender = async (request, timeoutMs) => {
  const started = Date.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new RequestTimeoutError(timeoutMs)), timeoutMs);
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: Object.keys(request.headers).some((h) => h.toLowerCase() === 'user-agent') ? request.headers : { 'user-agent': USER_AGENT, ...request.headers },
      body: request.body,
      redirect: 'manual',
      signal: controller.signal,
    });
    const body = await readBody(response);
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    return { kind: 'response', response: { status: response.status, headers, body }, elapsedMs: Date.now() - started };
  } catch (error) {
    const timedOut = controller.signal.aborted;
    return { kind: 'error', error: timedOut ? new RequestTimeoutError(timeoutMs) : networkError(error), timedOut, elapsedMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
};
