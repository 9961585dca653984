import { idempotencyKeyOf, type ChangeType, type KubeEvent, type ObjectRef, type SourceApi } from './kube-event.js';

/** A raw object that cannot be turned into a KubeEvent. Carries the reason for the dead-letter record. */
export class NormalizeError extends Error {
  constructor(
    message: string,
    readonly raw: unknown,
  ) {
    super(message);
    this.name = 'NormalizeError';
  }
}

type Raw = Record<string, unknown>;

/** The largest count: int32, as in the API and in KubeEvent.avsc. */
const MAX_COUNT = 2_147_483_647;

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

const DIGIT_0 = 48;

/** The two digits at `i`, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - DIGIT_0;
  const b = s.charCodeAt(i + 1) - DIGIT_0;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

const isLeapYear = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Epoch ms of the form the API writes, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, as Date.parse gives it
 * (the fraction truncated to ms); every other string goes to Date.parse. Date.parse was 2 % of the
 * in-process benchmark's CPU: an Event carries up to five times.
 */
export function parseApiTime(s: string): number {
  const n = s.length;
  if (n < 20 || n > 30 || s.charCodeAt(n - 1) !== 90 /* Z */) return Date.parse(s);
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) {
    return Date.parse(s);
  }
  const century = twoDigits(s, 0);
  const yy = twoDigits(s, 2);
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  const hour = twoDigits(s, 11);
  const minute = twoDigits(s, 14);
  const second = twoDigits(s, 17);
  if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return Date.parse(s);
  }
  const year = century * 100 + yy;
  if (day > (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!)) return Date.parse(s);
  let ms = 0;
  if (n > 20) {
    // a fraction: '.' and 1 to 9 digits before the Z
    if (s.charCodeAt(19) !== 46 || n === 21 || n > 30) return Date.parse(s);
    for (let i = 20; i < n - 1; i++) {
      const d = s.charCodeAt(i) - DIGIT_0;
      if (d < 0 || d > 9) return Date.parse(s);
      if (i < 23) ms = ms * 10 + d;
    }
    for (let i = Math.min(n - 1, 23); i < 23; i++) ms *= 10;
  }
  return ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms;
}

/** Accepts RFC 3339 strings (JSON from the API or a recording) and Date objects (client-node's typed objects). */
function time(value: unknown, field: string, raw: unknown): number | null {
  if (value === undefined || value === null || value === '') return null;
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new NormalizeError(`${field} is an invalid Date`, raw);
    return ms;
  }
  if (typeof value === 'string') {
    const ms = parseApiTime(value);
    if (Number.isNaN(ms))
      throw new NormalizeError(`${field} is not an RFC 3339 time: ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`, raw);
    return ms;
  }
  throw new NormalizeError(`${field} must be a time string, got ${typeof value}`, raw);
}

function objectRef(value: unknown): ObjectRef | null {
  if (!isRecord(value)) return null;
  return {
    apiVersion: str(value['apiVersion']),
    kind: str(value['kind']),
    namespace: str(value['namespace']),
    name: str(value['name']),
    uid: str(value['uid']),
    fieldPath: str(value['fieldPath']),
  };
}

function detectApi(raw: Raw): SourceApi {
  const apiVersion = str(raw['apiVersion']);
  if (apiVersion === 'events.k8s.io/v1' || apiVersion === 'events.k8s.io/v1beta1') return 'events.k8s.io/v1';
  if (apiVersion === 'v1') return 'core/v1';
  // typed objects from client-node may lack apiVersion/kind: tell them apart by their fields
  if ('regarding' in raw || 'note' in raw || 'deprecatedCount' in raw) return 'events.k8s.io/v1';
  return 'core/v1';
}

/**
 * The `change` of an occurrence, from the occurrence itself: ADDED for the first occurrence of an
 * Event object (count 1), MODIFIED for a repeat (count or series.count above 1), whatever watch
 * change carried it (a relist after 410 Gone lists a repeated Event as ADDED, a resumed watch sees
 * a first occurrence as MODIFIED when the object changed without a bump), so the records of one
 * occurrence are the same on every road (docs/kafka.md: duplicates are byte-identical). DELETED
 * stays DELETED (the API dropping the object; not an occurrence).
 */
export function occurrenceChange(change: ChangeType, count: number): ChangeType {
  if (change === 'DELETED') return change;
  return count > 1 ? 'MODIFIED' : 'ADDED';
}

export interface NormalizeOptions {
  cluster: string;
}

/**
 * Maps a core/v1 Event or an events.k8s.io/v1 Event (both views of the same stored object) to
 * one KubeEvent. Mapping (DESIGN.md): regarding = involvedObject, note = message,
 * series.count / deprecatedCount = count, eventTime / series.lastObservedTime /
 * deprecatedLastTimestamp = time, reportingController = source.component.
 *
 * Throws NormalizeError when the object lacks what identifies an event (metadata.uid, name,
 * resourceVersion, the regarding object, any usable time).
 */
export function normalizeEvent(raw: unknown, change: ChangeType, options: NormalizeOptions): KubeEvent {
  if (!isRecord(raw)) throw new NormalizeError('event is not an object', raw);
  const metadata = raw['metadata'];
  if (!isRecord(metadata)) throw new NormalizeError('event has no metadata', raw);
  const uid = str(metadata['uid']);
  const name = str(metadata['name']);
  const resourceVersion = str(metadata['resourceVersion']);
  if (!uid) throw new NormalizeError('metadata.uid is missing', raw);
  if (!name) throw new NormalizeError('metadata.name is missing', raw);
  if (!resourceVersion) throw new NormalizeError('metadata.resourceVersion is missing', raw);
  const namespace = str(metadata['namespace']);
  const created = time(metadata['creationTimestamp'], 'metadata.creationTimestamp', raw);

  const api = detectApi(raw);
  const series = isRecord(raw['series']) ? raw['series'] : null;
  const seriesCount = series ? num(series['count']) : null;
  const seriesLast = series ? time(series['lastObservedTime'], 'series.lastObservedTime', raw) : null;
  const eventTime = time(raw['eventTime'], 'eventTime', raw);

  let regarding: ObjectRef | null;
  let message: string;
  let reportingController: string | null;
  let reportingInstance: string | null;
  let firstTimestamp: number | null;
  let deprecatedLast: number | null;
  let legacyCount: number | null;

  if (api === 'events.k8s.io/v1') {
    regarding = objectRef(raw['regarding']);
    message = typeof raw['note'] === 'string' ? raw['note'] : '';
    const source = isRecord(raw['deprecatedSource']) ? raw['deprecatedSource'] : null;
    reportingController = str(raw['reportingController']) ?? (source ? str(source['component']) : null);
    reportingInstance = str(raw['reportingInstance']) ?? (source ? str(source['host']) : null);
    firstTimestamp = time(raw['deprecatedFirstTimestamp'], 'deprecatedFirstTimestamp', raw);
    deprecatedLast = time(raw['deprecatedLastTimestamp'], 'deprecatedLastTimestamp', raw);
    legacyCount = num(raw['deprecatedCount']);
  } else {
    regarding = objectRef(raw['involvedObject']);
    message = typeof raw['message'] === 'string' ? raw['message'] : '';
    const source = isRecord(raw['source']) ? raw['source'] : null;
    reportingController = str(raw['reportingComponent']) ?? (source ? str(source['component']) : null);
    reportingInstance = str(raw['reportingInstance']) ?? (source ? str(source['host']) : null);
    firstTimestamp = time(raw['firstTimestamp'], 'firstTimestamp', raw);
    deprecatedLast = time(raw['lastTimestamp'], 'lastTimestamp', raw);
    legacyCount = num(raw['count']);
  }
  if (!regarding) {
    throw new NormalizeError(api === 'core/v1' ? 'involvedObject is missing' : 'regarding is missing', raw);
  }

  const lastTimestamp = seriesLast ?? deprecatedLast ?? eventTime ?? firstTimestamp ?? created;
  if (lastTimestamp === null) {
    throw new NormalizeError('event has no time (series.lastObservedTime, lastTimestamp, eventTime, firstTimestamp, creationTimestamp all empty)', raw);
  }
  const rawCount = seriesCount ?? legacyCount ?? 1;
  // the API's counts are int32, as is KubeEvent.count in Avro: a larger one cannot be a real count
  // (and would fail the Avro encoding far from here); a count below 1 reads as 1
  if (rawCount > MAX_COUNT) throw new NormalizeError(`count ${rawCount} is out of range (at most ${MAX_COUNT})`, raw);
  const count = Math.max(1, Math.trunc(rawCount));

  return {
    uid,
    name,
    namespace,
    resourceVersion,
    change: occurrenceChange(change, count),
    type: str(raw['type']) ?? 'Normal',
    reason: str(raw['reason']) ?? '',
    message,
    action: str(raw['action']),
    regarding,
    related: objectRef(raw['related']),
    reportingController,
    reportingInstance,
    firstTimestamp: firstTimestamp ?? eventTime ?? created,
    lastTimestamp,
    eventTime,
    count,
    cluster: options.cluster,
    idempotencyKey: idempotencyKeyOf(uid, count),
    sourceApi: api,
    enrichment: null,
    classification: null,
  };
}
