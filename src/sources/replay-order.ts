type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Lenient time: RFC 3339 string or Date → epoch ms; anything else (or unparseable) → null. */
function lenientTime(value: unknown): number | null {
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? null : ms;
  }
  if (typeof value !== 'string' || value.length === 0) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/** core/v1 Event (apiVersion v1) or events.k8s.io Event: the two views of the same stored objects. */
export function isEventObject(apiVersion: string, kind: string): boolean {
  return kind === 'Event' && (apiVersion === 'v1' || apiVersion.startsWith('events.k8s.io/'));
}

/**
 * When an Event's latest occurrence happened (epoch ms), by the same precedence as normalizeEvent's
 * lastTimestamp: series.lastObservedTime, then lastTimestamp (events.k8s.io:
 * deprecatedLastTimestamp), eventTime, firstTimestamp (deprecatedFirstTimestamp),
 * metadata.creationTimestamp. Unlike normalizeEvent it never throws: an unparseable time is
 * skipped, and null means no usable time at all.
 */
export function eventOccurrenceTime(event: unknown, apiVersion: string): number | null {
  if (!isRecord(event)) return null;
  const eventsApi = apiVersion.startsWith('events.k8s.io/');
  const series = isRecord(event['series']) ? event['series'] : null;
  const metadata = isRecord(event['metadata']) ? event['metadata'] : null;
  const candidates = [
    series ? series['lastObservedTime'] : undefined,
    event[eventsApi ? 'deprecatedLastTimestamp' : 'lastTimestamp'],
    event['eventTime'],
    event[eventsApi ? 'deprecatedFirstTimestamp' : 'firstTimestamp'],
    metadata ? metadata['creationTimestamp'] : undefined,
  ];
  for (const candidate of candidates) {
    const ms = lenientTime(candidate);
    if (ms !== null) return ms;
  }
  return null;
}

/**
 * The time a record is ordered and paced by: the recorder's `observedAt` when present, else for
 * Events their occurrence time (eventOccurrenceTime), else null: the record has no time of its own
 * and keeps its place in file order (see orderForReplay).
 */
export function sortTimeOf(record: { observedAt: number | null; apiVersion: string; kind: string; event: { object: unknown } }): number | null {
  if (record.observedAt !== null) return record.observedAt;
  if (isEventObject(record.apiVersion, record.kind)) return eventOccurrenceTime(record.event.object, record.apiVersion);
  return null;
}

/** A record in replay order with the time it is replayed at. */
export interface OrderedRecord<R> {
  record: R;
  /**
   * The record's own time, or (time null) the time of the nearest timed record before it in file
   * order, so it stays right after that record; -Infinity when no timed record precedes it.
   */
  at: number;
}

/**
 * Stable sort by event time. Records without a time of their own (context objects of a recording
 * without observedAt) inherit the time of the timed record before them in file order, so they keep
 * their place next to it; equal times keep file order.
 */
export function orderForReplay<R extends { time: number | null }>(records: readonly R[]): OrderedRecord<R>[] {
  let carried = Number.NEGATIVE_INFINITY;
  const ordered = records.map((record) => {
    if (record.time !== null) carried = record.time;
    return { record, at: carried };
  });
  // Array.prototype.sort is stable (ES2019)
  return ordered.sort((a, b) => (a.at === b.at ? 0 : a.at < b.at ? -1 : 1));
}
