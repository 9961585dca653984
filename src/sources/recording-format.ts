import { CHANGE_TYPES, type ChangeType } from '../model/kube-event.js';
import type { ObjectChange } from '../model/watch-event.js';
import { sortTimeOf } from './replay-order.js';

/**
 * The two recording formats the replay source reads (detected from the content, see detectFormat):
 *
 * - `jsonl`: JSON Lines of watch events, one `{"type":"ADDED"|"MODIFIED"|"DELETED","object":{...}}`
 *   per line, exactly as a Kubernetes watch stream sends them, optionally with
 *   `"observedAt":"<RFC 3339>"`: when the recorder saw the change. Objects of any kind may be
 *   mixed (Events and the Pods, ReplicaSets, Nodes... that enrichment needs).
 * - `list`: one JSON document with an `items` array, as printed by `kubectl get events -A -o json`
 *   (`{"kind":"List",...}`) or returned by the API (`{"kind":"EventList",...}`, whose items carry no
 *   apiVersion/kind: they are taken from the list). Each item is replayed as ADDED.
 */
export type RecordingFormat = 'jsonl' | 'list';

/** Where a record came from: the file as given and the 1-based line (a list item's first line). */
export interface RecordSource {
  file: string;
  line: number;
}

/** One replayed change: the watch event plus what routing and ordering need. */
export interface RecordedChange<T = unknown> {
  /**
   * The resource the object belongs to, as a watch is named: lower-case plural kind, e.g.
   * 'events', 'pods', 'replicasets', 'nodes'. Built-in API groups give the bare plural (both
   * `v1` and `events.k8s.io/v1` Events are 'events': the same stored objects); other groups are
   * qualified like kubectl does it: 'certificates.cert-manager.io'. See resourceOf.
   */
  resource: string;
  /** The object's apiVersion, e.g. 'v1', 'apps/v1', 'events.k8s.io/v1'. */
  apiVersion: string;
  /** The object's kind, e.g. 'Event', 'Pod'. */
  kind: string;
  event: ObjectChange<T>;
  /** The recorder's `observedAt` (epoch ms), when the recording has it. */
  observedAt: number | null;
  /**
   * The time this record is ordered and paced by (epoch ms), see sortTimeOf: `observedAt`, else
   * for Events their occurrence time, else null (the record keeps its place in file order).
   */
  time: number | null;
  source: RecordSource;
}

/** A line (or list item) that could not be replayed, and why. It is skipped; the rest flows. */
export interface MalformedRecord {
  file: string;
  line: number;
  reason: string;
  /** The offending text, cut to MALFORMED_TEXT_MAX characters. */
  text: string;
}

export const MALFORMED_TEXT_MAX = 1000;

export interface ParsedRecording {
  format: RecordingFormat;
  /** Valid records, in file order. */
  records: RecordedChange[];
  malformed: MalformedRecord[];
  /** Watch BOOKMARK lines: valid, but carry no change; skipped. */
  bookmarks: number;
  /** Physical lines in the text. */
  lines: number;
}

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function cut(text: string): string {
  return text.length > MALFORMED_TEXT_MAX ? `${text.slice(0, MALFORMED_TEXT_MAX)}…` : text;
}

/** API groups whose resources kubectl (and this project) name by their bare plural. */
const BUILTIN_GROUPS = new Set([
  '',
  'apps',
  'batch',
  'events.k8s.io',
  'autoscaling',
  'policy',
  'networking.k8s.io',
  'storage.k8s.io',
  'rbac.authorization.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'scheduling.k8s.io',
  'node.k8s.io',
  'certificates.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
]);

/** Plurals that the simple rule below gets wrong. */
const IRREGULAR_PLURALS: Record<string, string> = {
  endpoints: 'endpoints',
};

/**
 * The resource name of a kind, the way the API server guesses it (meta.UnsafeGuessKindToResource):
 * lower-case, then 's' → 'ses', consonant+'y' → 'ies', else + 's'. Pod → pods, Ingress →
 * ingresses, NetworkPolicy → networkpolicies, Endpoints → endpoints.
 */
export function resourceOf(apiVersion: string, kind: string): string {
  const lower = kind.toLowerCase();
  let plural: string;
  if (IRREGULAR_PLURALS[lower] !== undefined) plural = IRREGULAR_PLURALS[lower];
  else if (lower.endsWith('s')) plural = `${lower}es`;
  else if (/[^aeiou]y$/.test(lower)) plural = `${lower.slice(0, -1)}ies`;
  else plural = `${lower}s`;
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  return BUILTIN_GROUPS.has(group) ? plural : `${plural}.${group}`;
}

type LineResult = { kind: 'record'; record: RecordedChange } | { kind: 'bookmark' } | { kind: 'malformed'; reason: string };

function malformed(reason: string): LineResult {
  return { kind: 'malformed', reason };
}

function toRecord(
  type: ChangeType,
  object: Raw,
  observedAt: number | null,
  source: RecordSource,
  defaults: { apiVersion?: string | null; kind?: string | null } = {},
): LineResult {
  const apiVersion = nonEmptyString(object['apiVersion']) ?? defaults.apiVersion ?? null;
  const kind = nonEmptyString(object['kind']) ?? defaults.kind ?? null;
  if (!apiVersion || !kind) {
    return malformed(`object has no ${!apiVersion && !kind ? 'apiVersion and kind' : !apiVersion ? 'apiVersion' : 'kind'}`);
  }
  const metadata = isRecord(object['metadata']) ? object['metadata'] : null;
  const resourceVersion = metadata && typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : '';
  const event: ObjectChange<unknown> = { type, object, resourceVersion };
  const record: RecordedChange = {
    resource: resourceOf(apiVersion, kind),
    apiVersion,
    kind,
    event,
    observedAt,
    time: null,
    source,
  };
  record.time = sortTimeOf(record);
  return { kind: 'record', record };
}

function parseWatchLine(line: string, source: RecordSource): LineResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return malformed(`invalid JSON: ${(error as Error).message}`);
  }
  if (!isRecord(value)) return malformed('not a JSON object (expected {"type":...,"object":{...}})');
  if (isListDocument(value)) {
    return malformed('a List document (with "items") on one line among other lines (expected a watch event {"type":...,"object":{...}})');
  }
  const type = value['type'];
  if (type === undefined) return malformed('missing "type"');
  if (typeof type !== 'string') return malformed(`"type" must be a string, got ${JSON.stringify(type)}`);
  if (type === 'BOOKMARK') return { kind: 'bookmark' };
  const object = value['object'];
  if (type === 'ERROR') {
    const status = isRecord(object) ? object : {};
    const code = typeof status['code'] === 'number' ? ` (code ${status['code']})` : '';
    const message = typeof status['message'] === 'string' ? status['message'] : 'no message';
    return malformed(`watch ERROR event: ${message}${code}`);
  }
  if (!(CHANGE_TYPES as readonly string[]).includes(type)) {
    return malformed(`unknown watch event type ${JSON.stringify(type)} (expected ADDED, MODIFIED, DELETED)`);
  }
  if (object === undefined || object === null) return malformed('missing "object"');
  if (!isRecord(object)) return malformed('"object" is not a JSON object');
  let observedAt: number | null = null;
  const rawObservedAt = value['observedAt'];
  if (rawObservedAt !== undefined && rawObservedAt !== null) {
    observedAt = typeof rawObservedAt === 'string' ? Date.parse(rawObservedAt) : Number.NaN;
    if (Number.isNaN(observedAt)) {
      return malformed(`"observedAt" is not an RFC 3339 time: ${JSON.stringify(rawObservedAt)}`);
    }
  }
  return toRecord(type as ChangeType, object, observedAt, source);
}

/** Splits on \n, \r\n and \r, like the line numbers editors show. */
function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function isListDocument(value: unknown): value is Raw & { items: unknown[] } {
  return isRecord(value) && Array.isArray(value['items']) && !('type' in value && 'object' in value);
}

/** 1-based line of a character offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    else if (c === 13 && text.charCodeAt(i + 1) !== 10) line++;
  }
  return line;
}

/**
 * The 1-based first line of each element of the root object's `items` array. `text` must be
 * valid JSON (it has been parsed already): the scan only tracks strings, nesting and keys.
 */
export function listItemLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let stringStart = -1;
  let lastRootString: string | null = null;
  let currentRootKey: string | null = null;
  let inItems = false;
  let expectingItem = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') {
        inString = false;
        if (depth === 1) lastRootString = text.slice(stringStart + 1, i);
      }
      continue;
    }
    const isSpace = ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
    if (inItems && depth === 2 && expectingItem && !isSpace && ch !== ']') {
      lines.push(line);
      expectingItem = false;
    }
    switch (ch) {
      case '"':
        inString = true;
        stringStart = i;
        break;
      case ':':
        if (depth === 1) currentRootKey = lastRootString;
        break;
      case ',':
        if (inItems && depth === 2) expectingItem = true;
        break;
      case '{':
      case '[':
        depth++;
        if (ch === '[' && depth === 2 && currentRootKey === 'items') {
          inItems = true;
          expectingItem = true;
        }
        break;
      case '}':
      case ']':
        if (inItems && depth === 2) inItems = false;
        depth--;
        break;
      default:
        break;
    }
  }
  return lines;
}

/**
 * Tells the two formats apart: a first line that is a JSON object on its own is JSON Lines unless
 * it is a (compact) List; otherwise a document that parses as a whole and has `items` is a List.
 */
export function detectFormat(text: string): RecordingFormat {
  const body = stripBom(text);
  const first = splitLines(body).find((l) => l.trim().length > 0);
  if (first === undefined) return 'jsonl';
  let firstValue: unknown;
  let firstIsJson = false;
  try {
    firstValue = JSON.parse(first);
    firstIsJson = true;
  } catch {
    // a pretty-printed document's first line is not JSON on its own
  }
  if (firstIsJson) {
    if (!isListDocument(firstValue)) return 'jsonl';
    // a compact List is the whole document only when nothing but blank lines follows it: parseList
    // parses the whole text, so a List line followed by more lines is read as JSON Lines (each bad
    // line reported) rather than throwing
    try {
      JSON.parse(body);
      return 'list';
    } catch {
      return 'jsonl';
    }
  }
  try {
    return isListDocument(JSON.parse(body)) ? 'list' : 'jsonl';
  } catch {
    return 'jsonl';
  }
}

function parseJsonLines(text: string, file: string): ParsedRecording {
  const lines = splitLines(text);
  const records: RecordedChange[] = [];
  const bad: MalformedRecord[] = [];
  let bookmarks = 0;
  // a pretty-printed (multi-line) JSON document is not JSON Lines: say so once, not per line
  const firstIndex = lines.findIndex((l) => l.trim().length > 0);
  const firstLine = firstIndex >= 0 ? (lines[firstIndex] ?? '').trim() : '';
  if (firstLine === '{' || firstLine === '[') {
    let reason = 'a multi-line JSON document that is not a List with "items" (expected JSON Lines of watch events or a List)';
    let line = firstIndex + 1;
    try {
      JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      reason = `invalid JSON document: ${message}`;
      const position = /position (\d+)/.exec(message);
      if (position?.[1] !== undefined) line = lineAt(text, Number(position[1]));
    }
    bad.push({ file, line, reason, text: cut(lines[line - 1] ?? '') });
    return { format: 'jsonl', records, malformed: bad, bookmarks, lines: lines.length };
  }
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim().length === 0) continue;
    const source = { file, line: i + 1 };
    const result = parseWatchLine(raw, source);
    if (result.kind === 'record') records.push(result.record);
    else if (result.kind === 'bookmark') bookmarks++;
    else bad.push({ file, line: i + 1, reason: result.reason, text: cut(raw) });
  }
  // a trailing newline is not a line of its own
  const physical = lines.length > 0 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  return { format: 'jsonl', records, malformed: bad, bookmarks, lines: physical };
}

function parseList(text: string, file: string): ParsedRecording {
  const document = JSON.parse(text) as Raw & { items: unknown[] };
  const lines = splitLines(text);
  const itemLines = listItemLines(text);
  const listKind = nonEmptyString(document['kind']);
  const listApiVersion = nonEmptyString(document['apiVersion']);
  // a typed list (EventList, PodList) omits apiVersion/kind on its items
  const itemKind = listKind && listKind.endsWith('List') && listKind !== 'List' ? listKind.slice(0, -4) : null;
  const defaults = itemKind ? { apiVersion: listApiVersion, kind: itemKind } : {};
  const records: RecordedChange[] = [];
  const bad: MalformedRecord[] = [];
  document.items.forEach((item, index) => {
    const line = itemLines[index] ?? 1;
    const source = { file, line };
    const result = isRecord(item) ? toRecord('ADDED', item, null, source, defaults) : malformed('not a JSON object');
    if (result.kind === 'record') records.push(result.record);
    else if (result.kind === 'malformed') {
      bad.push({ file, line, reason: `items[${index}]: ${result.reason}`, text: cut(lines[line - 1] ?? '') });
    }
  });
  const physical = lines.length > 0 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  return { format: 'list', records, malformed: bad, bookmarks: 0, lines: physical };
}

/**
 * Parses a whole recording (either format) into records in file order. Never throws on content:
 * whatever cannot be replayed is returned in `malformed` with its line and reason.
 */
export function parseRecording(text: string, file: string): ParsedRecording {
  const body = stripBom(text);
  return detectFormat(body) === 'list' ? parseList(body, file) : parseJsonLines(body, file);
}
