/**
 * Event time for the stateful operators (dedupe, rate, spike, correlate, group).
 *
 * Every stateful operator is driven by event time only, so replaying a recorded stream at full
 * speed yields exactly the output of replaying it at recorded pace:
 *
 * - the watermark is `max event time seen - allowedLateness` (never moves back);
 * - an event is buffered until the watermark reaches its time, then processed; buffered events
 *   and per-key timers are processed together in event-time order (timers first on ties, then
 *   idle-state expiry, then events in arrival order), so the operator logic sees one ordered
 *   timeline whatever the arrival order within the allowed lateness;
 * - an event older than the watermark is late: it is counted
 *   (`kubevents_operator_late_events_total`) and, by `latePolicy`, either processed as if it
 *   happened at the watermark (`clamp`, the default: never lose an event silently) or dropped
 *   (`drop`);
 * - when the source completes the watermark goes to +Infinity: every buffered event and every
 *   timer fires (with `flushing` set so operators stop periodic re-notification), then the output
 *   completes. An error is passed on at once, without flushing;
 * - for live streams with quiet periods, `idleAdvance` (off by default, keep it off in replays)
 *   advances the watermark by the processing time elapsed since the last event once no event
 *   arrived for `idleAdvance` ms, so alerts still resolve;
 * - state is bounded: idle per-key state expires after `idleTtl` of event time (keys with a pending
 *   timer are kept), at most `maxKeys` keys are held (the least recently touched one is evicted,
 *   counted in `kubevents_operator_state_evictions_total` and logged), and nothing (state,
 *   timers, the idle-advance heartbeat) outlives the subscription;
 * - state can be snapshotted and restored (`StateOptions.checkpoint`): a snapshot holds
 *   everything the stage's output depends on (event time, watermark, the per-key state in its
 *   least-recently-touched order, the pending timers and the buffered events, with their sequence
 *   numbers), so a stage restored from a snapshot taken between two events emits, for the events
 *   after it, exactly what the stage it was taken from emits. A snapshot is full, or a delta
 *   holding only the keys changed since the previous snapshot (`mergeStageSnapshots` folds a
 *   delta into the full snapshot before it). The live job commits them together with the source
 *   positions (src/checkpoint/job-checkpointer.ts).
 *
 *   A key counts as changed when it is set, touched or deleted, or its timer is set, cleared or
 *   fires: an operator changes a key's value in place only while that key's event or timer is
 *   being processed, after `state.get`/`set` of it (the operators here all do).
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Observable, asyncScheduler, type OperatorFunction, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { defaultOperatorLogger, operatorMetrics } from './metrics.js';

export const LATE_POLICIES = ['clamp', 'drop'] as const;
/** What to do with an event older than the watermark: process it at the watermark, or drop it. */
export type LatePolicy = (typeof LATE_POLICIES)[number];

export interface EventTimeOptions {
  /** How far behind the newest event time an event may arrive and still be processed in order, ms. Default 0. */
  allowedLateness?: number;
  /** Late events (behind the watermark): `clamp` (default) processes them at the watermark, `drop` drops them. Both are counted. */
  latePolicy?: LatePolicy;
  /**
   * Live streams only: once no event arrived for this many ms of processing time, advance the
   * watermark by the processing time elapsed since the last event. null (default) = off, which a
   * replay needs to give identical output at any speed.
   */
  idleAdvance?: number | null;
  /** Scheduler for the idleAdvance heartbeat (processing time). Default asyncScheduler. */
  scheduler?: SchedulerLike;
}

export interface StateOptions {
  /** Stage name for metric labels and log lines. Default: the operator's name. */
  name?: string;
  /** Maximum keys held; beyond it the least recently touched key is evicted. */
  maxKeys?: number;
  /** Per-key state untouched for this long (event time, ms) is dropped; keys with a pending timer are kept. */
  idleTtl?: number;
  /** prom-client registry for the operator metrics. Default defaultOperatorRegistry. */
  registry?: Registry;
  /** pino logger for eviction and late-event lines. Default defaultOperatorLogger. */
  logger?: Logger;
  /** Snapshot and restore of this stage's state (the live job's checkpoints). Default: none. */
  checkpoint?: StageCheckpoint;
}

export type StageOptions = EventTimeOptions & StateOptions;

/**
 * A stage's state between two events, for a checkpoint. Values are the operator's own (plain
 * objects, arrays, Maps, Sets, numbers including ±Infinity): a structured-clone serializer
 * (v8.serialize) stores them as they are. The object references the live state: serialize it
 * before the next event reaches the stage.
 */
export interface StageSnapshot {
  operator: string;
  /** The operator's state format (StageDefinition.stateVersion): a snapshot of another format is not restored. */
  version: number;
  /** Everything (true), or only what changed since the previous snapshot (a delta: `deleted` and `timersCleared` say what went). */
  full: boolean;
  now: number;
  watermark: number;
  maxSeen: number;
  seq: number;
  /** The next tick of the per-key state. */
  ticks: number;
  /** Per-key state: [key, value, touched, tick] (tick orders the keys: least recently touched first). Delta: the changed keys. */
  keys: Array<[string, unknown, number, number]>;
  /** Delta: keys whose state was dropped. */
  deleted: string[];
  /** Pending timers: [key, time, seq]. Delta: the changed ones. */
  timers: Array<[string, number, number]>;
  /** Delta: keys whose timer was cleared (or fired) and not set again. */
  timersCleared: string[];
  /** Events waiting for the watermark, always all of them: [time, seq, value]. */
  buffered: Array<[number, number, unknown]>;
}

/**
 * Where a stage's state comes from and goes to (one per stage of a running pipeline, see
 * src/pipeline/state.ts): `take` hands the (full) snapshot to resume from, once (undefined: start
 * empty); `register` makes this subscription's snapshots available until the returned function
 * is called (at unsubscribe). A delta (`full` false) holds what changed since the previous call.
 */
export interface StageCheckpoint {
  take(): StageSnapshot | undefined;
  register(snapshot: (full: boolean) => StageSnapshot): () => void;
}

/** Folds `delta` into the full snapshot before it; a full `next` replaces it. Neither argument is changed. */
export function mergeStageSnapshots(base: StageSnapshot, next: StageSnapshot): StageSnapshot {
  if (next.full) return next;
  if (!base.full)
    throw new Error(`mergeStageSnapshots: the base of a ${next.operator} v${next.version} delta is not a full snapshot (a ${base.operator} delta)`);
  if (base.operator !== next.operator || base.version !== next.version) {
    throw new Error(`mergeStageSnapshots: a delta of ${next.operator} v${next.version} on a snapshot of ${base.operator} v${base.version}`);
  }
  const keys = new Map(base.keys.map((k) => [k[0], k]));
  for (const key of next.deleted) keys.delete(key);
  for (const k of next.keys) keys.set(k[0], k);
  const timers = new Map(base.timers.map((t) => [t[0], t]));
  for (const key of next.timersCleared) timers.delete(key);
  for (const t of next.timers) timers.set(t[0], t);
  return {
    ...next,
    full: true,
    keys: [...keys.values()].sort((a, b) => a[3] - b[3]),
    deleted: [],
    timers: [...timers.values()].sort((a, b) => a[2] - b[2]),
    timersCleared: [],
  };
}

export type EvictionReason = 'cap' | 'idle';

/** What an operator's logic sees while processing one event or timer. */
export interface StageContext<R, S> {
  /** Event time being processed (the event's time, the timer's time, or the watermark for a clamped late event). Never decreases. */
  readonly now: number;
  readonly watermark: number;
  /** The source completed and the watermark is +Infinity: do not schedule periodic work any more. */
  readonly flushing: boolean;
  emit(record: R): void;
  readonly state: KeyedState<S>;
  /** Sets the one timer of `key` (replacing any); fires when the watermark reaches `time` (at least now). */
  setTimer(key: string, time: number): void;
  clearTimer(key: string): void;
  timerOf(key: string): number | undefined;
  readonly logger: Logger;
}

export interface StageLogic<T, R, S> {
  onEvent(value: T, ctx: StageContext<R, S>): void;
  onTimer?(key: string, ctx: StageContext<R, S>): void;
  /** Called before a key's state is dropped (its timer is already cleared). May emit. */
  onEvict?(key: string, state: S, reason: EvictionReason, ctx: StageContext<R, S>): void;
  /**
   * Called once after the state was restored from a snapshot, before any event: rebuild what the
   * logic keeps besides `ctx.state` (indexes derived from it). Must not emit.
   */
  restored?(ctx: StageContext<R, S>): void;
}

/** A binary min-heap ordered by `less`. */
export class MinHeap<E> {
  private readonly items: E[] = [];
  constructor(private readonly less: (a: E, b: E) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): E | undefined {
    return this.items[0];
  }

  push(item: E): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const item = a[i]!;
      const up = a[parent]!;
      if (!this.less(item, up)) break;
      a[i] = up;
      a[parent] = item;
      i = parent;
    }
  }

  pop(): E | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        const item = a[i]!;
        a[i] = a[m]!;
        a[m] = item;
        i = m;
      }
    }
    return top;
  }

  /** The items, in no particular order (a copy). */
  toArray(): E[] {
    return [...this.items];
  }

  /** Keeps the items satisfying `keep` (re-heapifies). */
  retain(keep: (e: E) => boolean): void {
    const kept = this.items.filter(keep);
    this.items.length = 0;
    for (const e of kept) this.push(e);
  }

  clear(): void {
    this.items.length = 0;
  }
}

interface Entry<S> {
  key: string;
  value: S;
  touched: number;
  /** Order of the last set/touch (the map's order), for snapshots. */
  tick: number;
}

/**
 * Per-key state in least-recently-touched order, with a key cap. `set` and `touch` mark a key as
 * used at the current event time; `get` does not.
 */
export class KeyedState<S> {
  private readonly map = new Map<string, Entry<S>>();
  private ticks = 0;

  constructor(
    private readonly clock: () => number,
    private readonly maxKeys: number,
    private readonly onCap: (key: string, value: S) => void,
    private readonly onSizeChange: (delta: number) => void,
    /** Called for every key set, touched or deleted (for incremental snapshots). */
    private readonly onChange: ((key: string) => void) | null = null,
  ) {}

  get size(): number {
    return this.map.size;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  get(key: string): S | undefined {
    return this.map.get(key)?.value;
  }

  /** Stores `value` for `key` and marks it used; a new key beyond maxKeys evicts the least recently touched one first. */
  set(key: string, value: S): void {
    const existing = this.map.get(key);
    this.onChange?.(key);
    if (existing) {
      this.map.delete(key);
      existing.value = value;
      existing.touched = this.clock();
      existing.tick = this.ticks++;
      this.map.set(key, existing);
      return;
    }
    while (this.map.size >= this.maxKeys && this.map.size > 0) {
      const [oldestKey, oldest] = this.map.entries().next().value as [string, Entry<S>];
      this.map.delete(oldestKey);
      this.onChange?.(oldestKey);
      this.onSizeChange(-1);
      this.onCap(oldestKey, oldest.value);
    }
    this.map.set(key, { key, value, touched: this.clock(), tick: this.ticks++ });
    this.onSizeChange(1);
  }

  touch(key: string): void {
    const existing = this.map.get(key);
    if (existing) this.set(key, existing.value);
  }

  delete(key: string): boolean {
    const deleted = this.map.delete(key);
    if (deleted) {
      this.onChange?.(key);
      this.onSizeChange(-1);
    }
    return deleted;
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  entries(): Array<[string, S]> {
    return [...this.map].map(([k, e]) => [k, e.value]);
  }

  /** [key, value, touched, tick] of every key (least recently touched first), or of `only` those present. */
  dump(only?: Iterable<string>): Array<[string, S, number, number]> {
    const out: Array<[string, S, number, number]> = [];
    if (only) {
      for (const key of only) {
        const e = this.map.get(key);
        if (e) out.push([e.key, e.value, e.touched, e.tick]);
      }
    } else {
      for (const e of this.map.values()) out.push([e.key, e.value, e.touched, e.tick]);
    }
    return out;
  }

  /** The tick the next set/touch gets. */
  get nextTick(): number {
    return this.ticks;
  }

  /**
   * Replaces everything with `entries` ([key, value, touched, tick], in tick order as dump() gives
   * them) and the tick counter, without evicting.
   */
  restore(entries: ReadonlyArray<readonly [string, S, number, number]>, nextTick: number): void {
    this.clear();
    this.ticks = nextTick;
    for (const [key, value, touched, tick] of entries) {
      this.map.set(key, { key, value, touched, tick });
      if (tick >= this.ticks) this.ticks = tick + 1;
    }
    if (this.map.size > 0) this.onSizeChange(this.map.size);
  }

  /** @internal the least recently touched entry itself (read-only; no allocation per call but the iterator's). */
  oldestEntry(): Readonly<Entry<S>> | undefined {
    return this.map.values().next().value;
  }

  clear(): void {
    const n = this.map.size;
    this.map.clear();
    if (n > 0) this.onSizeChange(-n);
  }
}

interface TimerItem {
  time: number;
  seq: number;
  key: string;
}

interface BufferedItem<T> {
  time: number;
  seq: number;
  value: T;
}

const byTimeThenSeq = (a: { time: number; seq: number }, b: { time: number; seq: number }): boolean => a.time < b.time || (a.time === b.time && a.seq < b.seq);

export interface StageDefinition<T> {
  /** Operator kind for metrics and logs, e.g. `rate`. */
  operator: string;
  /** Event time of a value. */
  timestamp: (value: T) => number;
  options: StageOptions;
  /** Defaults when the options leave them out. */
  defaultMaxKeys: number;
  defaultIdleTtl: number;
  /**
   * Version of the operator's state format: bump it when the shape of the per-key state (or of
   * what the logic derives from it) changes, so that a snapshot of the old shape is not restored.
   * Default 1.
   */
  stateVersion?: number;
}

function nonNegative(name: string, value: number | null | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) throw new RangeError(`${name} must be a non-negative number of ms, got ${String(value)}`);
  return v;
}

/** Validates a positive duration option (ms). */
export function positive(name: string, value: number | undefined, fallback?: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  return v;
}

const CAP_LOG_INTERVAL = 60_000;

/**
 * Builds an event-time operator from per-subscription logic (see the module doc). Each
 * subscription gets its own logic, state, timers and heartbeat, all released on unsubscribe.
 */
export function eventTimeStage<T, R, S>(def: StageDefinition<T>, createLogic: () => StageLogic<T, R, S>): OperatorFunction<T, R> {
  const { operator, options } = def;
  const stage = options.name ?? operator;
  const lateness = nonNegative('allowedLateness', options.allowedLateness, 0);
  const latePolicy: LatePolicy = options.latePolicy ?? 'clamp';
  if (!LATE_POLICIES.includes(latePolicy)) throw new RangeError(`latePolicy must be one of ${LATE_POLICIES.join(', ')}, got ${String(latePolicy)}`);
  const idleAdvance = options.idleAdvance ?? null;
  if (idleAdvance !== null) positive('idleAdvance', idleAdvance);
  const maxKeys = positive('maxKeys', options.maxKeys, def.defaultMaxKeys);
  const idleTtl = positive('idleTtl', options.idleTtl, def.defaultIdleTtl);
  const scheduler = options.scheduler ?? asyncScheduler;
  const metrics = operatorMetrics(options.registry);
  const baseLogger = options.logger ?? defaultOperatorLogger;
  const labels = { operator, stage };
  // label sets built once per stage (prom-client hashes them on every inc; at least no copy per call)
  const evictionLabels = { cap: { ...labels, reason: 'cap' }, idle: { ...labels, reason: 'idle' } } as const;
  const lateLabels = { ...labels, policy: latePolicy };

  return (source) =>
    new Observable<R>((subscriber) => {
      const logger = baseLogger.child({ operator, stage });
      const logic = createLogic();
      let now = -Infinity;
      let watermark = -Infinity;
      let maxSeen = -Infinity;
      let flushing = false;
      let seq = 0;
      let lastArrival = 0;
      let capEvictions = 0;
      let capSinceLog = 0;
      let lastCapLog = -Infinity;
      const timers = new Map<string, TimerItem>();
      const timerHeap = new MinHeap<TimerItem>(byTimeThenSeq);
      const buffer = new MinHeap<BufferedItem<T>>(byTimeThenSeq);

      const evict = (key: string, value: S, reason: EvictionReason): void => {
        clearTimer(key);
        metrics.evictions.inc(evictionLabels[reason]);
        if (reason === 'cap') {
          capEvictions++;
          capSinceLog++;
          if (capEvictions === 1 || now - lastCapLog >= CAP_LOG_INTERVAL) {
            logger.warn({ key, maxKeys, evicted: capSinceLog, evictedTotal: capEvictions }, 'operator state at maxKeys: evicted least recently used key');
            lastCapLog = now;
            capSinceLog = 0;
          }
        } else {
          logger.debug({ key, idleTtl }, 'operator state expired (idle)');
        }
        logic.onEvict?.(key, value, reason, ctx);
      };

      // keys changed since the last snapshot (only with checkpoints)
      const changed: Set<string> | null = options.checkpoint ? new Set() : null;
      const state = new KeyedState<S>(
        () => now,
        maxKeys,
        (key, value) => evict(key, value, 'cap'),
        (delta) => metrics.keys.inc(labels, delta),
        changed ? (key) => changed.add(key) : null,
      );

      function clearTimer(key: string): void {
        if (timers.delete(key)) changed?.add(key);
      }

      const ctx: StageContext<R, S> = {
        get now() {
          return now;
        },
        get watermark() {
          return watermark;
        },
        get flushing() {
          return flushing;
        },
        emit(record: R) {
          metrics.emitted.inc(labels);
          subscriber.next(record);
        },
        state,
        setTimer(key: string, time: number) {
          const item = { time: Math.max(time, now), seq: seq++, key };
          timers.set(key, item);
          changed?.add(key);
          timerHeap.push(item);
          // stale heap entries (replaced or cleared timers) are dropped lazily; keep them bounded
          if (timerHeap.size > 64 && timerHeap.size > 4 * timers.size) {
            timerHeap.retain((t) => timers.get(t.key) === t);
          }
        },
        clearTimer,
        timerOf(key: string) {
          return timers.get(key)?.time;
        },
        logger,
      };

      const peekTimer = (): TimerItem | undefined => {
        for (;;) {
          const top = timerHeap.peek();
          if (!top || timers.get(top.key) === top) return top;
          timerHeap.pop();
        }
      };

      /** Processes everything due up to `target` in event-time order. */
      const advanceTo = (target: number): void => {
        if (target > watermark) watermark = target;
        while (!subscriber.closed) {
          const timer = peekTimer();
          const event = buffer.peek();
          const oldest = flushing ? undefined : state.oldestEntry();
          const expiry = oldest ? oldest.touched + idleTtl : Infinity;
          const timerTime = timer && timer.time <= watermark ? timer.time : Infinity;
          const expiryTime = expiry <= watermark ? expiry : Infinity;
          const eventTime = event && event.time <= watermark ? event.time : Infinity;
          const first = Math.min(timerTime, expiryTime, eventTime);
          if (first === Infinity) break;
          if (first > now) now = first;
          if (timer && timerTime === first) {
            timerHeap.pop();
            timers.delete(timer.key);
            changed?.add(timer.key); // the timer went, and onTimer may change the key's value in place
            logic.onTimer?.(timer.key, ctx);
          } else if (oldest && expiryTime === first) {
            const key = oldest.key;
            if (timers.has(key)) {
              state.touch(key); // something is scheduled for it: not idle
            } else {
              const value = state.get(key) as S;
              state.delete(key);
              evict(key, value, 'idle');
            }
          } else {
            buffer.pop();
            logic.onEvent(event!.value, ctx);
          }
        }
      };

      const fail = (error: unknown): void => subscriber.error(error);

      // --- checkpoints: resume from a snapshot, and offer ours
      const stateVersion = def.stateVersion ?? 1;
      const snapshot = (full: boolean): StageSnapshot => {
        const base = { operator, version: stateVersion, full, now, watermark, maxSeen, seq, ticks: state.nextTick };
        const buffered = buffer
          .toArray()
          .sort((a, b) => a.seq - b.seq)
          .map((b): [number, number, unknown] => [b.time, b.seq, b.value]);
        let result: StageSnapshot;
        if (full || !changed) {
          const pending = [...timers.values()].sort((a, b) => a.seq - b.seq);
          result = { ...base, full: true, keys: state.dump(), deleted: [], timers: pending.map((t) => [t.key, t.time, t.seq]), timersCleared: [], buffered };
        } else {
          const keys = state.dump(changed);
          const deleted = [...changed].filter((k) => !state.has(k));
          const pending: Array<[string, number, number]> = [];
          const timersCleared: string[] = [];
          for (const key of changed) {
            const t = timers.get(key);
            if (t) pending.push([key, t.time, t.seq]);
            else timersCleared.push(key);
          }
          result = { ...base, keys, deleted, timers: pending, timersCleared, buffered };
        }
        changed?.clear();
        return result;
      };
      const restoreFrom = options.checkpoint?.take();
      if (restoreFrom) {
        if (restoreFrom.operator !== operator || restoreFrom.version !== stateVersion || !restoreFrom.full) {
          logger.warn(
            { snapshotOperator: restoreFrom.operator, snapshotVersion: restoreFrom.version, stateVersion },
            'operator state snapshot of another format: starting empty',
          );
        } else {
          now = restoreFrom.now;
          watermark = restoreFrom.watermark;
          maxSeen = restoreFrom.maxSeen;
          seq = restoreFrom.seq;
          state.restore(restoreFrom.keys as Array<[string, S, number, number]>, restoreFrom.ticks);
          for (const [key, time, itemSeq] of restoreFrom.timers) {
            const item = { time, seq: itemSeq, key };
            timers.set(key, item);
            timerHeap.push(item);
          }
          for (const [time, itemSeq, value] of restoreFrom.buffered) buffer.push({ time, seq: itemSeq, value: value as T });
          lastArrival = scheduler.now();
          logic.restored?.(ctx);
          logger.debug({ keys: state.size, timers: timers.size, buffered: buffer.size, watermark }, 'operator state restored');
        }
      }
      const unregister = options.checkpoint?.register(snapshot);

      let heartbeat: Subscription | undefined;
      if (idleAdvance !== null) {
        heartbeat = scheduler.schedule(function tick(this: SchedulerAction<undefined>) {
          try {
            const idle = scheduler.now() - lastArrival;
            if (maxSeen > -Infinity && idle >= idleAdvance) advanceTo(maxSeen + idle - lateness);
          } catch (error) {
            fail(error);
            return;
          }
          if (!subscriber.closed) this.schedule(undefined, idleAdvance);
        }, idleAdvance);
      }

      const subscription = source.subscribe({
        next(value) {
          try {
            if (idleAdvance !== null) lastArrival = scheduler.now(); // only the idle-advance heartbeat reads it
            let time = def.timestamp(value);
            if (typeof time !== 'number' || Number.isNaN(time)) throw new TypeError(`${operator}: event time is not a number: ${String(time)}`);
            if (time < watermark) {
              metrics.lateEvents.inc(lateLabels);
              logger.debug({ eventTime: time, watermark, policy: latePolicy }, 'late event');
              if (latePolicy === 'drop') return;
              time = watermark;
            }
            if (time > maxSeen) maxSeen = time;
            buffer.push({ time, seq: seq++, value });
            advanceTo(Math.max(watermark, maxSeen - lateness));
          } catch (error) {
            fail(error);
          }
        },
        error: fail,
        complete() {
          try {
            flushing = true;
            advanceTo(Infinity);
            subscriber.complete();
          } catch (error) {
            fail(error);
          }
        },
      });

      return () => {
        unregister?.();
        subscription.unsubscribe();
        heartbeat?.unsubscribe();
        timers.clear();
        timerHeap.clear();
        buffer.clear();
        state.clear();
      };
    });
}

/**
 * Whether an event is an occurrence. A DELETED change is the API dropping the Event object
 * (TTL expiry, an hour after its last occurrence), not something that happened: the stateful
 * operators ignore it before it reaches their watermark.
 */
export function isOccurrence(e: { change: string }): boolean {
  return e.change !== 'DELETED';
}
