/**
 * The operations HTTP endpoint: Prometheus metrics and the probes the kubelet calls.
 *
 *   GET /metrics   every registered metric of the given registries (Prometheus text format)
 *   GET /healthz   liveness: the process answers and its event loop is not stalled (the longest
 *                  event-loop delay over the last window is under `maxEventLoopDelayMs`), plus
 *                  any injected liveness checks; 200 or 503
 *   GET /readyz    readiness: every injected readiness check (caches synced, broker reachable, ...)
 *                  passes within `checkTimeoutMs`; 200 or 503
 *   GET /          the list of endpoints
 *
 * Probe bodies are one line per check, in kube-apiserver's style:
 *   [+]eventloop ok: max delay 3 ms in the last 5 s
 *   [-]kafka failed: broker 10.0.0.7:9092 unreachable (ECONNREFUSED)
 *   readyz check failed
 *
 * Checks are functions `() => Promise<{ ok, detail }>` (a throw or a timeout counts as failed) run
 * concurrently per request. Every request has deadlines (headers, whole request, idle keep-alive)
 * and `close()` stops accepting, ends idle connections and, after a short grace, all of them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../core/logger.js';
import { processRegistries } from '../core/metrics.js';

export interface CheckResult {
  ok: boolean;
  detail: string;
}

/** A health or readiness check. A rejection or a timeout counts as `{ ok: false }`. */
export type Check = () => Promise<CheckResult>;

export interface HttpServerOptions {
  /** Bind address (default '0.0.0.0'; '127.0.0.1' for local only, '::' for IPv6). */
  address?: string;
  /** Port (default 9090; 0 picks a free one, see `port` on the result). */
  port?: number;
  /** Registries served on /metrics (default processRegistries()). Metric names must not repeat across them. */
  registries?: readonly Registry[];
  /** Named checks behind /readyz. More can be added later with `setReadinessCheck`. */
  readinessChecks?: Record<string, Check>;
  /** Named checks behind /healthz on top of the event-loop check. Keep them cheap and local. */
  livenessChecks?: Record<string, Check>;
  /** Deadline of one check, ms (default 2000). */
  checkTimeoutMs?: number;
  /** /healthz fails when the event loop was blocked longer than this in the last window, ms (default 5000). */
  maxEventLoopDelayMs?: number;
  /** Length of the event-loop delay window, ms (default 10 000). */
  eventLoopWindowMs?: number;
  /** Whole-request deadline, ms (default 10 000); headers must arrive within min(this, 5000). */
  requestTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this, ms (default 5000). */
  keepAliveTimeoutMs?: number;
  /** Time `close()` lets in-flight requests finish before cutting connections, ms (default 1000). */
  closeGraceMs?: number;
  logger?: Logger;
}

export interface OpsHttpServer {
  /** e.g. http://127.0.0.1:9090 */
  readonly url: string;
  readonly address: string;
  readonly port: number;
  /** Adds or replaces a readiness check. */
  setReadinessCheck(name: string, check: Check): void;
  removeReadinessCheck(name: string): void;
  /** Adds or replaces a liveness check. */
  setLivenessCheck(name: string, check: Check): void;
  /** Runs the readiness checks as /readyz does (for logs and tests). */
  readiness(): Promise<ProbeReport>;
  /** Runs the liveness checks as /healthz does. */
  liveness(): Promise<ProbeReport>;
  close(): Promise<void>;
}

export interface ProbeReport {
  ok: boolean;
  checks: Array<{ name: string } & CheckResult>;
}

export const DEFAULT_METRICS_PORT = 9090;

/** Runs `check` with a deadline; failures and timeouts become `{ ok: false, detail }`. */
export async function runCheck(check: Check, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      Promise.resolve().then(check),
      new Promise<CheckResult>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
      }),
    ]);
    if (!result || typeof result.ok !== 'boolean') return { ok: false, detail: 'check returned no result' };
    return { ok: result.ok, detail: String(result.detail ?? '') };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

async function runChecks(checks: ReadonlyMap<string, Check>, timeoutMs: number): Promise<ProbeReport> {
  const entries = [...checks.entries()];
  const results = await Promise.all(entries.map(async ([name, check]) => ({ name, ...(await runCheck(check, timeoutMs)) })));
  return { ok: results.every((r) => r.ok), checks: results };
}

function renderProbe(probe: string, report: ProbeReport): string {
  const lines = report.checks.map(
    // readiness says what is not ready yet ("connecting to the API server"), not that it failed
    (c) =>
      `[${c.ok ? '+' : '-'}]${c.name} ${c.ok ? 'ok' : probe === 'readyz' ? 'not ready' : 'failed'}${c.detail ? `: ${c.detail.replace(/\s*\n\s*/g, ' ')}` : ''}`,
  );
  lines.push(`${probe} check ${report.ok ? 'passed' : 'failed'}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Watches event-loop delay with a ticker (every `resolutionMs`: how late did it fire?) over
 * consecutive windows. `check` fails when the longest delay in the current or the previous window,
 * or the delay of the tick still pending, exceeds the limit: a loop that was blocked for 30 s fails
 * the next probe it manages to answer. (node:perf_hooks' monitorEventLoopDelay drops its first
 * samples, so a block right after start would go unseen.)
 */
export class EventLoopWatch {
  private previousMaxMs = 0;
  private currentMaxMs = 0;
  private lastTick: number;
  private windowStart: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly limitMs: number,
    private readonly windowMs: number,
    private readonly resolutionMs = 100,
  ) {
    this.lastTick = performance.now();
    this.windowStart = this.lastTick;
    this.timer = setInterval(() => this.tick(), resolutionMs);
    this.timer.unref();
  }

  private tick(): void {
    const now = performance.now();
    const delay = Math.max(0, now - this.lastTick - this.resolutionMs);
    this.lastTick = now;
    if (delay > this.currentMaxMs) this.currentMaxMs = delay;
    if (now - this.windowStart >= this.windowMs) {
      this.previousMaxMs = this.currentMaxMs;
      this.currentMaxMs = 0;
      this.windowStart = now;
    }
  }

  /** The longest event-loop delay in the current and the previous window, ms. */
  maxDelayMs(): number {
    const pending = Math.max(0, performance.now() - this.lastTick - this.resolutionMs);
    return Math.max(this.previousMaxMs, this.currentMaxMs, pending);
  }

  check: Check = async () => {
    const delay = Math.round(this.maxDelayMs());
    const window = `${Math.round(this.windowMs / 1000)} s`;
    return delay > this.limitMs
      ? { ok: false, detail: `event loop blocked for ${delay} ms in the last ${window} (limit ${this.limitMs} ms)` }
      : { ok: true, detail: `max delay ${delay} ms in the last ${window}` };
  };

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Prometheus text of several registries (same text format, metric names disjoint). */
export async function renderMetrics(registries: readonly Registry[]): Promise<{ contentType: string; body: string }> {
  const texts = await Promise.all(registries.map((r) => r.metrics()));
  const body = texts
    .map((t) => t.trimEnd())
    .filter((t) => t.length > 0)
    .join('\n');
  return { contentType: registries[0]?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8', body: body ? `${body}\n` : '' };
}

/** Starts the endpoint; resolves once it listens (rejects on EADDRINUSE and the like). */
export async function startHttpServer(options: HttpServerOptions = {}): Promise<OpsHttpServer> {
  const registries = options.registries ?? processRegistries();
  const checkTimeoutMs = options.checkTimeoutMs ?? 2000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const closeGraceMs = options.closeGraceMs ?? 1000;
  const logger = options.logger?.child({ component: 'http' });
  const readiness = new Map(Object.entries(options.readinessChecks ?? {}));
  const loop = new EventLoopWatch(options.maxEventLoopDelayMs ?? 5000, options.eventLoopWindowMs ?? 10_000);
  const liveness = new Map<string, Check>([['eventloop', loop.check], ...Object.entries(options.livenessChecks ?? {})]);

  const send = (res: http.ServerResponse, status: number, contentType: string, body: string, head: boolean) => {
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(head ? undefined : body);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
      return;
    }
    switch (path) {
      case '/metrics': {
        const { contentType, body } = await renderMetrics(registries);
        send(res, 200, contentType, body, head);
        return;
      }
      case '/healthz':
      case '/livez': {
        const report = await runChecks(liveness, checkTimeoutMs);
        if (!report.ok) logger?.warn({ checks: report.checks.filter((c) => !c.ok) }, 'liveness check failed');
        send(res, report.ok ? 200 : 503, 'text/plain; charset=utf-8', renderProbe('healthz', report), head);
        return;
      }
      case '/readyz': {
        const report = await runChecks(readiness, checkTimeoutMs);
        if (!report.ok) logger?.debug({ checks: report.checks.filter((c) => !c.ok) }, 'readiness check failed');
        send(res, report.ok ? 200 : 503, 'text/plain; charset=utf-8', renderProbe('readyz', report), head);
        return;
      }
      case '/':
        send(res, 200, 'text/plain; charset=utf-8', 'kubevents: /metrics /healthz /readyz\n', head);
        return;
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
    }
  };

  const server = http.createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(requestTimeoutMs, 5000),
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5000,
      // how often Node enforces requestTimeout/headersTimeout (default 30 s)
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeoutMs / 4))),
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        logger?.warn({ err: error, url: req.url }, 'ops endpoint request failed');
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', false);
        else res.destroy();
      });
    },
  );
  server.timeout = requestTimeoutMs; // socket idle timeout
  server.maxHeadersCount = 50;

  const host = options.address ?? '0.0.0.0';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? DEFAULT_METRICS_PORT, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    loop.stop();
    throw new Error(`cannot listen on ${host}:${options.port ?? DEFAULT_METRICS_PORT}: ${(error as Error).message}`, { cause: error });
  }
  server.on('error', (error) => logger?.warn({ err: error }, 'ops endpoint error'));
  const bound = server.address() as AddressInfo;
  const urlHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  logger?.info({ address: bound.address, port: bound.port }, 'serving /metrics, /healthz, /readyz');

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${bound.port}`,
    address: bound.address,
    port: bound.port,
    setReadinessCheck: (name, check) => void readiness.set(name, check),
    removeReadinessCheck: (name) => void readiness.delete(name),
    setLivenessCheck: (name, check) => void liveness.set(name, check),
    readiness: () => runChecks(readiness, checkTimeoutMs),
    liveness: () => runChecks(liveness, checkTimeoutMs),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        loop.stop();
        const grace = setTimeout(() => server.closeAllConnections(), closeGraceMs);
        grace.unref();
        server.close(() => {
          clearTimeout(grace);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
