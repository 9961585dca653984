/**
 * The HTTP transport for list and watch: raw GETs on API paths, authenticated and TLS-configured by
 * client-node's KubeConfig (`applyToHTTPSOptions`: bearer tokens, exec/OIDC/token-file providers,
 * client certificates, CA, tls-server-name, proxy agents), sent with node:http/node:https.
 *
 * Why not client-node 1.4's typed list calls and `Watch` class (we checked dist/watch.js):
 * - `Watch.watch` builds a 30 s AbortSignal.timeout and then overwrites it with its own signal, so
 *   the watch has no timeout at all; and its AbortController is only handed back after the
 *   response headers arrive, so a connect that hangs cannot be cancelled.
 * - On a non-200 answer it throws `Error(statusText)` with `statusCode` only: the Retry-After header
 *   (429/503, which we must honour) and the Status body (reason Expired/Gone) are dropped.
 * - It silently drops lines it cannot parse, which would lose a change without a trace.
 * - The typed list calls deserialize into model classes (Date objects, no `kind`/`apiVersion` on
 *   items) while our caches and recordings hold plain API JSON; and one generic path-based list
 *   pages every resource (`limit`/`continue`) and tells a 410 on an expired continue token apart,
 *   where nine typed calls would each need their own wrapper.
 * Authentication and TLS stay entirely client-node's (applyToHTTPSOptions is called per request,
 * so rotating tokens and exec credentials are refreshed).
 *
 * Every call has a deadline: a whole-request timeout for GETs; for watches a connect timeout up to
 * the response headers and then an idle (stall) timeout reset by every byte received.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseRetryAfter } from './backoff.js';

export type KubeErrorKind = 'http' | 'network' | 'timeout' | 'stall' | 'protocol';

/** A failed API call. `statusCode` is the HTTP status, or the Status code of an in-stream ERROR event. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly kind: KubeErrorKind,
    readonly statusCode: number | null = null,
    /** Status.reason from the body (e.g. 'Expired', 'Gone', 'TooManyRequests'), when given. */
    readonly reason: string | null = null,
    /** From the Retry-After header or Status.details.retryAfterSeconds, ms. */
    readonly retryAfterMs: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KubeApiError';
  }
}

/** 410 Gone: the requested resourceVersion (or continue token) is older than the API's history. */
export function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && (error.statusCode === 410 || error.reason === 'Expired' || error.reason === 'Gone');
}

/**
 * Worth retrying with backoff: network errors, timeouts, stalls, unparseable streams, 5xx, 429,
 * 408, and 401/403 (credentials rotate and RBAC gets fixed; the caller logs these as errors).
 * Anything else (400 bad selector, 404 resource not served, ...) is fatal.
 */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof KubeApiError)) return true; // unexpected errors (e.g. a TLS setup error) are retried
  if (error.kind !== 'http') return true;
  const s = error.statusCode ?? 0;
  return s >= 500 || s === 429 || s === 408 || s === 401 || s === 403;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

interface Prepared {
  url: URL;
  options: https.RequestOptions;
  request: typeof http.request;
}

async function prepare(kc: KubeConfig, path: string, query: Query): Promise<Prepared> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeApiError('kubeconfig has no current cluster', 'protocol');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  const request = url.protocol === 'http:' ? http.request : https.request;
  return { url, options, request };
}

interface StatusBody {
  reason: string | null;
  message: string | null;
  code: number | null;
  retryAfterSeconds: number | null;
}

/** Reads a metav1.Status (from an error body or an in-stream ERROR event). */
export function readStatus(value: unknown): StatusBody {
  const o = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const details = typeof o['details'] === 'object' && o['details'] !== null ? (o['details'] as Record<string, unknown>) : {};
  return {
    reason: typeof o['reason'] === 'string' ? o['reason'] : null,
    message: typeof o['message'] === 'string' ? o['message'] : null,
    code: typeof o['code'] === 'number' ? o['code'] : null,
    retryAfterSeconds: typeof details['retryAfterSeconds'] === 'number' ? details['retryAfterSeconds'] : null,
  };
}

function httpError(statusCode: number, body: string, headers: http.IncomingHttpHeaders, what: string): KubeApiError {
  let status: StatusBody = { reason: null, message: null, code: null, retryAfterSeconds: null };
  try {
    status = readStatus(JSON.parse(body));
  } catch {
    // not a Status body
  }
  const fromHeader = parseRetryAfter(headers['retry-after']);
  const retryAfterMs = fromHeader ?? (status.retryAfterSeconds !== null ? status.retryAfterSeconds * 1000 : null);
  const text = status.message ?? (body.slice(0, 200) || http.STATUS_CODES[statusCode] || 'error');
  return new KubeApiError(`${what}: HTTP ${statusCode}: ${text}`, 'http', statusCode, status.reason, retryAfterMs);
}

function describe(url: URL): string {
  return `GET ${url.pathname}${url.search}`;
}

const MAX_ERROR_BODY = 64 * 1024;

/**
 * GET a path and parse the JSON body. Rejects with KubeApiError on a non-2xx status, a network
 * error, a body that is not JSON, or when `timeoutMs` passes; with `signal.reason` on abort.
 */
export async function getJson(kc: KubeConfig, path: string, query: Query, opts: { signal: AbortSignal; timeoutMs: number }): Promise<unknown> {
  const { url, options, request } = await prepare(kc, path, query);
  const what = describe(url);
  if (opts.signal.aborted) throw opts.signal.reason;
  return new Promise<unknown>((resolve, reject) => {
    let settled = false;
    const finish = (error: unknown, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      if (error !== undefined) {
        req.destroy();
        reject(error);
      } else resolve(value);
    };
    const onAbort = (): void => finish(opts.signal.reason);
    const timer = setTimeout(() => finish(new KubeApiError(`${what}: no complete answer within ${opts.timeoutMs} ms`, 'timeout')), opts.timeoutMs);
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (ok || size <= MAX_ERROR_BODY) chunks.push(chunk);
      });
      res.on('error', (e) => finish(new KubeApiError(`${what}: ${e.message}`, 'network', null, null, null, { cause: e })));
      res.on('aborted', () => finish(new KubeApiError(`${what}: response aborted`, 'network')));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (!ok) {
          finish(httpError(res.statusCode ?? 0, body, res.headers, what));
          return;
        }
        try {
          finish(undefined, JSON.parse(body));
        } catch (e) {
          finish(new KubeApiError(`${what}: response is not JSON`, 'protocol', null, null, null, { cause: e }));
        }
      });
    });
    req.on('error', (e) => finish(new KubeApiError(`${what}: ${e.message}`, 'network', null, null, null, { cause: e })));
    req.end();
  });
}

/** One line of a watch stream. */
export interface RawWatchEvent {
  type: string;
  object: unknown;
}

/**
 * The longest watch line accepted, in characters. An object is at most about 1.5 MiB in etcd and a
 * request at most 3 MiB, so a real line is far below this; a stream that never ends its line would
 * otherwise grow the buffer until the process runs out of memory.
 */
export const MAX_WATCH_LINE_CHARS = 16 * 1024 * 1024;

/**
 * Splits a watch stream (decoded text, in chunks as they arrive) into lines. Each chunk is scanned
 * once, however long the line it belongs to (a long line in small chunks is not rescanned from its
 * start for every chunk); a partial line longer than `maxLineChars` is an error.
 */
export class WatchLineDecoder {
  private pending = '';

  constructor(private readonly maxLineChars = MAX_WATCH_LINE_CHARS) {}

  /** The complete, non-blank lines the chunk ends (trimmed); throws when the line in progress is too long. */
  push(chunk: string): string[] {
    const out: string[] = [];
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl >= 0) {
      const line = (this.pending + chunk.slice(start, nl)).trim();
      this.pending = '';
      if (line.length > this.maxLineChars) throw new Error(`watch line of ${line.length} characters, over the limit of ${this.maxLineChars}`);
      if (line !== '') out.push(line);
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (start < chunk.length) {
      if (this.pending.length + chunk.length - start > this.maxLineChars) {
        throw new Error(`watch line of more than ${this.maxLineChars} characters without its end`);
      }
      this.pending += chunk.slice(start);
    }
    return out;
  }

  /** Characters of the line in progress (a partial last line is dropped when the stream ends). */
  get pendingChars(): number {
    return this.pending.length;
  }
}

/** One watch line as an event; throws (with the line's start) when it is not JSON or has no type. */
export function parseWatchLine(line: string): RawWatchEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`watch line is not JSON: ${line.slice(0, 120)}`);
  }
  const ev = parsed as Partial<RawWatchEvent> | null;
  if (typeof ev !== 'object' || ev === null || Array.isArray(ev) || typeof ev.type !== 'string') {
    throw new Error(`watch line has no type: ${line.slice(0, 120)}`);
  }
  return { type: ev.type, object: ev.object };
}

export interface WatchStreamOptions {
  signal: AbortSignal;
  /** Until the response headers arrive, ms. */
  connectTimeoutMs: number;
  /** Longest silence (no byte at all) tolerated once connected, ms. */
  idleTimeoutMs: number;
  /** Called once the server answered 200 and the stream is open. */
  onOpen?: () => void;
}

/**
 * Opens a watch stream (`watch=1` is added) and calls `onEvent` for every line, synchronously, in
 * order. Resolves when the server ends the stream cleanly; rejects with KubeApiError on a non-200
 * answer, a network error, a connect timeout, a stall, or a line that is not JSON (the caller
 * resumes from the last event it processed, so nothing is lost); rejects with `signal.reason` when
 * `signal` aborts (which `onEvent` may do to stop the stream). Stops calling `onEvent` as soon as
 * the signal is aborted, even within one chunk.
 */
export async function streamWatch(
  kc: KubeConfig,
  path: string,
  query: Query,
  onEvent: (event: RawWatchEvent) => void,
  opts: WatchStreamOptions,
): Promise<void> {
  const { url, options, request } = await prepare(kc, path, { ...query, watch: '1' });
  const what = describe(url);
  const { signal } = opts;
  if (signal.aborted) throw signal.reason;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number, error: () => KubeApiError): void => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(error()), ms);
    };
    const finish = (error: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => finish(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    arm(opts.connectTimeoutMs, () => new KubeApiError(`${what}: no response within ${opts.connectTimeoutMs} ms`, 'timeout'));

    const req = request(url, options, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_ERROR_BODY) chunks.push(c);
        });
        res.on('end', () => finish(httpError(status, Buffer.concat(chunks).toString('utf8'), res.headers, what)));
        res.on('error', () => finish(httpError(status, Buffer.concat(chunks).toString('utf8'), res.headers, what)));
        res.on('aborted', () => finish(httpError(status, '', res.headers, what)));
        return;
      }
      const stall = (): KubeApiError => new KubeApiError(`${what}: no data for ${opts.idleTimeoutMs} ms, re-establishing`, 'stall');
      arm(opts.idleTimeoutMs, stall);
      opts.onOpen?.();
      res.setEncoding('utf8');
      const lines = new WatchLineDecoder();
      res.on('data', (chunk: string) => {
        if (settled) return;
        arm(opts.idleTimeoutMs, stall);
        let complete: string[];
        try {
          complete = lines.push(chunk);
        } catch (e) {
          finish(new KubeApiError(`${what}: ${(e as Error).message}`, 'protocol', null, null, null, { cause: e }));
          return;
        }
        for (const line of complete) {
          if (settled) return;
          let ev: RawWatchEvent;
          try {
            ev = parseWatchLine(line);
          } catch (e) {
            finish(new KubeApiError(`${what}: ${(e as Error).message}`, 'protocol', null, null, null, { cause: e }));
            return;
          }
          try {
            onEvent(ev);
          } catch (e) {
            finish(e);
            return;
          }
          if (signal.aborted) {
            finish(signal.reason);
            return;
          }
        }
      });
      // A partial last line (connection cut mid-object) is dropped: the caller resumes before it.
      res.on('end', () => finish(undefined));
      res.on('aborted', () => finish(new KubeApiError(`${what}: connection lost mid-stream`, 'network')));
      res.on('error', (e) => finish(new KubeApiError(`${what}: ${e.message}`, 'network', null, null, null, { cause: e })));
      res.on('close', () => {
        if (!res.complete) finish(new KubeApiError(`${what}: connection closed mid-stream`, 'network'));
        else finish(undefined);
      });
    });
    req.on('error', (e) => finish(new KubeApiError(`${what}: ${e.message}`, 'network', null, null, null, { cause: e })));
    req.end();
  });
}
