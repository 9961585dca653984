import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { YAML_PARSE_OPTIONS } from '../core/yaml-locator.js';
import { CHANGE_TYPES, type ChangeType } from '../model/kube-event.js';
import type { ObjectChange } from '../model/watch-event.js';
import { inferObjectType } from './infer-kind.js';
import { sortTimeOf } from './replay-order.js';

/**
 * What the replay source reads, told apart from the content (see detectFormat). Every format may
 * hold watch events, bare objects and Lists, mixed:
 *
 * - a watch event is `{"type":"ADDED"|"MODIFIED"|"DELETED","object":{...}}`, exactly as a
 *   Kubernetes watch stream sends it (`kubectl get --raw '/api/v1/events?watch=1'`, `kubectl get
 *   -w --output-watch-events -o json`, `kubevents record`), optionally with `"observedAt":"<RFC
 *   3339>"`: when the recorder saw the change. BOOKMARK lines are counted and skipped; ERROR lines
 *   (a watch that ended, e.g. 410 Expired) are counted and reported, not replayed;
 * - a bare object is a Kubernetes object on its own (`kubectl get -w -o json|yaml` prints those,
 *   and `... -o json | jq -c .` one per line). It carries no change type: the first object of each
 *   uid is replayed as ADDED, later ones as MODIFIED (so an Event whose count did not change is not
 *   a new occurrence);
 * - a List is `{"items":[...]}` (`kubectl get events -A -o json`, `kubectl get pods,events -o
 *   json`, or the API's EventList, whose items carry no apiVersion/kind: they are taken from the
 *   list), or a JSON array of objects (`jq .items`). Its items are bare objects.
 *
 * Objects without apiVersion or kind get them from their fields (infer-kind.ts: involvedObject
 * vs regarding, note, ... for Events; spec/status for Pods, Nodes and workloads) and are counted
 * as inferred.
 *
 * The formats:
 * - `jsonl`: one JSON value per line (JSON Lines);
 * - `json-stream`: JSON values one after the other, any of them over several lines (`kubectl get
 *   -w -o json`: pretty-printed objects, one after the other);
 * - `list`: one JSON document that is a List or an array;
 * - `yaml`: YAML documents separated by `---` (`kubectl get -w -o yaml`), or one (`-o yaml`);
 * - `text`: none of these (every non-blank line is reported), `empty`: nothing but white space,
 *   `binary`: not text at all.
 */
export type RecordingFormat = 'jsonl' | 'json-stream' | 'list' | 'yaml' | 'text' | 'empty' | 'binary';

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

/** An entry (line, document or list item) that could not be replayed, and why. It is skipped; the rest flows. */
export interface MalformedRecord {
  file: string;
  line: number;
  reason: string;
  /** The offending text, cut to MALFORMED_TEXT_MAX characters. */
  text: string;
}

/** A watch ERROR event in the recording: the recorded watch ended there (e.g. 410 Expired). */
export interface RecordedWatchError {
  file: string;
  line: number;
  /** The Status message, with its code and reason. */
  message: string;
}

export const MALFORMED_TEXT_MAX = 1000;

/** With nothing valid before it, this many malformed entries stop the parse: the file is not a recording. */
export const GIVE_UP_AFTER = 100;

/** The longest reason of a report. */
const MAX_REASON = 1000;

/** Malformed entries (and watch ERRORs) kept with their line and text; the rest are counted. */
export const REPORTS_KEPT = 1000;

/**
 * Values nested deeper than this are refused (Kubernetes objects nest about 20 levels, with
 * managedFields): deeper ones could only exhaust the stack of whatever walks them later.
 */
export const MAX_NESTING = 100;

/** How far into a file binary data is looked for. */
const SNIFF_BYTES = 64 * 1024;

export interface ParsedRecording {
  format: RecordingFormat;
  /** Valid records, in file order. */
  records: RecordedChange[];
  /** The first REPORTS_KEPT entries that cannot be replayed, in line order. */
  malformed: MalformedRecord[];
  /** All of them. */
  malformedCount: number;
  /** Watch BOOKMARK events: valid, but carry no change; skipped. */
  bookmarks: number;
  /** The first REPORTS_KEPT watch ERROR events: the recorded watch ended there; reported, not replayed. */
  watchErrors: RecordedWatchError[];
  /** All of them. */
  watchErrorCount: number;
  /** Records whose apiVersion/kind were inferred from their fields, per `apiVersion kind`. */
  inferred: Record<string, number>;
  /** Records that were bare objects or List items (no change type of their own). */
  objects: number;
  /** Physical lines in the text. */
  lines: number;
  /**
   * Why the parse stopped before the end (binary data, or GIVE_UP_AFTER malformed entries before
   * anything valid), else null.
   */
  stoppedEarly: string | null;
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

// ------------------------------------------------------------------ lines

/**
 * Line numbers of character offsets, counted on the way (nothing per line is stored: a file of a
 * million empty lines costs no memory). Offsets asked for in increasing order cost one pass in
 * all; an offset before the last one asked for is counted again from the start.
 */
class Lines {
  private offset = 0;
  private line = 1;
  /** Physical lines: a trailing line break does not start a line of its own. */
  readonly count: number;

  constructor(readonly text: string) {
    let n = text.length === 0 ? 0 : 1;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
    // lone \r line breaks (old Mac files)
    if (text.includes('\r')) {
      for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 1)) if (text.charCodeAt(i + 1) !== 10) n++;
    }
    const last = text.charCodeAt(text.length - 1);
    this.count = text.length > 0 && (last === 10 || last === 13) ? n - 1 : n;
  }

  /** 1-based line of a character offset. */
  lineAt(offset: number): number {
    const text = this.text;
    if (offset < this.offset) {
      this.offset = 0;
      this.line = 1;
    }
    const to = Math.min(offset, text.length);
    for (let i = this.offset; i < to; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) this.line++;
    }
    this.offset = Math.max(this.offset, to);
    return this.line;
  }

  /**
   * The line around `offset`, without its line break: from the line's start when that is at most
   * MALFORMED_TEXT_MAX characters back (else from `offset`), at most MALFORMED_TEXT_MAX + 1 long.
   */
  textAround(offset: number): string {
    const text = this.text;
    let start = offset;
    while (start > 0 && offset - start <= MALFORMED_TEXT_MAX && text.charCodeAt(start - 1) !== 10 && text.charCodeAt(start - 1) !== 13) start--;
    if (offset - start > MALFORMED_TEXT_MAX) start = offset;
    let end = offset;
    while (end < text.length && text.charCodeAt(end) !== 10 && text.charCodeAt(end) !== 13 && end - start < MALFORMED_TEXT_MAX + 1) end++;
    return text.slice(start, end);
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The 1-based first line of each element of the root's `items` array (`root: 'items'`) or of the
 * root array (`root: 'array'`). `text` must be valid JSON (it has been parsed already): the scan
 * only tracks strings, nesting and keys.
 */
export function listItemLines(text: string, root: 'items' | 'array' = 'items'): number[] {
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
  const itemsDepth = root === 'items' ? 2 : 1;
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
    if (inItems && depth === itemsDepth && expectingItem && !isSpace && ch !== ']') {
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
        if (inItems && depth === itemsDepth) expectingItem = true;
        break;
      case '{':
      case '[':
        depth++;
        if (ch === '[' && depth === itemsDepth && (root === 'array' || currentRootKey === 'items')) {
          inItems = true;
          expectingItem = true;
        }
        break;
      case '}':
      case ']':
        if (inItems && depth === itemsDepth) inItems = false;
        depth--;
        break;
      default:
        break;
    }
  }
  return lines;
}

// ------------------------------------------------------------------ entries to records

const WATCH_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

function isListDocument(value: unknown): value is Raw & { items: unknown[] } {
  return isRecord(value) && Array.isArray(value['items']) && !('type' in value && 'object' in value);
}

/** Collects the records of one parse, in file order. */
class Collector {
  readonly records: RecordedChange[] = [];
  /** The first REPORTS_KEPT malformed entries; `malformedCount` counts them all. */
  readonly malformed: MalformedRecord[] = [];
  malformedCount = 0;
  /** The first REPORTS_KEPT watch ERRORs; `watchErrorCount` counts them all. */
  readonly watchErrors: RecordedWatchError[] = [];
  watchErrorCount = 0;
  readonly inferred: Record<string, number> = {};
  bookmarks = 0;
  objects = 0;
  stoppedEarly: string | null = null;
  /** uids of bare objects seen: the first is ADDED, later ones MODIFIED. */
  private readonly seen = new Set<string>();

  constructor(
    readonly file: string,
    readonly lines: Lines,
  ) {}

  /** The offset whose line malformed entries show, when they give none. */
  at = 0;

  /** True once the parse should stop (see GIVE_UP_AFTER). */
  get stopped(): boolean {
    return this.stoppedEarly !== null;
  }

  bad(line: number, reason: string, text?: string): void {
    this.malformedCount++;
    if (this.malformed.length < REPORTS_KEPT) {
      // reasons quote values short; this cut only guards against one that does not
      const short = reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}…` : reason;
      this.malformed.push({ file: this.file, line, reason: short, text: cut(text ?? this.lines.textAround(this.at)) });
    }
    if (this.records.length === 0 && this.bookmarks === 0 && this.watchErrorCount === 0 && this.malformedCount >= GIVE_UP_AFTER) {
      this.stoppedEarly = `none of its first ${GIVE_UP_AFTER} entries is a watch event or a Kubernetes object`;
    }
  }

  /**
   * One JSON (or YAML) value at `line`: a watch event, a bare object, or a List / array whose
   * items start at `itemLines` (else all at `line`).
   */
  value(value: unknown, line: number, itemLines?: () => number[]): void {
    if (Array.isArray(value)) {
      this.items(value, line, null, itemLines);
      return;
    }
    if (!isRecord(value)) {
      this.bad(line, `not an object (expected a watch event {"type":...,"object":{...}}, a Kubernetes object or a List), got ${describe(value)}`);
      return;
    }
    if (isListDocument(value)) {
      const listKind = nonEmptyString(value['kind']);
      const listApiVersion = nonEmptyString(value['apiVersion']);
      // a typed list (EventList, PodList) omits apiVersion/kind on its items
      const itemKind = listKind && listKind.endsWith('List') && listKind !== 'List' ? listKind.slice(0, -4) : null;
      this.items(value.items, line, itemKind ? { apiVersion: listApiVersion, kind: itemKind } : null, itemLines);
      return;
    }
    const type = value['type'];
    if ('object' in value && typeof type === 'string') {
      this.watchEvent(value, type, line);
      return;
    }
    if (typeof type === 'string' && WATCH_TYPES.has(type)) {
      this.bad(line, `a watch event of type ${type} without "object"`);
      return;
    }
    if (isRecord(value['metadata']) || nonEmptyString(value['kind']) !== null) {
      this.object(value, line, null, 'the object');
      return;
    }
    if ('object' in value) {
      this.bad(line, type === undefined ? 'missing "type"' : `"type" must be a string, got ${describe(type)}`);
      return;
    }
    this.bad(line, 'neither a watch event ({"type":...,"object":{...}}) nor a Kubernetes object (no "metadata")');
  }

  private items(items: unknown[], line: number, defaults: { apiVersion: string | null; kind: string } | null, itemLines?: () => number[]): void {
    const lines = items.length > 0 && itemLines ? itemLines() : [];
    for (let index = 0; index < items.length && !this.stopped; index++) {
      const item = items[index];
      const at = lines[index] ?? line;
      if (!isRecord(item)) {
        this.bad(at, `items[${index}]: not an object, got ${describe(item)}`);
        continue;
      }
      // an array of watch events (`jq -s .` of a watch stream)
      if ('object' in item && typeof item['type'] === 'string') this.watchEvent(item, item['type'], at);
      else this.object(item, at, defaults, `items[${index}]`);
    }
  }

  private watchEvent(value: Raw, type: string, line: number): void {
    if (type === 'BOOKMARK') {
      this.bookmarks++;
      return;
    }
    const object = value['object'];
    if (type === 'ERROR') {
      const status = isRecord(object) ? object : {};
      const code = typeof status['code'] === 'number' ? status['code'] : null;
      const reason = nonEmptyString(status['reason'])?.slice(0, 100) ?? null;
      const message = nonEmptyString(status['message']) ?? 'no message';
      const detail = [code !== null ? String(code) : null, reason].filter((p) => p !== null).join(' ');
      this.watchErrorCount++;
      if (this.watchErrors.length < REPORTS_KEPT)
        this.watchErrors.push({ file: this.file, line, message: `${message.slice(0, 500)}${detail ? ` (${detail})` : ''}` });
      return;
    }
    if (!(CHANGE_TYPES as readonly string[]).includes(type)) {
      this.bad(line, `unknown watch event type ${JSON.stringify(type).slice(0, 100)} (expected ADDED, MODIFIED, DELETED, BOOKMARK or ERROR)`);
      return;
    }
    if (object === null) {
      this.bad(line, 'missing "object"');
      return;
    }
    if (!isRecord(object)) {
      this.bad(line, `"object" is not a JSON object, got ${describe(object)}`);
      return;
    }
    let observedAt: number | null = null;
    const rawObservedAt = value['observedAt'];
    if (rawObservedAt !== undefined && rawObservedAt !== null) {
      observedAt = typeof rawObservedAt === 'string' ? Date.parse(rawObservedAt) : Number.NaN;
      if (Number.isNaN(observedAt)) {
        this.bad(line, `"observedAt" is not an RFC 3339 time: ${JSON.stringify(rawObservedAt).slice(0, 100)}`);
        return;
      }
    }
    const typed = this.typeOf(object, null, line, 'the object');
    if (typed) this.push(type as ChangeType, object, typed, observedAt, line);
  }

  /** A bare object or a List item: no change type of its own. */
  private object(object: Raw, line: number, defaults: { apiVersion: string | null; kind: string } | null, what: string): void {
    if (object['kind'] === 'Status' && nonEmptyString(object['status']) === 'Failure') {
      const message = nonEmptyString(object['message']) ?? 'no message';
      this.bad(line, `${what} is an API error (Status Failure): ${message.slice(0, 300)}`);
      return;
    }
    const typed = this.typeOf(object, defaults, line, what);
    if (!typed) return;
    const metadata = isRecord(object['metadata']) ? object['metadata'] : null;
    const uid = metadata ? nonEmptyString(metadata['uid']) : null;
    let type: ChangeType = 'ADDED';
    if (uid !== null) {
      const key = `${typed.kind}/${uid}`;
      if (this.seen.has(key)) type = 'MODIFIED';
      else this.seen.add(key);
    }
    this.objects++;
    this.push(type, object, typed, null, line);
  }

  private typeOf(
    object: Raw,
    defaults: { apiVersion: string | null; kind: string } | null,
    line: number,
    what: string,
  ): { apiVersion: string; kind: string } | null {
    let apiVersion = nonEmptyString(object['apiVersion']);
    let kind = nonEmptyString(object['kind']);
    if (apiVersion !== null && kind !== null) return { apiVersion, kind };
    if (defaults) {
      apiVersion ??= defaults.apiVersion;
      kind ??= defaults.kind;
      if (apiVersion !== null && kind !== null) return { apiVersion, kind };
    }
    const inference = inferObjectType(object, { apiVersion, kind });
    if (!inference.ok) {
      this.bad(
        line,
        `${what} has no ${apiVersion === null && kind === null ? 'apiVersion and kind' : apiVersion === null ? 'apiVersion' : 'kind'}: ${inference.reason}`,
      );
      return null;
    }
    const key = `${inference.type.apiVersion} ${inference.type.kind}`;
    this.inferred[key] = (this.inferred[key] ?? 0) + 1;
    return inference.type;
  }

  private push(type: ChangeType, object: Raw, typed: { apiVersion: string; kind: string }, observedAt: number | null, line: number): void {
    const metadata = isRecord(object['metadata']) ? object['metadata'] : null;
    const resourceVersion = metadata && typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : '';
    const record: RecordedChange = {
      resource: resourceOf(typed.apiVersion, typed.kind),
      apiVersion: typed.apiVersion,
      kind: typed.kind,
      event: { type, object, resourceVersion },
      observedAt,
      time: null,
      source: { file: this.file, line },
    };
    record.time = sortTimeOf(record);
    this.records.push(record);
  }

  result(format: RecordingFormat): ParsedRecording {
    this.malformed.sort((a, b) => a.line - b.line);
    return {
      format,
      records: this.records,
      malformed: this.malformed,
      malformedCount: this.malformedCount,
      bookmarks: this.bookmarks,
      watchErrors: this.watchErrors,
      watchErrorCount: this.watchErrorCount,
      inferred: this.inferred,
      objects: this.objects,
      lines: this.lines.count,
      stoppedEarly: this.stoppedEarly,
    };
  }
}

/** A value as a message names it: `a string "Normal"`, `a number 3`, `null`, `a list`. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `a string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value === 'number' ? 'a number' : typeof value === 'boolean' ? 'a boolean' : `a ${typeof value}`} ${String(value).slice(0, 40)}`;
}

// ------------------------------------------------------------------ detection

interface Detected {
  format: RecordingFormat;
  /** The whole text parsed, for `list` (and a whole single JSON document). */
  whole?: unknown;
}

/** A first line that reads as YAML: a `key:` mapping, a document marker or a directive. */
const YAML_START = /^(?:---|%YAML|%TAG|[A-Za-z_"'][^:{}[\]]*:(?:\s|$))/;

function firstContentLine(text: string): string | undefined {
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed.length > 0 && !trimmed.startsWith('#')) return line;
    start = end + 1;
  }
  return undefined;
}

/** The first line that starts (after blanks) with `{` or `[`. */
const JSON_LINE = /^[ \t]*[{[]/m;

function detect(text: string): Detected {
  const first = firstContentLine(text);
  if (first === undefined) return { format: text.trim().length === 0 ? 'empty' : 'yaml' };
  const lead = first.trimStart()[0];
  if (lead === '{' || lead === '[') {
    let whole: unknown;
    let wholeOk = false;
    try {
      whole = JSON.parse(text);
      wholeOk = true;
    } catch {
      // JSON Lines, concatenated documents, or broken
    }
    if (wholeOk && (isListDocument(whole) || Array.isArray(whole))) return { format: 'list', whole };
  } else if (YAML_START.test(first)) {
    return { format: 'yaml' };
  }
  // JSON from its first line that starts like JSON (lines of other text before it are reported)
  const match = JSON_LINE.exec(text);
  if (match === null) return { format: 'text' };
  const end = text.indexOf('\n', match.index);
  const line = text.slice(match.index, end < 0 ? text.length : end);
  try {
    JSON.parse(line);
    return { format: 'jsonl' };
  } catch {
    return { format: 'json-stream' };
  }
}

/**
 * Tells the formats apart (see RecordingFormat): a whole JSON List or array is `list`; a first
 * line that is a JSON value on its own is `jsonl`; other JSON is `json-stream`; `key:` lines are
 * `yaml`.
 */
export function detectFormat(text: string): RecordingFormat {
  return detect(stripBom(text)).format;
}

// ------------------------------------------------------------------ the formats

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * How deep the JSON value in text[start, end) nests, counting only until `limit` is passed
 * (strings are skipped; the text has parsed or will be parsed as JSON).
 */
function nestingOf(text: string, start: number, end: number, limit = MAX_NESTING): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

const TOO_DEEP = `nested more than ${MAX_NESTING} levels deep (Kubernetes objects nest about 20)`;

function jsonErrorOffset(message: string, chunkStart: number, chunkEnd: number): number {
  const position = /position (\d+)/.exec(message);
  const offset = position?.[1] !== undefined ? chunkStart + Number(position[1]) : chunkEnd;
  return Math.min(offset, Math.max(chunkStart, chunkEnd - 1));
}

function parseList(text: string, whole: unknown, collector: Collector): void {
  collector.at = 0;
  if (nestingOf(text, 0, text.length, MAX_NESTING + 1) > MAX_NESTING + 1) {
    // the List itself is one level, its items the rest
    collector.bad(1, `the document is ${TOO_DEEP}`);
    return;
  }
  const root = Array.isArray(whole) ? 'array' : 'items';
  collector.value(whole, 1, () => listItemLines(text, root));
}

/** One JSON value per line. */
function parseJsonLines(text: string, collector: Collector): void {
  let line = 0;
  let start = 0;
  while (start <= text.length && !collector.stopped) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    line++;
    let last = end;
    if (last > start && text.charCodeAt(last - 1) === 13) last--;
    const raw = text.slice(start, last);
    collector.at = start;
    if (raw.trim().length > 0) {
      let value: unknown;
      let parsed = false;
      try {
        value = JSON.parse(raw);
        parsed = true;
      } catch (error) {
        collector.bad(line, `invalid JSON: ${(error as Error).message}`, raw);
      }
      if (parsed) {
        // a one-line List: its items are on this line
        if (nestingOf(text, start, last) > MAX_NESTING) collector.bad(line, `the value is ${TOO_DEEP}`, raw);
        else collector.value(value, line);
      }
    }
    start = end + 1;
  }
}

/** The offset of the next line at or after `from` that starts with `{` or `[` (pretty printers start a value there), or the end. */
function nextValueLine(text: string, from: number): number {
  for (let i = text.indexOf('\n', from); i >= 0 && i < text.length; i = text.indexOf('\n', i + 1)) {
    const c = text.charCodeAt(i + 1);
    if (c === 123 || c === 91) return i + 1;
  }
  return text.length;
}

/**
 * JSON values one after the other (pretty-printed, compact, or mixed). A scan tracks strings and
 * nesting to find where each value ends. Damage stays local: a string cannot span lines (JSON
 * forbids raw line breaks in strings), and a `{` or `[` at the start of a line while a value is
 * still open (pretty printers indent nested values) starts the next value, the open one being
 * reported as cut short. After a damaged value the scan goes on at the next line that starts with
 * `{` or `[`; other text between values is reported line by line.
 */
function parseJsonStream(text: string, lines: Lines, collector: Collector): void {
  const n = text.length;
  let i = 0;
  while (i < n && !collector.stopped) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const startLine = lines.lineAt(i);
    collector.at = i;
    if (c !== 123 && c !== 91) {
      // not the start of an object or array: report the rest of the line
      let end = i;
      while (end < n && text.charCodeAt(end) !== 10 && text.charCodeAt(end) !== 13) end++;
      const rest = text.slice(i, end);
      let reason: string;
      try {
        reason = `not an object (expected a watch event, a Kubernetes object or a List), got ${describe(JSON.parse(rest))}`;
      } catch {
        reason = `not JSON: expected "{" or "[" to start a value, found ${JSON.stringify(rest.slice(0, 1))}`;
      }
      collector.bad(startLine, reason, rest);
      i = end;
      continue;
    }
    const start = i;
    let depth = 0;
    let maxDepth = 0;
    let inString = false;
    let escaped = false;
    let end = -1;
    let problem: { reason: string; at: number } | null = null;
    for (let j = i; j < n; j++) {
      const ch = text.charCodeAt(j);
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === 92) escaped = true;
        else if (ch === 34) inString = false;
        else if (ch === 10 || ch === 13) {
          problem = { reason: 'a string is not closed before the end of its line', at: j };
          break;
        }
        continue;
      }
      if (ch === 34) inString = true;
      else if (ch === 123 || ch === 91) {
        if (depth > 0 && (text.charCodeAt(j - 1) === 10 || text.charCodeAt(j - 1) === 13)) {
          problem = { reason: 'the value ends before it is closed (cut short?); the next one starts here', at: j - 1 };
          break;
        }
        if (++depth > maxDepth) maxDepth = depth;
      } else if (ch === 125 || ch === 93) {
        depth--;
        if (depth <= 0) {
          end = j + 1;
          break;
        }
      }
    }
    if (problem === null && end < 0) problem = { reason: 'the file ends before the value is closed (cut short?)', at: n };
    if (problem !== null) {
      const at = lines.lineAt(Math.max(start, problem.at - 1));
      collector.bad(startLine, `invalid JSON: ${problem.reason}${at !== startLine ? ` (the value runs from line ${startLine} to ${at})` : ''}`);
      i = nextValueLine(text, Math.max(start, problem.at - 1));
      continue;
    }
    if (maxDepth > MAX_NESTING) {
      collector.bad(startLine, `the value is ${TOO_DEEP}`);
      i = end;
      continue;
    }
    const chunk = text.slice(start, end);
    let value: unknown;
    try {
      value = JSON.parse(chunk);
    } catch (error) {
      const message = (error as Error).message;
      const offset = jsonErrorOffset(message, start, end);
      const at = lines.lineAt(offset);
      collector.at = offset;
      collector.bad(
        at,
        `invalid JSON: ${message.replace(/ in JSON at position \d+/, '')}${at !== startLine ? ` (in the value that starts at line ${startLine})` : ''}`,
      );
      i = end;
      continue;
    }
    collector.value(value, startLine, () => listItemLines(chunk, Array.isArray(value) ? 'array' : 'items').map((l) => l + startLine - 1));
    i = end;
  }
}

/**
 * Where each YAML document starts: at the start, and after each `---` line (a document marker at
 * column 0 cannot be content: block scalars are indented). Returns [start offset, first content
 * offset] pairs.
 */
function yamlDocuments(text: string): Array<[number, number]> {
  const docs: Array<[number, number]> = [];
  let docStart = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (text.startsWith('---', start) && (start + 3 >= end || isSpace(text.charCodeAt(start + 3)))) {
      if (start > docStart) docs.push([docStart, start]);
      docStart = start;
    }
    start = end + 1;
  }
  docs.push([docStart, text.length]);
  return docs;
}

/** Whether `value` nests more than `limit` objects and arrays deep (walked without recursion). */
function deeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Flow brackets deeper than this, or lines indented more than this, are refused before YAML parses them. */
const MAX_YAML_INDENT = 400;

/** Why a YAML document is too deep to hand to the YAML parser (whose recursion has no bound), or null. */
function yamlTooDeep(text: string, start: number, end: number): { offset: number; reason: string } | null {
  let depth = 0;
  let lineStart = start;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      lineStart = i + 1;
      continue;
    }
    if (c === 32 && i - lineStart > MAX_YAML_INDENT) return { offset: i, reason: `a line is indented more than ${MAX_YAML_INDENT} columns` };
    if (c === 91 || c === 123) {
      if (++depth > MAX_NESTING) return { offset: i, reason: `it is ${TOO_DEEP}` };
    } else if (c === 93 || c === 125) {
      if (depth > 0) depth--;
    }
  }
  return null;
}

function parseYaml(text: string, lines: Lines, collector: Collector): void {
  for (const [docStart, docEnd] of yamlDocuments(text)) {
    if (collector.stopped) return;
    collector.at = docStart;
    const docLine = lines.lineAt(docStart);
    const deep = yamlTooDeep(text, docStart, docEnd);
    if (deep !== null) {
      collector.at = deep.offset;
      collector.bad(lines.lineAt(deep.offset), `invalid YAML document (from line ${docLine}): ${deep.reason}`);
      continue;
    }
    const source = text.slice(docStart, docEnd);
    let doc: Document.Parsed;
    try {
      // a duplicate key keeps its last value, as JSON.parse does (uniqueKeys off: YAML_PARSE_OPTIONS)
      doc = parseDocument(source, YAML_PARSE_OPTIONS);
    } catch (error) {
      collector.bad(docLine, `cannot parse as YAML: ${(error as Error).message}`);
      continue;
    }
    const error = doc.errors[0];
    if (error) {
      const offset = docStart + (error.pos?.[0] ?? 0);
      collector.at = offset;
      collector.bad(lines.lineAt(offset), `invalid YAML: ${(error.message.split('\n')[0] ?? error.code).slice(0, 300)}`);
      continue;
    }
    if (doc.contents === null) continue;
    const line = lines.lineAt(docStart + (doc.contents.range?.[0] ?? 0));
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      collector.bad(line, `invalid YAML: ${(e as Error).message.slice(0, 300)}`);
      continue;
    }
    if (deeperThan(value, MAX_NESTING)) {
      collector.bad(line, `the document is ${TOO_DEEP}`);
      continue;
    }
    collector.value(value, line, () => {
      const contents = doc.contents;
      const seq = isSeq(contents) ? contents : isMap(contents) ? contents.get('items', true) : null;
      if (!isSeq(seq)) return [];
      return seq.items.map((item) => {
        const range = (item as { range?: [number, number, number] } | null)?.range;
        return range ? lines.lineAt(docStart + range[0]) : line;
      });
    });
  }
}

/** kubectl's table output (`kubectl get events`) starts with these headings. */
const KUBECTL_TABLE = /^(NAMESPACE|LAST SEEN|NAME)\s{2,}/;

function parsePlainText(text: string, collector: Collector): void {
  const first = firstContentLine(text) ?? '';
  const hint = KUBECTL_TABLE.test(first) ? " (kubectl's table output: add -o json, -o yaml or --output-watch-events -o json)" : '';
  let line = 0;
  let start = 0;
  while (start <= text.length && !collector.stopped) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    line++;
    const raw = text.slice(start, end).replace(/\r$/, '');
    if (raw.trim().length > 0 && !raw.trimStart().startsWith('#')) collector.bad(line, `not JSON or YAML${hint}`, raw);
    start = end + 1;
  }
}

/**
 * Parses a whole recording (any format, see RecordingFormat) into records in file order. Never
 * throws on content: whatever cannot be replayed is returned in `malformed` with its line and
 * reason (and the parse stops early when nothing valid comes before GIVE_UP_AFTER of those).
 */
export function parseRecording(text: string, file: string): ParsedRecording {
  // a JSON.parse that fails builds an Error: without its stack trace a file of bad lines parses
  // 2.5 times faster (synchronous, so nothing else runs meanwhile)
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return parseText(text, file);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

function parseText(text: string, file: string): ParsedRecording {
  const body = stripBom(text);
  const lines = new Lines(body);
  const collector = new Collector(file, lines);
  const detected = detect(body);
  switch (detected.format) {
    case 'list':
      parseList(body, detected.whole, collector);
      break;
    case 'jsonl':
      parseJsonLines(body, collector);
      break;
    case 'json-stream':
      parseJsonStream(body, lines, collector);
      break;
    case 'yaml':
      parseYaml(body, lines, collector);
      break;
    case 'text':
      parsePlainText(body, collector);
      break;
    default:
      break;
  }
  return collector.result(detected.format);
}

// ------------------------------------------------------------------ bytes

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a recording as read from disk: UTF-8 (a BOM is dropped), or UTF-16 with a BOM (what
 * PowerShell's `>` writes). Binary data (a NUL byte in the first 64 KiB) stops at once. Lines that
 * are not valid UTF-8 are reported and left out; the rest is parsed.
 */
export function parseRecordingBytes(bytes: Uint8Array, file: string): ParsedRecording {
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    const encoding = bytes[0] === 0xff ? 'utf-16le' : 'utf-16be';
    return parseRecording(new TextDecoder(encoding).decode(bytes), file);
  }
  const sniff = Math.min(bytes.length, SNIFF_BYTES);
  for (let i = 0; i < sniff; i++) {
    if (bytes[i] === 0) {
      const empty = parseRecording('', file);
      return { ...empty, format: 'binary', lines: 0, stoppedEarly: `it holds binary data (a NUL byte at offset ${i}), not text` };
    }
  }
  try {
    return parseRecording(utf8.decode(bytes), file);
  } catch {
    // some lines are not UTF-8: leave them out (empty lines keep the numbering), report them
  }
  const parts: string[] = [];
  const badLines: number[] = [];
  let start = 0;
  let line = 1;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 10) continue;
    const slice = bytes.subarray(start, i);
    try {
      parts.push(utf8.decode(slice));
    } catch {
      parts.push('');
      badLines.push(line);
    }
    start = i + 1;
    line++;
  }
  const parsed = parseRecording(parts.join('\n'), file);
  parts.length = 0;
  parsed.malformedCount += badLines.length;
  for (const bad of badLines) {
    if (parsed.malformed.length >= REPORTS_KEPT) break;
    parsed.malformed.push({ file, line: bad, reason: 'not valid UTF-8 text', text: '' });
  }
  parsed.malformed.sort((a, b) => a.line - b.line);
  if (parsed.records.length === 0 && parsed.stoppedEarly === null && badLines.length >= Math.min(GIVE_UP_AFTER, parsed.lines / 2)) {
    parsed.stoppedEarly = `${badLines.length} of its ${parsed.lines} lines are not UTF-8 text (binary data?)`;
  }
  return parsed;
}

// ------------------------------------------------------------------ verdicts and writing

const FORMAT_NAMES: Record<RecordingFormat, string> = {
  jsonl: 'JSON Lines',
  'json-stream': 'JSON documents one after the other',
  list: 'a JSON List',
  yaml: 'YAML',
  text: 'text that is neither JSON nor YAML',
  empty: 'empty',
  binary: 'binary data',
};

export function formatName(format: RecordingFormat): string {
  return FORMAT_NAMES[format];
}

/**
 * Why a parsed recording has nothing to replay, as one sentence naming what was expected, or null
 * when it has records (with `requireEvents`: Events).
 */
export function nothingToReplay(parsed: ParsedRecording, options: { requireEvents?: boolean } = {}): string | null {
  if (parsed.records.length > 0 && !options.requireEvents) return null;
  if (parsed.records.some((r) => r.resource === 'events')) return null;
  if (parsed.records.length > 0) {
    const kinds = new Map<string, number>();
    for (const r of parsed.records) {
      const key = `${r.kind.slice(0, 100)} (${r.apiVersion.slice(0, 100)})`;
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
    }
    const list = [...kinds].map(([k, n]) => `${n} ${k}`).join(', ');
    return `it holds no Event, only ${list.length > 200 ? `${list.slice(0, 200)}…` : list}: nothing to replay`;
  }
  const expected =
    'expected JSON Lines of watch events (kubevents record, kubectl get --raw "...?watch=1", kubectl get -w --output-watch-events -o json) or what kubectl get [-w] -o json|yaml prints';
  if (parsed.format === 'empty') return parsed.lines === 0 ? 'the file is empty: nothing to replay' : 'the file holds only blank lines: nothing to replay';
  if (parsed.stoppedEarly !== null) {
    const first = parsed.malformed[0];
    return `it is not a recording: ${parsed.stoppedEarly}${first ? ` (line ${first.line}: ${first.reason})` : ''}; ${expected}`;
  }
  const first = parsed.malformed[0];
  if (first !== undefined) {
    const more = parsed.malformedCount > 1 ? `, and ${parsed.malformedCount - 1} more` : '';
    return `none of its entries can be replayed (line ${first.line}: ${first.reason}${more}); ${expected}`;
  }
  const error = parsed.watchErrors[0];
  if (error !== undefined) {
    const n = parsed.watchErrorCount;
    return `it holds no changes, only ${n === 1 ? 'a watch ERROR' : `${n} watch ERRORs`} (line ${error.line}: ${error.message})`;
  }
  if (parsed.bookmarks > 0) return `it holds no changes, only ${parsed.bookmarks} watch BOOKMARK${parsed.bookmarks === 1 ? '' : 's'}`;
  return 'it holds no objects (an empty List?): nothing to replay';
}

/**
 * One line of a recording, as `kubevents record` writes it and the replay reads it back: a watch
 * event with the time the recorder saw it.
 */
export function recordingLine(type: ChangeType, object: unknown, observedAt: number): string {
  return JSON.stringify({ type, object, observedAt: new Date(observedAt).toISOString() });
}
