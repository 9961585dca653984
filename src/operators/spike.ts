import { filter, type OperatorFunction } from 'rxjs';
import { cleanLabels, labelsFingerprint, type Alert, type AlertStatus } from '../model/alert.js';
import type { Category, KubeEvent, Severity } from '../model/kube-event.js';
import { buildAlert, eventContext, formatSpan, objectNamespace, pushBounded, workloadLabel } from './alert-builder.js';
import { formatDuration } from '../core/duration.js';
import { eventTimeStage, isOccurrence, positive, type StageContext, type StageOptions } from './event-time.js';

export interface SpikeOptions extends StageOptions {
  /** Bucket length, ms of event time; buckets are aligned to multiples of it. Default 1 minute. */
  interval?: number;
  /** A bucket is anomalous when its count >= factor x baseline. Default 5. */
  factor?: number;
  /** ...and its count >= minCount. Default 20. */
  minCount?: number;
  /** EWMA smoothing of the baseline (weight of the newest bucket), 0 < alpha <= 1. Default 0.3. */
  alpha?: number;
  /** The baseline used is at least this (events per bucket), so a silent key needs more than factor x minBaseline. Default 1. */
  minBaseline?: number;
  /** Buckets a key must have been observed (including quiet ones) before it can alert. Default 5. */
  warmup?: number;
  /**
   * Update the baseline with anomalous buckets too. Default false: the baseline is frozen while
   * firing, so a sustained storm keeps firing until the rate comes back down.
   */
  learnDuringAnomaly?: boolean;
  /** Labels (and key) of an event's counter. Default spikeLabels: cluster and namespace. alertname is added. */
  labels?: (event: KubeEvent) => Record<string, string | null | undefined>;
  /** alertname label. Default KubeEventRateSpike. */
  alertname?: string;
  /** Default warning. */
  severity?: Severity;
  /** Default: the most frequent classified category in the bucket (Other when unclassified). */
  category?: Category;
  /** Default 3. */
  maxSamples?: number;
  /** Default 20. */
  maxMemberKeys?: number;
  /** Default 10,000. */
  maxKeys?: number;
  /** Keys (and their baselines) unseen this long are dropped, ms. Default 24 hours. */
  idleTtl?: number;
}

/** Default labels: one baseline per namespace. */
export function spikeLabels(e: KubeEvent): Record<string, string | null> {
  return { cluster: e.cluster, namespace: objectNamespace(e) };
}

const MAX_REASONS = 50;

interface SpikeState {
  labels: Record<string, string>;
  alertId: string;
  /** Open bucket start, or null when no bucket is open. */
  bucket: number | null;
  count: number;
  reasons: Map<string, number>;
  categories: Map<string, number>;
  /** EWMA of closed buckets' counts. */
  baseline: number;
  observed: number;
  /** Start of the last closed bucket, or null. */
  lastClosed: number | null;
  firing: boolean;
  startsAt: number;
  episodeCount: number;
  firstSeen: number;
  lastSeen: number;
  /** Baseline and count of the bucket that fired (for the alert). */
  firedBaseline: number;
  last: KubeEvent | null;
  samples: string[];
  memberKeys: string[];
  cluster: string;
  namespace: string | null;
}

function top(counts: Map<string, number>, n: number): Array<[string, number]> {
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);
}

/**
 * Compares each key's event count per bucket (default: per namespace per minute) with the key's
 * own baseline, an exponentially weighted moving average of its past buckets (quiet buckets
 * count as 0). When a bucket closes with count >= minCount and count >= factor x
 * max(baseline, minBaseline), after `warmup` observed buckets, it emits a firing Alert
 * (alertname KubeEventRateSpike, startsAt = the bucket start); the first bucket that closes under
 * that threshold resolves it (endsAt = that bucket's start). Filter first (e.g. type Warning).
 *
 * Event time: a bucket closes when the watermark passes its end, so the output is the same at any
 * replay speed; on completion the open buckets close and a firing alert sees one more (empty)
 * bucket, which resolves it.
 * DELETED changes (the API expiring an Event) are not occurrences and are ignored.
 *
 * ```
 * interval 1m, factor 5, minCount 4, warmup 2; events per bucket of namespace shop:
 * bucket:  | 0 | 1 | 2 | 3 | 4 | 5 |
 * count:   | 1 | 1 | 1 | 8 | 1 | 0 |
 * spike:                  F   R        F when bucket 3 closes (8 >= 5 x baseline 1; startsAt = bucket 3 start),
 *                                      R when bucket 4 closes (1 < 5): endsAt = bucket 4 start
 * ```
 */
export function spike(options: SpikeOptions = {}): OperatorFunction<KubeEvent, Alert> {
  const interval = positive('interval', options.interval, 60_000);
  const factor = positive('factor', options.factor, 5);
  const minCount = options.minCount ?? 20;
  const alpha = positive('alpha', options.alpha, 0.3);
  if (alpha > 1) throw new RangeError(`alpha must be in (0, 1], got ${alpha}`);
  const minBaseline = options.minBaseline ?? 1;
  const warmup = options.warmup ?? 5;
  const learnDuringAnomaly = options.learnDuringAnomaly === true;
  const alertname = options.alertname ?? 'KubeEventRateSpike';
  const labelsOf = options.labels ?? spikeLabels;
  const maxSamples = options.maxSamples ?? 3;
  const maxMemberKeys = options.maxMemberKeys ?? 20;

  const stage = eventTimeStage<KubeEvent, Alert, SpikeState>(
    {
      operator: 'spike',
      timestamp: (e) => e.lastTimestamp,
      options,
      defaultMaxKeys: 10_000,
      defaultIdleTtl: 24 * 60 * 60_000,
    },
    () => {
      const thresholdOf = (s: SpikeState): number => Math.max(minCount, factor * Math.max(s.baseline, minBaseline));

      const emit = (s: SpikeState, status: AlertStatus, bucketStart: number, count: number, ctx: StageContext<Alert, SpikeState>): void => {
        const reasons = top(s.reasons, 5);
        const baseline = s.firedBaseline;
        const where = s.labels['namespace']
          ? `namespace ${s.labels['namespace']}`
          : Object.entries(s.labels)
              .filter(([k]) => k !== 'alertname')
              .map(([k, v]) => `${k}=${v}`)
              .join(',');
        const ratio = baseline > 0 ? `${(count / baseline).toFixed(1)}x` : 'far above';
        const summary =
          status === 'firing'
            ? `event rate spike in ${where}: ${count} in ${formatDuration(interval)}, ${ratio} the baseline ${baseline.toFixed(1)}/${formatDuration(interval)}${reasons.length ? ` (${reasons.map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}`
            : `resolved: event rate spike in ${where}: back to ${count} in ${formatDuration(interval)} (baseline ${baseline.toFixed(1)}/${formatDuration(interval)}); ${s.episodeCount} events ${formatSpan(s.firstSeen, s.lastSeen)}`;
        const context = eventContext(s.last);
        const annotations: Record<string, string> = {
          baseline: baseline.toFixed(2),
          current: String(count),
          threshold: thresholdOf({ ...s, baseline }).toFixed(2),
          factor: String(factor),
          interval: formatDuration(interval),
        };
        if (reasons.length) annotations['topReasons'] = reasons.map(([r, n]) => `${r}=${n}`).join(',');
        const workload = workloadLabel(context.workload);
        if (workload) annotations['lastWorkload'] = workload;
        const category = options.category ?? (top(s.categories, 1)[0]?.[0] as Category | undefined) ?? 'Other';
        ctx.emit(
          buildAlert({
            alertId: s.alertId,
            status,
            labels: s.labels,
            annotations,
            severity: options.severity ?? 'warning',
            category,
            cluster: s.cluster,
            namespace: s.namespace,
            summary,
            startsAt: s.startsAt,
            endsAt: status === 'resolved' ? bucketStart : null,
            updatedAt: ctx.now,
            count: status === 'firing' ? count : s.episodeCount,
            windowMs: interval,
            firstSeen: s.firstSeen,
            lastSeen: s.lastSeen,
            workload: null,
            node: null,
            containers: [],
            sampleMessages: s.samples,
            memberKeys: s.memberKeys,
            sequence: 0,
          }),
        );
      };

      /** Closes the open bucket (the timer fires at its end). */
      const close = (key: string, s: SpikeState, ctx: StageContext<Alert, SpikeState>): void => {
        const start = s.bucket!;
        const count = s.count;
        // quiet buckets since the last closed one decay the baseline
        if (s.lastClosed !== null) {
          const quiet = Math.max(0, Math.round((start - s.lastClosed) / interval) - 1);
          if (quiet > 0) {
            s.baseline *= Math.pow(1 - alpha, quiet);
            s.observed += quiet;
          }
        }
        const anomalous = count > 0 && s.observed >= warmup && count >= thresholdOf(s);
        if (anomalous && !s.firing) {
          s.firing = true;
          s.startsAt = start;
          s.episodeCount = count;
          s.firedBaseline = s.baseline;
          emit(s, 'firing', start, count, ctx);
        } else if (anomalous) {
          s.episodeCount += count;
        } else if (s.firing) {
          emit(s, 'resolved', start, count, ctx);
          s.firing = false;
        }
        if (!anomalous || learnDuringAnomaly) {
          s.baseline = s.observed === 0 ? count : alpha * count + (1 - alpha) * s.baseline;
        }
        s.observed++;
        s.lastClosed = start;
        s.bucket = null;
        s.count = 0;
        s.reasons.clear();
        s.categories.clear();
        if (s.firing) {
          // a firing key needs its next bucket closed even if it stays quiet (unless the stream ended and it is empty)
          s.bucket = start + interval;
          ctx.setTimer(key, start + 2 * interval);
        }
      };

      return {
        onEvent(event, ctx) {
          const own = labelsOf(event);
          const labels = cleanLabels({ ...own, alertname: own['alertname'] || alertname });
          const key = labelsFingerprint(labels);
          const now = ctx.now;
          const bucket = Math.floor(now / interval) * interval;
          let s = ctx.state.get(key);
          if (!s) {
            s = {
              labels,
              alertId: key,
              bucket: null,
              count: 0,
              reasons: new Map(),
              categories: new Map(),
              baseline: 0,
              observed: 0,
              lastClosed: null,
              firing: false,
              startsAt: bucket,
              episodeCount: 0,
              firstSeen: event.lastTimestamp,
              lastSeen: event.lastTimestamp,
              firedBaseline: 0,
              last: null,
              samples: [],
              memberKeys: [],
              cluster: event.cluster,
              namespace: labels['namespace'] ?? null,
            };
          }
          ctx.state.set(key, s);
          if (s.bucket === null) {
            s.bucket = bucket;
            ctx.setTimer(key, bucket + interval);
          }
          s.count++;
          if (s.reasons.has(event.reason) || s.reasons.size < MAX_REASONS) s.reasons.set(event.reason, (s.reasons.get(event.reason) ?? 0) + 1);
          const category = event.classification?.category;
          if (category) s.categories.set(category, (s.categories.get(category) ?? 0) + 1);
          if (!s.firing && s.count === 1) {
            s.firstSeen = event.lastTimestamp;
            s.samples = [];
            s.memberKeys = [];
          }
          s.lastSeen = event.lastTimestamp;
          s.last = event;
          pushBounded(s.samples, event.message, maxSamples);
          pushBounded(s.memberKeys, event.idempotencyKey, maxMemberKeys, false);
        },
        onTimer(key, ctx) {
          const s = ctx.state.get(key);
          if (s && s.bucket !== null) close(key, s, ctx);
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
