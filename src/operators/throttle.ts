import { filter, type OperatorFunction } from 'rxjs';
import type { KubeEvent } from '../model/kube-event.js';
import { dedupeKey } from './dedupe.js';
import { eventTimeStage, isOccurrence, positive, type StageOptions } from './event-time.js';

/** What throttle adds to each event it lets through. */
export interface ThrottleInfo {
  /** Events of the same key dropped since the previous emission of that key. */
  dropped: number;
  /** Event time of the first and last of them; null when none were dropped. */
  firstDroppedAt: number | null;
  lastDroppedAt: number | null;
}

export type Throttled<T> = T & { throttle: ThrottleInfo };

export interface ThrottleOptions extends StageOptions {
  /** Length of a key's throttle period, ms of event time. */
  interval: number;
  /** Events let through at the start of a period (leading). Default 1. */
  limit?: number;
  /** Emit the first `limit` events of a period at once. Default true. */
  leading?: boolean;
  /** Emit the last dropped event of a period when the period ends. Default false. */
  trailing?: boolean;
  /** Key of "the same thing". Default dedupeKey: cluster / regarding object / reason. */
  key?: (event: KubeEvent) => string;
}

interface ThrottleState {
  periodEnd: number;
  passed: number;
  dropped: number;
  firstDroppedAt: number | null;
  lastDroppedAt: number | null;
  /** trailing: the latest event held back, emitted when the period ends */
  held: KubeEvent | null;
}

/**
 * At most `limit` events per key per `interval` of event time, with RxJS throttle's choice:
 * `leading` lets the first `limit` events of a period through at once, `trailing` emits the last
 * event held back when the period ends. A period starts with the first event of a key after the
 * previous one ended (a trailing emission does not start one). Every emitted event carries
 * `throttle`: how many events of its key were dropped since the previous emission, and when.
 *
 * Event time, ordering, lateness and bounded state as in every event-time stage (event-time.ts);
 * DELETED changes are not occurrences and are ignored. A dropped count whose key never emits
 * again is discarded with the key's state after `idleTtl`.
 *
 * ```
 * interval 10, limit 1; event time = frame; all events of one key:
 * source:                      -a-b-c--------d-|
 * leading:                     -a------------d-|    d.throttle.dropped = 2 (b, c)
 * trailing (no leading):       -----------c----(d|) c.throttle.dropped = 2 (a, b), d at the end
 * leading and trailing:        -a---------c--d-|    c.throttle.dropped = 1 (b)
 * ```
 */
export function throttle<T extends KubeEvent>(options: ThrottleOptions): OperatorFunction<T, Throttled<T>> {
  const interval = positive('interval', options.interval);
  const limit = positive('limit', options.limit, 1);
  const leading = options.leading ?? true;
  const trailing = options.trailing ?? false;
  if (!leading && !trailing) throw new RangeError('throttle: leading or trailing (or both) must be on');
  const keyOf = options.key ?? dedupeKey;
  const emitWith = (event: T, s: ThrottleState, emit: (e: Throttled<T>) => void): void => {
    emit({ ...event, throttle: { dropped: s.dropped, firstDroppedAt: s.firstDroppedAt, lastDroppedAt: s.lastDroppedAt } });
    s.dropped = 0;
    s.firstDroppedAt = null;
    s.lastDroppedAt = null;
  };
  const drop = (event: KubeEvent, s: ThrottleState): void => {
    s.dropped++;
    s.firstDroppedAt ??= event.lastTimestamp;
    s.lastDroppedAt = event.lastTimestamp;
  };
  const stage = eventTimeStage<T, Throttled<T>, ThrottleState>(
    { operator: 'throttle', timestamp: (e) => e.lastTimestamp, options, defaultMaxKeys: 50_000, defaultIdleTtl: 60 * 60_000 },
    () => ({
      onEvent(event, ctx) {
        const key = keyOf(event);
        let s = ctx.state.get(key);
        if (!s || ctx.now >= s.periodEnd) {
          s = {
            periodEnd: ctx.now + interval,
            passed: 0,
            dropped: s?.dropped ?? 0,
            firstDroppedAt: s?.firstDroppedAt ?? null,
            lastDroppedAt: s?.lastDroppedAt ?? null,
            held: null,
          };
          ctx.setTimer(key, s.periodEnd);
        }
        if (leading && s.passed < limit) {
          s.passed++;
          emitWith(event, s, ctx.emit);
        } else if (trailing) {
          if (s.held) drop(s.held, s);
          s.held = event;
        } else {
          drop(event, s);
        }
        ctx.state.set(key, s);
      },
      onTimer(key, ctx) {
        const s = ctx.state.get(key);
        if (!s) return;
        if (s.held) {
          const held = s.held as T;
          s.held = null;
          emitWith(held, s, ctx.emit);
        }
        // without a pending count nothing needs remembering; with one, keep it for the next emission
        if (s.dropped === 0) ctx.state.delete(key);
      },
      onEvict(key, s, reason, ctx) {
        if (s.held) {
          const held = s.held as T;
          s.held = null;
          emitWith(held, s, ctx.emit);
        } else if (s.dropped > 0) ctx.logger.debug({ key, dropped: s.dropped, reason }, 'throttle: dropped count discarded with its key');
      },
    }),
  );
  return (source) =>
    source.pipe(
      filter((e) => isOccurrence(e)),
      stage,
    );
}
