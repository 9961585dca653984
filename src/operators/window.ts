import { filter, type OperatorFunction } from 'rxjs';
import { labelsFingerprint } from '../model/alert.js';
import type { EventWindow, ReasonCount } from '../model/event-window.js';
import type { KubeEvent } from '../model/kube-event.js';
import { eventTimeStage, isOccurrence, positive, type StageOptions } from './event-time.js';

export interface WindowOptions extends StageOptions {
  /** Window length, ms of event time. */
  size: number;
  /** Distance between window starts, ms; default `size` (tumbling windows). Smaller: sliding windows. */
  slide?: number;
  /** The key's labels (the `by` fields and their values); a null value is left out. */
  labels: (event: KubeEvent) => Record<string, string | null>;
  /** Reasons listed per window, most frequent first. Default 5. */
  topReasons?: number;
  /** Distinct objects remembered per window; beyond it the count is a lower bound. Default 1000. */
  maxObjects?: number;
  /** Distinct reasons counted per window; further ones are counted as "(other)". Default 1000. */
  maxReasons?: number;
}

interface Accumulator {
  start: number;
  count: number;
  warnings: number;
  firstTime: number;
  lastTime: number;
  objects: Set<string>;
  objectsCapped: boolean;
  reasons: Map<string, number>;
}

interface KeyState {
  labels: Record<string, string>;
  cluster: string;
  /** open windows by start, ascending */
  windows: Map<number, Accumulator>;
}

const OTHER_REASONS = '(other)';

function windowStarts(t: number, size: number, slide: number): number[] {
  const last = Math.floor(t / slide) * slide;
  const starts: number[] = [];
  for (let s = last; s > t - size; s -= slide) starts.unshift(s);
  return starts;
}

function topReasonsOf(reasons: Map<string, number>, n: number): ReasonCount[] {
  return [...reasons]
    .sort(([ra, ca], [rb, cb]) => cb - ca || (ra < rb ? -1 : ra > rb ? 1 : 0))
    .slice(0, n)
    .map(([reason, count]) => ({ reason, count }));
}

/**
 * Counts the occurrences of each key in event-time windows and emits one EventWindow record per
 * key and window when the watermark passes the window's end: tumbling windows (`slide` = `size`,
 * aligned to the epoch: a 1m window starts on the minute) or sliding ones (`slide` < `size`: an
 * event counts in every window covering it). A record holds the count, the Warnings among them,
 * the first and last event time, the distinct regarding objects and the top reasons. Windows
 * without events are not emitted. `name` identifies the stage in windowId.
 *
 * Event time, ordering, lateness and bounded state as in every event-time stage (event-time.ts):
 * a key's open windows are its state (maxKeys keys at most; an evicted key's windows are emitted
 * as they are); on completion every open window is emitted. DELETED changes are not counted.
 *
 * ```
 * size 10 (tumbling); event time = frame; one key:
 * source:  -a--b------c--|
 * window:  ----------w---(v|)   w = [0, 10): count 2; v = [10, 20): count 1, at completion
 * ```
 */
export function eventWindows<T extends KubeEvent>(options: WindowOptions): OperatorFunction<T, EventWindow> {
  const size = positive('size', options.size);
  const slide = positive('slide', options.slide, size);
  if (slide > size) throw new RangeError(`window: slide (${slide} ms) must not be longer than size (${size} ms)`);
  const top = options.topReasons ?? 5;
  const maxObjects = positive('maxObjects', options.maxObjects, 1000);
  const maxReasons = positive('maxReasons', options.maxReasons, 1000);
  const stageName = options.name ?? 'window';

  const record = (key: KeyState, w: Accumulator): EventWindow => {
    const windowId = labelsFingerprint({ ...key.labels, '\u0000stage': stageName, '\u0000start': String(w.start) });
    return {
      windowId,
      stage: stageName,
      cluster: key.cluster,
      labels: key.labels,
      start: w.start,
      end: w.start + size,
      count: w.count,
      warnings: w.warnings,
      firstTime: w.firstTime,
      lastTime: w.lastTime,
      distinctObjects: w.objects.size,
      distinctObjectsCapped: w.objectsCapped,
      topReasons: topReasonsOf(w.reasons, top),
      idempotencyKey: windowId,
    };
  };

  const stage = eventTimeStage<T, EventWindow, KeyState>(
    { operator: 'window', timestamp: (e) => e.lastTimestamp, options, defaultMaxKeys: 10_000, defaultIdleTtl: size + 60 * 60_000 },
    () => ({
      onEvent(event, ctx) {
        const labels: Record<string, string> = {};
        for (const [name, value] of Object.entries(options.labels(event))) if (value !== null) labels[name] = value;
        const key = JSON.stringify(labels);
        const s = ctx.state.get(key) ?? { labels, cluster: event.cluster, windows: new Map<number, Accumulator>() };
        const t = ctx.now;
        const r = event.regarding;
        const object = `${r.kind ?? ''}/${r.namespace ?? event.namespace ?? ''}/${r.name ?? ''}`;
        for (const start of windowStarts(t, size, slide)) {
          let w = s.windows.get(start);
          if (!w) {
            w = { start, count: 0, warnings: 0, firstTime: t, lastTime: t, objects: new Set(), objectsCapped: false, reasons: new Map() };
            s.windows.set(start, w);
          }
          w.count++;
          if (event.type === 'Warning') w.warnings++;
          w.lastTime = t;
          if (w.objects.size < maxObjects || w.objects.has(object)) w.objects.add(object);
          else w.objectsCapped = true;
          const reason = w.reasons.has(event.reason) || w.reasons.size < maxReasons ? event.reason : OTHER_REASONS;
          w.reasons.set(reason, (w.reasons.get(reason) ?? 0) + 1);
        }
        ctx.state.set(key, s);
        const firstStart = s.windows.keys().next().value as number;
        ctx.setTimer(key, firstStart + size);
      },
      onTimer(key, ctx) {
        const s = ctx.state.get(key);
        if (!s) return;
        for (const [start, w] of s.windows) {
          if (start + size > ctx.now) break;
          ctx.emit(record(s, w));
          s.windows.delete(start);
        }
        const next = s.windows.keys().next();
        if (next.done) ctx.state.delete(key);
        else ctx.setTimer(key, (next.value as number) + size);
      },
      onEvict(_key, s, _reason, ctx) {
        for (const w of s.windows.values()) ctx.emit(record(s, w));
        s.windows.clear();
      },
    }),
  );
  return (source) =>
    source.pipe(
      filter((e) => isOccurrence(e)),
      stage,
    );
}
