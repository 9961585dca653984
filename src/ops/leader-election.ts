/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's leaderelection semantics, so
 * that one replica per cluster runs the pipelines while the others stand by.
 *
 * The record (Lease spec): holderIdentity, leaseDurationSeconds, acquireTime, renewTime,
 * leaseTransitions. Every write is an update on the resourceVersion that was read (optimistic
 * concurrency): a 409 Conflict means another candidate wrote first, and this attempt lost.
 *
 * - leaseDuration (15 s): a candidate takes a lease over only when its record has not changed for
 *   this long, measured on the candidate's own monotonic clock from when it first observed that
 *   record (not from renewTime: clocks of different nodes disagree). A lease with an empty
 *   holderIdentity (released) is free at once.
 * - renewDeadline (10 s): the leader renews every retryPeriod; when no renew succeeded within
 *   renewDeadline of the start of the last successful one, it stops leading (locally, at once, by a
 *   timer that does not wait for a hanging request). Because leaseDuration > renewDeadline, the
 *   leader has stopped before any other candidate can consider the lease expired.
 * - retryPeriod (2 s): the interval between attempts (acquire and renew), with up to 20% jitter.
 * - every API call has its own deadline (apiTimeout, default renewDeadline / 2).
 * - stop(): stops leading first (work is stopped), then releases the lease (holderIdentity "",
 *   leaseDurationSeconds 1) so a standby takes over at its next retry instead of after leaseDuration.
 *
 * Consumers see leadership as an Observable<boolean> (`isLeader$`, emits synchronously on changes,
 * so a `switchMap` stops the work in the same tick leadership is lost), or as callbacks. After
 * losing, the elector goes back to being a candidate.
 *
 *   const elector = new LeaderElector({ kubeConfig, namespace: 'kubevents', name: 'kubevents', identity: podName });
 *   whileLeader(elector.isLeader$, () => pipeline$).subscribe(...);
 *   elector.start();   ...   await elector.stop();
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease, type V1MicroTime } from '@kubernetes/client-node';
import { BehaviorSubject, distinctUntilChanged, EMPTY, Observable, switchMap } from 'rxjs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import { getOrCreateMetric } from '../core/metrics.js';
import type { CheckResult } from './http-server.js';

// ---------------------------------------------------------------------------------------------
// the Lease API, with deadlines and readable errors
// ---------------------------------------------------------------------------------------------

export type LeaseErrorKind = 'conflict' | 'not-found' | 'timeout' | 'http' | 'network';

export class LeaseApiError extends Error {
  constructor(
    message: string,
    readonly kind: LeaseErrorKind,
    readonly statusCode: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LeaseApiError';
  }
}

/** Lease operations the elector needs. `get` resolves null when the Lease does not exist. */
export interface LeaseClient {
  get(): Promise<V1Lease | null>;
  /** Rejects with LeaseApiError kind 'conflict' when it already exists. */
  create(lease: V1Lease): Promise<V1Lease>;
  /** Rejects with LeaseApiError kind 'conflict' when metadata.resourceVersion is stale. */
  replace(lease: V1Lease): Promise<V1Lease>;
}

function statusMessage(body: unknown): string | null {
  if (typeof body === 'string') {
    try {
      return statusMessage(JSON.parse(body));
    } catch {
      return body.slice(0, 200) || null;
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return null;
}

/** client-node's ApiException (`code`, `body`), an abort, or a network error, as a LeaseApiError. */
export function toLeaseApiError(error: unknown, what: string, timeoutMs: number): LeaseApiError {
  if (error instanceof LeaseApiError) return error;
  const e = error as { code?: unknown; body?: unknown; name?: unknown; message?: unknown; type?: unknown };
  if (typeof e?.code === 'number') {
    const code = e.code;
    const detail = statusMessage(e.body) ?? `HTTP ${code}`;
    const kind: LeaseErrorKind = code === 409 ? 'conflict' : code === 404 ? 'not-found' : 'http';
    return new LeaseApiError(`${what}: ${detail}`, kind, code, { cause: error });
  }
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError' || e?.type === 'aborted') {
    return new LeaseApiError(`${what}: no answer within ${timeoutMs} ms`, 'timeout', null, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new LeaseApiError(`${what}: ${message}`, 'network', null, { cause: error });
}

/** A LeaseClient on client-node's CoordinationV1Api; every call is aborted after `timeoutMs`. */
export function coordinationLeaseClient(kubeConfig: KubeConfig, namespace: string, name: string, timeoutMs: number): LeaseClient {
  const api = kubeConfig.makeApiClient(CoordinationV1Api);
  // client-node's generated client runs middleware through its own minimal Observable stand-in
  // (anything with toPromise()); `pre` gives every request an abort signal with the deadline.
  const resolved = <C>(context: C) => ({ toPromise: () => Promise.resolve(context) });
  const withDeadline = () => ({
    middleware: [
      {
        pre: (context: { setSignal(signal: AbortSignal): void }) => {
          context.setSignal(AbortSignal.timeout(timeoutMs));
          return resolved(context);
        },
        post: <C>(context: C) => resolved(context),
      },
    ],
    middlewareMergeStrategy: 'append' as const,
  });
  const call = async <T>(what: string, run: (options: ReturnType<typeof withDeadline>) => Promise<T>): Promise<T> => {
    // the abort signal covers the request; this race also covers a body that never finishes
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        run(withDeadline()),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new LeaseApiError(`${what}: no answer within ${timeoutMs} ms`, 'timeout')), timeoutMs + 100);
        }),
      ]);
    } catch (error) {
      throw toLeaseApiError(error, what, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  };
  const where = `lease ${namespace}/${name}`;
  return {
    get: async () => {
      try {
        return await call(`read ${where}`, (o) => api.readNamespacedLease({ name, namespace }, o as never));
      } catch (error) {
        if (error instanceof LeaseApiError && error.kind === 'not-found') return null;
        throw error;
      }
    },
    create: (body) => call(`create ${where}`, (o) => api.createNamespacedLease({ namespace, body }, o as never)),
    replace: (body) => call(`update ${where}`, (o) => api.replaceNamespacedLease({ name, namespace, body }, o as never)),
  };
}

// ---------------------------------------------------------------------------------------------
// the record
// ---------------------------------------------------------------------------------------------

/** RFC 3339 with microseconds, as the API's MicroTime wants it: 2025-01-02T03:04:05.678000Z. */
export function microTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/Z$/, '000Z');
}

export interface LeaderRecord {
  holderIdentity: string;
  leaseDurationSeconds: number | null;
  acquireTime: string | null;
  renewTime: string | null;
  leaseTransitions: number;
  resourceVersion: string;
}

function timeString(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return microTime(value.getTime());
  return String(value);
}

/** The Lease's metadata to send back on update (managedFields are the server's business). */
function metadataOf(lease: V1Lease): V1Lease['metadata'] {
  const { managedFields: _managedFields, ...rest } = lease.metadata ?? {};
  return rest;
}

/** The leader-election view of a Lease (client-node leaves MicroTime values as strings or Dates). */
export function recordOf(lease: V1Lease): LeaderRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? null,
    acquireTime: timeString(spec.acquireTime),
    renewTime: timeString(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
    resourceVersion: lease.metadata?.resourceVersion ?? '',
  };
}

// ---------------------------------------------------------------------------------------------
// the elector
// ---------------------------------------------------------------------------------------------

export interface LeaderElectionTimings {
  /** default 15 000 */
  leaseDurationMs?: number;
  /** default 10 000 */
  renewDeadlineMs?: number;
  /** default 2 000 */
  retryPeriodMs?: number;
  /** deadline of one API call; default renewDeadlineMs / 2 */
  apiTimeoutMs?: number;
}

export interface LeaderElectionOptions extends LeaderElectionTimings {
  namespace: string;
  name: string;
  /** This candidate's identity, unique among the candidates (default defaultIdentity()). */
  identity?: string;
  /** Either a KubeConfig (the Lease is read and written with CoordinationV1Api) ... */
  kubeConfig?: KubeConfig;
  /** ... or a LeaseClient (tests). */
  client?: LeaseClient;
  /** Release the lease on stop() so a standby takes over at once (default true; stop({ release }) overrides). */
  releaseOnStop?: boolean;
  logger?: Logger;
  /** kubevents_leader_* metrics (default: none). */
  registry?: Registry;
  onStartedLeading?: () => void;
  /** Called when leadership ends (lost or stopped), before isLeader$ emits false. */
  onStoppedLeading?: (reason: string) => void;
  /** Called when the observed holder changes ('' when the lease is free). */
  onNewLeader?: (identity: string) => void;
  /** monotonic clock, ms (default performance.now) */
  monotonic?: () => number;
  /** wall clock for the record's times, epoch ms (default Date.now) */
  now?: () => number;
  /** [0, 1) (default Math.random), for retry jitter */
  random?: () => number;
}

export const DEFAULT_LEADER_TIMINGS = Object.freeze({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });

/** client-go's jitter factor on retryPeriod. */
const JITTER = 0.2;

/** POD_NAME (from the downward API) or the hostname, plus a random suffix: unique per process. */
export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['POD_NAME'] || env['HOSTNAME'] || hostname();
  return `${base}_${randomBytes(4).toString('hex')}`;
}

/** Throws when the timings cannot give the safety guarantees (client-go's checks). */
export function validateTimings(t: Required<Omit<LeaderElectionTimings, 'apiTimeoutMs'>> & { apiTimeoutMs: number }): void {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs, apiTimeoutMs } = t;
  for (const [key, v] of Object.entries(t)) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`leader election: ${key} must be > 0 (got ${v})`);
  }
  if (leaseDurationMs <= renewDeadlineMs)
    throw new Error(`leader election: leaseDuration (${leaseDurationMs} ms) must be greater than renewDeadline (${renewDeadlineMs} ms)`);
  if (renewDeadlineMs <= retryPeriodMs * (1 + JITTER))
    throw new Error(`leader election: renewDeadline (${renewDeadlineMs} ms) must be greater than retryPeriod * 1.2 (${retryPeriodMs * (1 + JITTER)} ms)`);
  if (apiTimeoutMs > renewDeadlineMs) throw new Error(`leader election: apiTimeout (${apiTimeoutMs} ms) must not exceed renewDeadline (${renewDeadlineMs} ms)`);
  if (leaseDurationMs % 1000 !== 0) throw new Error(`leader election: leaseDuration must be whole seconds (got ${leaseDurationMs} ms)`);
}

interface LeaderMetrics {
  isLeader: Gauge<'lease'>;
  transitions: Counter<'lease' | 'event'>;
  errors: Counter<'lease' | 'operation' | 'kind'>;
}

function leaderMetrics(registry: Registry): LeaderMetrics {
  const registers = [registry];
  return {
    isLeader: getOrCreateMetric(
      registry,
      'kubevents_leader_is_leader',
      () =>
        new Gauge({
          name: 'kubevents_leader_is_leader',
          help: '1 while this process holds the leader Lease, else 0.',
          labelNames: ['lease'] as const,
          registers,
        }),
    ),
    transitions: getOrCreateMetric(
      registry,
      'kubevents_leader_transitions_total',
      () =>
        new Counter({
          name: 'kubevents_leader_transitions_total',
          help: 'Leadership changes of this process: event=acquired, lost (renew failed or taken over) or released (stopped).',
          labelNames: ['lease', 'event'] as const,
          registers,
        }),
    ),
    errors: getOrCreateMetric(
      registry,
      'kubevents_leader_api_errors_total',
      () =>
        new Counter({
          name: 'kubevents_leader_api_errors_total',
          help: 'Failed Lease API calls by operation and kind (conflict, timeout, http, network).',
          labelNames: ['lease', 'operation', 'kind'] as const,
          registers,
        }),
    ),
  };
}

type AttemptResult = { ok: true } | { ok: false; reason: string };

export class LeaderElector {
  readonly identity: string;
  readonly namespace: string;
  readonly name: string;
  readonly timings: Readonly<Required<LeaderElectionTimings>>;
  private readonly client: LeaseClient;
  private readonly subject = new BehaviorSubject<boolean>(false);
  /** true while this process leads; emits synchronously on every change. */
  readonly isLeader$: Observable<boolean> = this.subject.pipe(distinctUntilChanged());
  private readonly log: Logger | undefined;
  private readonly metrics: LeaderMetrics | undefined;
  private readonly monotonic: () => number;
  private readonly now: () => number;
  private readonly random: () => number;

  private observed: LeaderRecord | null = null;
  private observedAt = 0;
  private lastHolder: string | null = null;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  /** monotonic time the last successful acquire/renew request was sent */
  private renewedAt = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    const renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_LEADER_TIMINGS.renewDeadlineMs;
    this.timings = Object.freeze({
      leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEADER_TIMINGS.leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs ?? DEFAULT_LEADER_TIMINGS.retryPeriodMs,
      apiTimeoutMs: options.apiTimeoutMs ?? Math.max(1, Math.floor(renewDeadlineMs / 2)),
    });
    validateTimings(this.timings);
    if (!options.name || !options.namespace) throw new Error('leader election: lease name and namespace are required');
    this.identity = options.identity || defaultIdentity();
    this.namespace = options.namespace;
    this.name = options.name;
    if (options.client) this.client = options.client;
    else if (options.kubeConfig) this.client = coordinationLeaseClient(options.kubeConfig, this.namespace, this.name, this.timings.apiTimeoutMs);
    else throw new Error('leader election: a kubeConfig or a client is required');
    this.log = options.logger?.child({ component: 'leader-election', lease: `${this.namespace}/${this.name}`, identity: this.identity });
    this.metrics = options.registry ? leaderMetrics(options.registry) : undefined;
    this.metrics?.isLeader.set({ lease: this.leaseLabel }, 0);
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  private get leaseLabel(): string {
    return `${this.namespace}/${this.name}`;
  }

  get isLeader(): boolean {
    return this.subject.value;
  }

  /** The holder last seen in the Lease ('' when free, null before the first read). */
  get observedHolder(): string | null {
    return this.observed ? this.observed.holderIdentity : null;
  }

  /** Starts campaigning (idempotent). */
  start(): void {
    if (this.running || this.stopping) return;
    this.running = true;
    this.log?.info({ ...this.timings }, 'leader election: campaigning');
    this.loop = this.campaign().catch((error: unknown) => {
      this.log?.error({ err: error }, 'leader election loop failed');
      this.stopLeading('leader election loop failed', 'lost');
    });
  }

  /**
   * Stops campaigning: stops leading at once (isLeader$ emits false), then, when leading, releases
   * the lease unless `release` is false (default: the `releaseOnStop` option, itself default true).
   * `{ release: false }` is for a lease that is not ours any more (lost or taken over): releasing it
   * could hand a fresh record to nobody while the new holder renews. Resolves when done; never
   * rejects. Only the first call decides: later calls return the same promise.
   */
  stop(options: { release?: boolean } = {}): Promise<void> {
    const release = options.release ?? this.options.releaseOnStop ?? true;
    this.stopping ??= (async () => {
      this.running = false;
      const wasLeader = this.isLeader;
      this.stopLeading('stopped', 'released');
      this.interruptSleep();
      await this.loop;
      // also when an acquire succeeded while stopping: the lease names us, give it back
      const holding = wasLeader || this.observed?.holderIdentity === this.identity;
      if (holding && release) await this.release();
      this.subject.complete();
    })();
    return this.stopping;
  }

  // ------------------------------------------------------------------- the loop

  private async campaign(): Promise<void> {
    while (this.running) {
      // candidate: try until acquired
      while (this.running) {
        const result = await this.tryAcquireOrRenew();
        if (!this.running) return;
        if (result.ok) break;
        await this.sleep(this.jittered());
      }
      if (!this.running) return;
      this.becomeLeader();
      // leader: renew every retryPeriod, as long as the deadline holds
      while (this.running && this.isLeader) {
        await this.sleep(this.timings.retryPeriodMs);
        if (!this.running || !this.isLeader) break;
        const result = await this.tryAcquireOrRenew();
        if (!this.running || !this.isLeader) break;
        if (!result.ok && result.reason.startsWith('held by ')) {
          this.stopLeading(`lease taken over: ${result.reason}`, 'lost');
        }
        // other failures: the watchdog ends leadership when renewDeadline passes without success
      }
    }
  }

  private jittered(): number {
    return this.timings.retryPeriodMs * (1 + JITTER * this.random());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = () => resolve();
      this.sleepTimer = setTimeout(resolve, ms);
    }).finally(() => {
      clearTimeout(this.sleepTimer);
      this.wake = undefined;
    });
  }

  private interruptSleep(): void {
    clearTimeout(this.sleepTimer);
    this.wake?.();
  }

  private observe(record: LeaderRecord): void {
    if (!this.observed || this.observed.resourceVersion !== record.resourceVersion) {
      this.observed = record;
      this.observedAt = this.monotonic();
    }
    if (record.holderIdentity !== this.lastHolder) {
      this.lastHolder = record.holderIdentity;
      this.log?.info({ holder: record.holderIdentity || null }, record.holderIdentity ? `lease held by ${record.holderIdentity}` : 'lease is free');
      this.options.onNewLeader?.(record.holderIdentity);
    }
  }

  private countError(operation: string, error: unknown): void {
    const kind = error instanceof LeaseApiError ? error.kind : 'network';
    this.metrics?.errors.inc({ lease: this.leaseLabel, operation, kind });
  }

  /** One attempt, as client-go's tryAcquireOrRenew. */
  private async tryAcquireOrRenew(): Promise<AttemptResult> {
    const started = this.monotonic();
    const nowTime = microTime(this.now());
    let lease: V1Lease | null;
    try {
      lease = await this.client.get();
    } catch (error) {
      this.countError('get', error);
      this.log?.warn({ err: error }, 'leader election: cannot read the lease');
      return { ok: false, reason: (error as Error).message };
    }
    const leaseDurationSeconds = Math.round(this.timings.leaseDurationMs / 1000);

    if (lease === null) {
      const body: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: this.namespace },
        spec: {
          holderIdentity: this.identity,
          leaseDurationSeconds,
          acquireTime: nowTime as unknown as V1MicroTime,
          renewTime: nowTime as unknown as V1MicroTime,
          leaseTransitions: 0,
        },
      };
      try {
        const created = await this.client.create(body);
        this.observe(recordOf(created));
        this.renewed(started);
        return { ok: true };
      } catch (error) {
        this.countError('create', error);
        if (!(error instanceof LeaseApiError && error.kind === 'conflict')) this.log?.warn({ err: error }, 'leader election: cannot create the lease');
        return { ok: false, reason: (error as Error).message };
      }
    }

    const record = recordOf(lease);
    this.observe(record);
    const holder = record.holderIdentity;
    const iHold = holder === this.identity;
    if (holder && !iHold) {
      const durationMs = (record.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (this.observedAt + durationMs > this.monotonic()) return { ok: false, reason: `held by ${holder}` };
      this.log?.info({ holder, renewTime: record.renewTime }, 'lease expired: taking it over');
    }
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds,
      acquireTime: (iHold && this.isLeader ? (record.acquireTime ?? nowTime) : nowTime) as unknown as V1MicroTime,
      renewTime: nowTime as unknown as V1MicroTime,
      leaseTransitions: iHold ? record.leaseTransitions : record.leaseTransitions + 1,
    };
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...metadataOf(lease), name: this.name, namespace: this.namespace, resourceVersion: record.resourceVersion },
      spec: { ...lease.spec, ...spec },
    };
    try {
      const updated = await this.client.replace(body);
      this.observe(recordOf(updated));
      this.renewed(started);
      return { ok: true };
    } catch (error) {
      this.countError('update', error);
      if (error instanceof LeaseApiError && error.kind === 'conflict') {
        this.log?.debug('leader election: lost an update race (409 Conflict)');
      } else {
        this.log?.warn({ err: error }, 'leader election: cannot update the lease');
      }
      return { ok: false, reason: (error as Error).message };
    }
  }

  /** A write that started at `startedAt` succeeded: leadership holds until startedAt + renewDeadline. */
  private renewed(startedAt: number): void {
    this.renewedAt = startedAt;
    if (this.running) this.armWatchdog();
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    const left = this.renewedAt + this.timings.renewDeadlineMs - this.monotonic();
    this.watchdog = setTimeout(
      () => {
        if (this.isLeader) this.stopLeading(`no successful renew within renewDeadline (${this.timings.renewDeadlineMs} ms)`, 'lost');
      },
      Math.max(0, left),
    );
    this.watchdog.unref?.();
  }

  private becomeLeader(): void {
    if (this.isLeader) return;
    this.log?.info({ transitions: this.observed?.leaseTransitions }, 'leader election: became the leader');
    this.metrics?.isLeader.set({ lease: this.leaseLabel }, 1);
    this.metrics?.transitions.inc({ lease: this.leaseLabel, event: 'acquired' });
    this.armWatchdog();
    try {
      this.options.onStartedLeading?.();
    } finally {
      this.subject.next(true);
    }
  }

  private stopLeading(reason: string, event: 'lost' | 'released'): void {
    clearTimeout(this.watchdog);
    if (!this.isLeader) return;
    const level = event === 'lost' ? 'warn' : 'info';
    this.log?.[level]({ reason }, `leader election: stopped leading (${reason})`);
    this.metrics?.isLeader.set({ lease: this.leaseLabel }, 0);
    this.metrics?.transitions.inc({ lease: this.leaseLabel, event });
    try {
      this.options.onStoppedLeading?.(reason);
    } finally {
      this.subject.next(false);
    }
  }

  /** Gives the lease up when this process still holds it (client-go's release). */
  private async release(): Promise<void> {
    try {
      const lease = await this.client.get();
      if (!lease) return;
      const record = recordOf(lease);
      if (record.holderIdentity !== this.identity) return;
      const nowTime = microTime(this.now()) as unknown as V1MicroTime;
      await this.client.replace({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { ...metadataOf(lease), resourceVersion: record.resourceVersion },
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: nowTime,
          renewTime: nowTime,
          leaseTransitions: record.leaseTransitions,
        },
      });
      this.log?.info('leader election: released the lease');
    } catch (error) {
      this.countError('release', error);
      this.log?.warn({ err: error }, 'leader election: cannot release the lease (a standby takes over after leaseDuration)');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// helpers for the wiring
// ---------------------------------------------------------------------------------------------

/**
 * A cold Observable of leadership: subscribing starts an elector, unsubscribing stops it (and
 * releases the lease, in the background). Emits false first, then every change.
 */
export function leaderElection(options: LeaderElectionOptions): Observable<boolean> {
  return new Observable<boolean>((subscriber) => {
    const elector = new LeaderElector(options);
    const sub = elector.isLeader$.subscribe(subscriber);
    elector.start();
    return () => {
      sub.unsubscribe();
      void elector.stop();
    };
  });
}

/**
 * Runs `work()` while `isLeader$` is true: subscribed when leadership starts, unsubscribed in the
 * same tick it ends; a new `work()` on every new term.
 */
export function whileLeader<T>(isLeader$: Observable<boolean>, work: () => Observable<T>): Observable<T> {
  return isLeader$.pipe(
    distinctUntilChanged(),
    switchMap((leading) => (leading ? work() : EMPTY)),
  );
}

/**
 * A readiness check for a replica that may be standing by: while not leading it is ready (healthy,
 * able to take over: a standby must not hold up rollouts or count as disrupted); while leading it
 * is ready when `check` passes.
 */
export function leaderAwareCheck(elector: Pick<LeaderElector, 'isLeader' | 'observedHolder'>, check: () => Promise<CheckResult>): () => Promise<CheckResult> {
  return async () => {
    if (!elector.isLeader) return { ok: true, detail: `standby (leader: ${elector.observedHolder || 'none'})` };
    return check();
  };
}
