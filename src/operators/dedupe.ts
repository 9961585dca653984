import { filter, type OperatorFunction } from 'rxjs';
import type { KubeEvent } from '../model/kube-event.js';
import { eventTimeStage, isOccurrence, positive, type StageOptions } from './event-time.js';

/** What dedupe adds to each event it lets through. */
export interface DedupeInfo {
  /** Events of the same key suppressed since the previous emission of that key. */
  suppressed: number;
  /** Event time of the first and last of them; null when none were suppressed. */
  firstSuppressedAt: number | null;
  lastSuppressedAt: number | null;
}

export type Deduped<T> = T & { dedupe: DedupeInfo };

export interface DedupeOptions extends StageOptions {
  /** Suppression window, ms of event time. Default 5 minutes. */
  window?: number;
  /** Key of "the same thing". Default dedupeKey: cluster / regarding uid (or object key) / reason. */
  key?: (event: KubeEvent) => string;
  /** Extend the window on every suppressed repeat (suppress until a quiet gap of `window`). Default false. */
  extendOnRepeat?: boolean;
  /** Default 50,000. */
  maxKeys?: number;
  /**
   * How long a key that has a suppressed count waits for its next emission, ms of event time
   * since its last repeat. Default 1 hour. Expired counts are dropped (debug log).
   */
  idleTtl?: number;
}

/** Default dedupe key: the regarding object's uid (else kind/namespace/name) and the reason. */
export function dedupeKey(e: KubeEvent): string {
  const r = e.regarding;
  const object = r.uid ?? `${r.kind ?? ''}/${r.namespace ?? e.namespace ?? ''}/${r.name ?? ''}`;
  return `${e.cluster}/${object}/${e.reason}`;
}

interface DedupeState {
  windowEnd: number;
  suppressed: number;
  firstSuppressedAt: number | null;
  lastSuppressedAt: number | null;
}

/**
 * Lets the first event of a key through, then suppresses events of the same key until `window`
 * of event time has passed since that emission (fixed window; with `extendOnRepeat`, since the
 * last repeat). The next event of the key after the window is emitted with
 * `dedupe.suppressed` = how many were suppressed in between (and their first/last times), and
 * opens a new window. Every emitted event carries `dedupe`.
 *
 * Event time: events are released in event-time order once the watermark (max event time seen
 * minus `allowedLateness`) reaches them, so the output is the same at any replay speed; an event
 * at exactly `emission + window` opens a new window. On completion everything buffered is
 * released. A suppressed count whose key never repeats is dropped after `idleTtl`.
 * DELETED changes (the API expiring an Event) are not occurrences and are ignored.
 *
 * ```
 * window 10; event time = frame; key of each event:
 * key:      -a-a-a-b-a----------a---|
 * source:   -1-2-3-4-5----------6---|
 * dedupe:   -1-----4------------6---|      6.dedupe.suppressed = 3 (events 2, 3 and 5)
 * ```
 */
export function dedupe<T extends KubeEvent>(options: DedupeOptions = {}): OperatorFunction<T, Deduped<T>> {
  const window = positive('window', options.window, 5 * 60_000);
  const keyOf = options.key ?? dedupeKey;
  const extend = options.extendOnRepeat === true;
  const stage = eventTimeStage<T, Deduped<T>, DedupeState>(
    {
      operator: 'dedupe',
      timestamp: (e) => e.lastTimestamp,
      options,
      defaultMaxKeys: 50_000,
      defaultIdleTtl: 60 * 60_000,
    },
    () => ({
      onEvent(event, ctx) {
        const key = keyOf(event);
        const s = ctx.state.get(key);
        const now = ctx.now;
        if (s && now < s.windowEnd) {
          s.suppressed++;
          s.firstSuppressedAt ??= event.lastTimestamp;
          s.lastSuppressedAt = event.lastTimestamp;
          if (extend) {
            s.windowEnd = now + window;
            ctx.setTimer(key, s.windowEnd);
          }
          ctx.state.set(key, s);
          return;
        }
        ctx.emit({
          ...event,
          dedupe: {
            suppressed: s?.suppressed ?? 0,
            firstSuppressedAt: s?.firstSuppressedAt ?? null,
            lastSuppressedAt: s?.lastSuppressedAt ?? null,
          },
        });
        ctx.state.set(key, { windowEnd: now + window, suppressed: 0, firstSuppressedAt: null, lastSuppressedAt: null });
        ctx.setTimer(key, now + window);
      },
      onTimer(key, ctx) {
        // window over: without a pending count nothing needs remembering; with one, keep it for the next emission
        if (ctx.state.get(key)?.suppressed === 0) ctx.state.delete(key);
      },
      onEvict(key, s, reason, ctx) {
        if (s.suppressed > 0) ctx.logger.debug({ key, suppressed: s.suppressed, reason }, 'dedupe: suppressed count dropped with its key');
      },
    }),
  );
  return (source) =>
    source.pipe(
      filter((e) => isOccurrence(e)),
      stage,
    );
}
