import { filter, type OperatorFunction } from 'rxjs';
import { cleanLabels, labelsFingerprint, type Alert, type AlertStatus } from '../model/alert.js';
import { objectKey, type Category, type KubeEvent, type Severity } from '../model/kube-event.js';
import { buildAlert, contextAnnotations, describeObject, eventContext, formatSpan, maxSeverity, objectNamespace, pushBounded } from './alert-builder.js';
import { formatDuration } from '../core/duration.js';
import { eventTimeStage, isOccurrence, positive, type StageContext, type StageOptions } from './event-time.js';

export interface RateSummaryInput {
  status: AlertStatus;
  labels: Record<string, string>;
  /** Firing: the events in the window at the crossing; resolved: every event of the episode. */
  count: number;
  threshold: number;
  window: number;
  event: KubeEvent;
  /** Event time of the first and last of the counted events. */
  firstSeen: number;
  lastSeen: number;
}

export interface RateOptions extends StageOptions {
  /** N: fire when at least this many events of a key fall within `window`. */
  threshold: number;
  /** W: sliding window, ms of event time; an event at t counts in (t - W, t]. */
  window: number;
  /** Resolve only after the count stayed under the threshold this long, ms. Default 0. */
  hold?: number;
  /**
   * Restart the hold at every counted event: resolve once the count is under the threshold and
   * no event of the key came for `hold` (for conditions whose events keep trickling in under the
   * threshold, e.g. the scheduler's periodic FailedScheduling retries). Default false.
   */
  holdUntilQuiet?: boolean;
  /**
   * Labels of the alert an event counts towards; they are also the key (the same labels = the
   * same counter = the same alertId). Default rateLabels: alertname, cluster, namespace, kind,
   * name, reason of the regarding object. `alertname` is added when missing.
   */
  labels?: (event: KubeEvent) => Record<string, string | null | undefined>;
  /** alertname label. Default KubeEventRate. */
  alertname?: string;
  /** Severity of the alert. Default: the highest classified severity of the counted events (warning when unclassified). */
  severity?: Severity;
  /** Category. Default: the last counted event's classification (Other when unclassified). */
  category?: Category;
  /** Extra annotations from the last counted event (added to workload, node, message). */
  annotations?: (event: KubeEvent) => Record<string, string>;
  summary?: (input: RateSummaryInput) => string;
  /**
   * Events that end the condition for their object at once (e.g. reason Scheduled ends
   * FailedScheduling): they are not counted; every key whose last counted event was about the
   * same object (objectKey) is reset and, if firing, resolved at that event's time.
   */
  resolveOn?: (event: KubeEvent) => boolean;
  /** Distinct sample messages kept per alert. Default 3. */
  maxSamples?: number;
  /** Member idempotency keys kept per alert (most recent). Default 20. */
  maxMemberKeys?: number;
  /** Default 20,000 keys. */
  maxKeys?: number;
  /** Default: window + hold + 1 hour. */
  idleTtl?: number;
}

/** Default labels: one counter per object and reason. */
export function rateLabels(e: KubeEvent): Record<string, string | null> {
  return {
    cluster: e.cluster,
    namespace: objectNamespace(e),
    kind: e.regarding.kind,
    name: e.regarding.name,
    reason: e.reason,
  };
}

function defaultSummary(i: RateSummaryInput): string {
  const r = i.event.regarding;
  const workload = i.event.enrichment?.workload;
  const owner = workload && (workload.kind !== r.kind || workload.name !== r.name) ? ` (${workload.kind} ${workload.name})` : '';
  const reason = i.labels['reason'] ?? i.event.reason;
  const span = formatSpan(i.firstSeen, i.lastSeen);
  // firing: the count that crossed the threshold within the window; resolved: the whole episode
  return i.status === 'resolved'
    ? `resolved: ${i.count} ${reason} ${span} on ${describeObject(i.event)}${owner}`
    : `${i.count} ${reason} within ${formatDuration(i.window)} (${span}) on ${describeObject(i.event)}${owner}: ${i.event.message}`;
}

interface RateState {
  labels: Record<string, string>;
  alertId: string;
  object: string;
  /** Counted event times in the window, ascending, run-length encoded: [time, n]. */
  times: Array<[number, number]>;
  count: number;
  firing: boolean;
  startsAt: number;
  /** Events counted in the current episode (at the crossing, plus those while firing). */
  episodeCount: number;
  firstSeen: number;
  lastSeen: number;
  belowSince: number | null;
  /** Event time of the last counted event. */
  lastEventAt: number;
  severity: Severity;
  last: KubeEvent;
  samples: string[];
  /** Most recent counted events: [time, idempotencyKey]. */
  members: Array<[number, string]>;
}

/**
 * Counts events per key (by default: object + reason) in a sliding window of event time and
 * emits a firing Alert when at least `threshold` events fall within `window`, and a resolved
 * Alert once the count has stayed under the threshold for `hold` (or at once when a `resolveOn`
 * event for the same object arrives). One firing and one resolved record per episode; more events
 * while firing do not re-alert. The alert's `startsAt` is the crossing event's time, `endsAt` the
 * time the count fell under the threshold, `updatedAt` the decision time.
 *
 * Event time: the count at time t covers events in (t - window, t]; events are released in
 * event-time order once the watermark (max event time seen - allowedLateness) reaches them and
 * window expiries fire as the watermark passes them, so the output is the same at any replay
 * speed. When the source completes, pending expiries fire: every firing alert resolves.
 * DELETED changes (the API expiring an Event) are not occurrences and are ignored.
 *
 * ```
 * threshold 3, window 10, hold 0; event time = frame
 * source:  -a-a-a-------------a----|
 * rate:    -----F-----R------------|    F firing (startsAt 5, count 3); R resolved: at 11 the event at 1 leaves
 *                                       the window (count 2 < 3). The event at 19 alone does not fire.
 * ```
 */
export function rate(options: RateOptions): OperatorFunction<KubeEvent, Alert> {
  const threshold = Math.trunc(positive('threshold', options.threshold));
  const window = positive('window', options.window);
  const hold = options.hold ?? 0;
  if (!(hold >= 0)) throw new RangeError(`hold must be a non-negative number of ms, got ${String(options.hold)}`);
  const quiet = options.holdUntilQuiet === true;
  const alertname = options.alertname ?? 'KubeEventRate';
  const labelsOf = options.labels ?? rateLabels;
  const summaryOf = options.summary ?? defaultSummary;
  const maxSamples = options.maxSamples ?? 3;
  const maxMemberKeys = options.maxMemberKeys ?? 20;

  const stage = eventTimeStage<KubeEvent, Alert, RateState>(
    {
      operator: 'rate',
      timestamp: (e) => e.lastTimestamp,
      options,
      defaultMaxKeys: 20_000,
      defaultIdleTtl: window + hold + 60 * 60_000,
    },
    () => {
      /** objectKey -> keys whose last counted event was about that object (for resolveOn). */
      const byObject = new Map<string, Set<string>>();

      const unindex = (key: string, object: string): void => {
        const set = byObject.get(object);
        if (!set) return;
        set.delete(key);
        if (set.size === 0) byObject.delete(object);
      };

      const expire = (s: RateState, now: number): void => {
        const cutoff = now - window;
        let drop = 0;
        while (drop < s.times.length && s.times[drop]![0] <= cutoff) {
          s.count -= s.times[drop]![1];
          drop++;
        }
        if (drop > 0) s.times.splice(0, drop);
      };

      /** Time at which the count first falls under the threshold if nothing else arrives. */
      const dropTime = (s: RateState): number => {
        if (s.count < threshold) return -Infinity; // already under: now
        let toRemove = s.count - threshold + 1;
        for (const [t, n] of s.times) {
          toRemove -= n;
          if (toRemove <= 0) return t + window;
        }
        return -Infinity;
      };

      const emit = (s: RateState, status: AlertStatus, ctx: StageContext<Alert, RateState>): void => {
        const e = s.last;
        const summary = summaryOf({
          status,
          labels: s.labels,
          count: status === 'firing' ? s.count : s.episodeCount,
          threshold,
          window,
          event: e,
          firstSeen: s.firstSeen,
          lastSeen: s.lastSeen,
        });
        const ctxInfo = eventContext(e);
        ctx.emit(
          buildAlert({
            alertId: s.alertId,
            status,
            labels: s.labels,
            annotations: { ...contextAnnotations(e), ...(options.annotations?.(e) ?? {}), threshold: String(threshold), window: formatDuration(window) },
            severity: options.severity ?? s.severity,
            category: options.category ?? e.classification?.category ?? 'Other',
            cluster: e.cluster,
            namespace: s.labels['namespace'] ?? objectNamespace(e),
            summary,
            startsAt: s.startsAt,
            endsAt: status === 'resolved' ? (s.belowSince === null ? ctx.now : quiet ? Math.max(s.belowSince, s.lastEventAt) : s.belowSince) : null,
            updatedAt: ctx.now,
            count: status === 'firing' ? s.count : s.episodeCount,
            windowMs: window,
            firstSeen: s.firstSeen,
            lastSeen: s.lastSeen,
            ...ctxInfo,
            sampleMessages: s.samples,
            // firing: the events in the window at the crossing; resolved: the most recent of the episode
            memberKeys: s.members.filter(([t]) => status === 'resolved' || t > ctx.now - window).map(([, k]) => k),
            sequence: 0,
          }),
        );
      };

      const resolve = (s: RateState, ctx: StageContext<Alert, RateState>): void => {
        s.belowSince ??= ctx.now;
        emit(s, 'resolved', ctx);
        s.firing = false;
        s.belowSince = null;
      };

      /** When a firing key under the threshold resolves, if nothing else arrives. */
      const resolveTime = (s: RateState): number => (quiet ? Math.max(s.belowSince!, s.lastEventAt) : s.belowSince!) + hold;

      /** Schedules the next moment this key needs looking at. */
      const schedule = (key: string, s: RateState, ctx: StageContext<Alert, RateState>): void => {
        if (s.firing) {
          ctx.setTimer(key, s.belowSince !== null ? resolveTime(s) : dropTime(s));
        } else if (s.times.length > 0) {
          ctx.setTimer(key, s.times[s.times.length - 1]![0] + window); // all expired: state can go
        } else {
          ctx.clearTimer(key);
        }
      };

      const drop = (key: string, s: RateState, ctx: StageContext<Alert, RateState>): void => {
        ctx.state.delete(key);
        ctx.clearTimer(key);
        unindex(key, s.object);
      };

      return {
        onEvent(event, ctx) {
          const now = ctx.now;
          if (options.resolveOn?.(event)) {
            const object = objectKey(event);
            // in key order: the same whatever order the index was built in (a restored one, too)
            for (const key of [...(byObject.get(object) ?? [])].sort()) {
              const s = ctx.state.get(key);
              if (!s) continue;
              if (s.firing) {
                s.belowSince = now;
                resolve(s, ctx);
              }
              drop(key, s, ctx);
            }
            return;
          }
          const own = labelsOf(event);
          const labels = cleanLabels({ ...own, alertname: own['alertname'] || alertname });
          const key = labelsFingerprint(labels);
          const object = objectKey(event);
          let s = ctx.state.get(key);
          if (!s) {
            s = {
              labels,
              alertId: key,
              object,
              times: [],
              count: 0,
              firing: false,
              startsAt: now,
              episodeCount: 0,
              firstSeen: event.lastTimestamp,
              lastSeen: event.lastTimestamp,
              belowSince: null,
              lastEventAt: now,
              severity: 'warning',
              last: event,
              samples: [],
              members: [],
            };
            ctx.state.set(key, s);
          } else {
            ctx.state.set(key, s);
            if (s.object !== object) {
              unindex(key, s.object);
              s.object = object;
            }
          }
          let set = byObject.get(object);
          if (!set) byObject.set(object, (set = new Set()));
          set.add(key);

          expire(s, now);
          const lastRun = s.times[s.times.length - 1];
          if (lastRun && lastRun[0] === now) lastRun[1]++;
          else s.times.push([now, 1]);
          s.count++;
          s.last = event;
          s.lastSeen = event.lastTimestamp;
          s.lastEventAt = now;
          if (s.count === 1 && !s.firing) {
            s.firstSeen = event.lastTimestamp;
            s.samples = [];
            s.members = [];
            s.severity = event.classification?.severity ?? 'warning';
          } else {
            s.severity = maxSeverity(s.severity, event.classification?.severity ?? 'warning');
          }
          pushBounded(s.samples, event.message, maxSamples);
          s.members.push([now, event.idempotencyKey]);
          if (s.members.length > maxMemberKeys) s.members.shift();

          if (s.firing) {
            s.episodeCount++;
            if (s.count >= threshold) s.belowSince = null;
          } else if (s.count >= threshold) {
            s.firing = true;
            s.startsAt = now;
            s.firstSeen = Math.min(s.times[0]![0], event.lastTimestamp);
            s.episodeCount = s.count;
            s.belowSince = null;
            emit(s, 'firing', ctx);
          }
          schedule(key, s, ctx);
        },

        onTimer(key, ctx) {
          const s = ctx.state.get(key);
          if (!s) return;
          expire(s, ctx.now);
          if (s.firing) {
            if (s.count >= threshold) {
              s.belowSince = null;
            } else {
              s.belowSince ??= ctx.now;
              if (ctx.now >= resolveTime(s)) resolve(s, ctx);
            }
          }
          if (!s.firing && s.count === 0) {
            drop(key, s, ctx);
            return;
          }
          schedule(key, s, ctx);
        },

        restored(ctx) {
          // the object index is derived from the state
          for (const [key, s] of ctx.state.entries()) {
            let set = byObject.get(s.object);
            if (!set) byObject.set(s.object, (set = new Set()));
            set.add(key);
          }
        },

        onEvict(key, s, reason, ctx) {
          unindex(key, s.object);
          if (s.firing) ctx.logger.warn({ key, labels: s.labels, reason }, 'rate: state of a firing alert evicted; it will not resolve here');
        },
      };
    },
  );
  return (source) =>
    source.pipe(
      filter((e) => isOccurrence(e)),
      stage,
    );
}
