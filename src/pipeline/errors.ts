/**
 * Diagnostics for pipeline files, compiler style:
 *
 *   pipelines/x.yaml:12:7: error: unknown stage "dedup" (did you mean "dedupe"?)
 *
 * Positions come from the YAML nodes (`yaml`'s parseDocument + LineCounter): a zod issue path
 * (['spec', 'stages', 3, 'dedup']) is walked through the document to the node it names. Hints
 * ("did you mean") compare the unknown name with the allowed ones, taken from the zod schema.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { ONE_KEY_ISSUE, SHORTHAND_STAGES, SINK_TYPES, STAGE_TYPES, shapeOf, unwrapSchema } from './schema.js';

export type DiagnosticSeverity = 'error' | 'warning';

export interface Diagnostic {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** End of the offending text (same line), for the excerpt underline. */
  endColumn?: number;
  severity: DiagnosticSeverity;
  message: string;
  /** Shown in parentheses after the message, e.g. `did you mean "dedupe"?`. */
  hint?: string;
}

/** `file:line:col: error: message (hint)`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`;
}

/** The diagnostic line followed by the source line and a caret underline, when the text is known. */
export function formatDiagnosticWithSource(d: Diagnostic, text: string | undefined): string {
  const head = formatDiagnostic(d);
  if (text === undefined) return head;
  const line = text.split(/\r?\n/)[d.line - 1];
  if (line === undefined) return head;
  const gutter = String(d.line).length;
  const width = Math.max(1, (d.endColumn ?? d.column + 1) - d.column);
  const visible = line.replace(/\t/g, ' ');
  return `${head}\n ${String(d.line)} | ${visible}\n ${' '.repeat(gutter)} | ${' '.repeat(Math.max(0, d.column - 1))}${'^'.repeat(Math.min(width, Math.max(1, visible.length - d.column + 1)))}`;
}

export const hasErrors = (diagnostics: readonly Diagnostic[]): boolean => diagnostics.some((d) => d.severity === 'error');

/** Sorts by file, line, column (stable for equal positions). */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

// ---------------------------------------------------------------------------------------------
// Did you mean

/**
 * Edit distance: Levenshtein (insert, delete, substitute) plus the transposition of two adjacent
 * letters (optimal string alignment), each costing 1: `kafak` is 1 away from `kafka`.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row[j] = d;
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/** The allowed name closest to `name`, when it is close enough to be a likely typo. */
export function closest(name: string, allowed: readonly string[]): string | null {
  const lower = name.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const c = candidate.toLowerCase();
    const d = c === lower ? 0 : editDistance(lower, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  if (best === null) return null;
  const limit = Math.max(1, Math.min(3, Math.floor(Math.max(name.length, best.length) / 3)));
  if (bestDistance <= limit) return best;
  // a prefix or a part of a longer name: `dedup` for `dedupe`, `Scheduling` for `FailedScheduling`
  if (lower.length >= 4 && best.toLowerCase().startsWith(lower)) return best;
  return null;
}

export function didYouMean(name: string, allowed: readonly string[]): string | undefined {
  const match = closest(name, allowed);
  return match !== null && match !== name ? `did you mean "${match}"?` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Positions

export interface Span {
  line: number;
  column: number;
  endColumn?: number;
}

export type PathSegment = string | number;

function keyText(key: unknown): string | null {
  if (isScalar(key)) return String(key.value);
  if (typeof key === 'string' || typeof key === 'number') return String(key);
  return null;
}

interface Walked {
  /** The node at the deepest resolved segment (null for an empty value). */
  node: YamlNode | null;
  /** The key node of the pair holding `node`, if it is a map value. */
  key: YamlNode | null;
  /** Segments resolved. */
  depth: number;
}

/**
 * Positions of the nodes of one YAML document, by issue path. Offsets are those of the whole
 * text (parseAllDocuments shares one LineCounter), so a multi-document file works.
 */
export class DocumentLocator {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  private walk(path: readonly PathSegment[]): Walked {
    let node = this.doc.contents as YamlNode | null;
    let key: YamlNode | null = null;
    let depth = 0;
    for (const segment of path) {
      if (node && isAlias(node)) node = (node.resolve(this.doc) as YamlNode | undefined) ?? null;
      if (node && isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(segment));
        if (!pair) break;
        key = (pair.key as YamlNode | null) ?? null;
        node = (pair.value as YamlNode | null) ?? null;
      } else if (node && isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as YamlNode | undefined;
        if (item === undefined) break;
        key = null;
        node = item;
      } else {
        break;
      }
      depth++;
    }
    return { node, key, depth };
  }

  private span(node: YamlNode | null | undefined): Span | null {
    const range = node?.range;
    if (!range) return null;
    const start = this.lineCounter.linePos(range[0]);
    const end = this.lineCounter.linePos(range[1]);
    return { line: start.line, column: start.col, ...(end.line === start.line && end.col > start.col ? { endColumn: end.col } : {}) };
  }

  /** The document start (for issues about the whole document). */
  documentSpan(): Span {
    const contents = this.doc.contents as YamlNode | null;
    const s = this.span(contents);
    if (s) return s;
    const start = this.doc.range?.[0] ?? 0;
    const p = this.lineCounter.linePos(start);
    return { line: p.line, column: p.col };
  }

  /**
   * Where to point for `path`: `value` (the value node; its key when empty), `key` (the key of the
   * last segment), or the deepest existing node when the path does not exist (a missing field
   * points at the key of the map that misses it).
   */
  locate(path: readonly PathSegment[], target: 'value' | 'key' = 'value'): Span {
    const w = this.walk(path);
    if (w.depth === path.length) {
      if (target === 'key' && w.key) return this.span(w.key) ?? this.documentSpan();
      const empty = w.node && isScalar(w.node) && w.node.value === null && w.node.range && w.node.range[0] === w.node.range[1];
      if (empty && w.key) return this.span(w.key) ?? this.documentSpan();
      return this.span(w.node) ?? this.span(w.key) ?? this.documentSpan();
    }
    // the path ends in a missing part: point at the key of the deepest map that exists
    return this.span(w.key) ?? this.span(w.node) ?? this.documentSpan();
  }

  /** Span of the key `name` of the map at `path` (for unknown keys). */
  locateKey(path: readonly PathSegment[], name: string): Span {
    return this.locate([...path, name], 'key');
  }
}

/** A diagnostic at the YAML parser's position (`yaml` errors carry linePos). */
export function yamlErrorDiagnostic(
  file: string,
  error: { message: string; linePos?: [{ line: number; col: number }, { line: number; col: number }?]; code?: string },
  severity: DiagnosticSeverity = 'error',
): Diagnostic {
  const pos = error.linePos?.[0] ?? { line: 1, col: 1 };
  // yaml's messages end with a code excerpt after "at line N, column M:"; the excerpt is ours to print
  const message = error.message.split(/ at line \d+, column \d+:?/)[0]!.trim();
  return { file, line: pos.line, column: pos.col, severity, message: `YAML: ${message}` };
}

// ---------------------------------------------------------------------------------------------
// zod issues -> diagnostics

type Issue = z.core.$ZodIssue;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

function getIn(data: unknown, path: readonly PathSegment[]): unknown {
  let d = data;
  for (const seg of path) {
    if (d === null || typeof d !== 'object') return undefined;
    d = (d as Record<PathSegment, unknown>)[seg];
  }
  return d;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

function expectedName(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a map';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    default:
      return expected;
  }
}

/** Where a path is, for people: `stage "rate" option "window"`, `sink "kafka" option "topic"`, or `field "metadata.name"`. */
interface Place {
  /** `stage "rate"`, `sink "kafka"`, or null outside stages and sinks. */
  owner: string | null;
  /** The option path under the owner (or the whole field path): `window`, `not.reason`. */
  field: string;
}

function placeOf(path: readonly PathSegment[], data: unknown): Place {
  for (let i = path.length - 3; i >= 0; i--) {
    const listName = path[i];
    if ((listName === 'stages' || listName === 'sinks') && typeof path[i + 1] === 'number' && typeof path[i + 2] === 'string') {
      const name = path[i + 2] as string;
      const known = listName === 'stages' ? (STAGE_TYPES as readonly string[]).includes(name) : (SINK_TYPES as readonly string[]).includes(name);
      if (!known) break;
      return { owner: `${listName === 'stages' ? 'stage' : 'sink'} "${name}"`, field: formatPath(path.slice(i + 3)) };
    }
  }
  void data;
  return { owner: null, field: formatPath(path) };
}

function where(place: Place, noun = 'option'): string {
  if (place.owner && place.field) return `${place.owner} ${noun} "${place.field}"`;
  if (place.owner) return place.owner;
  return place.field ? `field "${place.field}"` : 'the document';
}

/** The schema at `path`, choosing union options by the data. */
export function schemaAtPath(root: z.ZodType, path: readonly PathSegment[], data: unknown): z.ZodType | null {
  let s: z.ZodType | null = root;
  let d = data;
  for (const seg of path) {
    if (!s) return null;
    s = pickOption(unwrapSchema(s), d);
    const def = s.def as { type: string; element?: z.ZodType; valueType?: z.ZodType };
    if (def.type === 'object') s = (shapeOf(s) ?? {})[String(seg)] ?? null;
    else if (def.type === 'array') s = def.element ?? null;
    else if (def.type === 'record') s = def.valueType ?? null;
    else return null;
    d = d !== null && typeof d === 'object' ? (d as Record<PathSegment, unknown>)[seg] : undefined;
  }
  return s ? pickOption(unwrapSchema(s), d) : null;
}

function pickOption(s: z.ZodType, data: unknown): z.ZodType {
  const def = s.def as { type: string; options?: readonly z.ZodType[]; discriminator?: string };
  if (def.type !== 'union' || !def.options) return s;
  const options = def.options.map(unwrapSchema);
  // a discriminated union: the option whose literal matches the data's discriminator
  if (def.discriminator && data !== null && typeof data === 'object') {
    const discriminator = def.discriminator;
    const want = (data as Record<string, unknown>)[discriminator];
    const found = options.find((o) => (shapeOf(o)?.[discriminator]?.def as { values?: unknown[] } | undefined)?.values?.includes(want));
    if (found) return found;
  }
  const want = Array.isArray(data) ? 'array' : data !== null && typeof data === 'object' ? 'object' : null;
  const option = options.find((o) => o.def.type === want) ?? options.find((o) => o.def.type === 'object');
  return option ?? s;
}

/** Required keys of the object schema `s` (those without a default and not optional). */
function requiredKeys(s: z.ZodType | null): string[] {
  const shape = s ? shapeOf(s) : null;
  if (!shape) return [];
  return Object.entries(shape)
    .filter(([, v]) => !(v as { isOptional?: () => boolean }).isOptional?.())
    .map(([k]) => k);
}

const isDefaultMessage = (message: string): boolean => /^(Invalid input|Invalid option|Invalid string|Too (small|big)|Unrecognized key)/.test(message);

function tooSmallMessage(issue: Extract<Issue, { code: 'too_small' }>): string {
  const min = Number(issue.minimum);
  if (issue.origin === 'array') return min <= 1 ? 'must not be empty' : `needs at least ${min} items`;
  if (issue.origin === 'string') return min <= 1 ? 'must not be empty' : `needs at least ${min} characters`;
  if (issue.origin === 'record') return 'must not be empty';
  return `must be ${issue.inclusive ? '>=' : '>'} ${min}`;
}

function tooBigMessage(issue: Extract<Issue, { code: 'too_big' }>): string {
  const max = Number(issue.maximum);
  if (issue.origin === 'array') return `takes at most ${max} items`;
  if (issue.origin === 'string') return `takes at most ${max} characters`;
  return `must be ${issue.inclusive ? '<=' : '<'} ${max}`;
}

/** Which branch of a failed union explains the failure best (see issuesToDiagnostics). */
function chooseBranch(branches: ReadonlyArray<readonly Issue[]>, value: unknown): readonly Issue[] | null {
  const rootMismatch = (b: readonly Issue[], code: string) => b.some((i) => i.path.length === 0 && i.code === code);
  const good = branches.find((b) => !rootMismatch(b, 'invalid_type') && !rootMismatch(b, 'invalid_value'));
  if (good) return good;
  // a wrong value of the right type (a string for an enum): that branch was meant
  if (typeof value !== 'string') return null;
  const valueWrong = branches.find((b) => !rootMismatch(b, 'invalid_type'));
  return valueWrong ?? null;
}

/** What the branches of a failed union expected at the root: `a string or a list`, `"*" or a list`. */
function unionExpected(branches: ReadonlyArray<readonly Issue[]>): string {
  const out: string[] = [];
  for (const b of branches) {
    for (const i of b) {
      if (i.path.length !== 0) continue;
      if (i.code === 'invalid_type') out.push(expectedName(i.expected));
      else if (i.code === 'invalid_value') out.push(...i.values.map((v) => JSON.stringify(v)));
    }
  }
  return [...new Set(out)].join(' or ');
}

const STAGE_LIST = STAGE_TYPES.join(', ');
const SINK_LIST = SINK_TYPES.join(', ');

function isStagePath(path: readonly PathSegment[]): boolean {
  return path.length >= 2 && path[path.length - 2] === 'stages' && typeof path[path.length - 1] === 'number';
}
function isSinkPath(path: readonly PathSegment[]): boolean {
  return path.length >= 2 && path[path.length - 2] === 'sinks' && typeof path[path.length - 1] === 'number';
}

/**
 * Turns the issues of `root.safeParse(data)` into diagnostics at the YAML positions: every issue
 * is reported (a failed union is reported through the branch that fits the input best).
 */
export function issuesToDiagnostics(issues: readonly Issue[], data: unknown, root: z.ZodType, locator: DocumentLocator): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (span: Span, message: string, hint?: string): void => {
    out.push({ file: locator.file, line: span.line, column: span.column, ...(span.endColumn ? { endColumn: span.endColumn } : {}), severity: 'error', message, ...(hint ? { hint } : {}) });
  };
  const unknownKeyPaths = new Set<string>();
  const collectUnknown = (list: readonly Issue[], prefix: readonly PathSegment[]): void => {
    for (const i of list) {
      const path = [...prefix, ...(i.path as PathSegment[])];
      if (i.code === 'unrecognized_keys') unknownKeyPaths.add(JSON.stringify(path));
      if (i.code === 'invalid_union') {
        const branch = chooseBranch(i.errors, getIn(data, path));
        if (branch) collectUnknown(branch, path);
      }
    }
  };
  collectUnknown(issues, []);

  const visit = (list: readonly Issue[], prefix: readonly PathSegment[]): void => {
    for (const issue of list) {
      const path = [...prefix, ...(issue.path as PathSegment[])];
      const value = getIn(data, path);
      const place = placeOf(path, data);
      switch (issue.code) {
        case 'unrecognized_keys': {
          for (const key of issue.keys) {
            const span = locator.locateKey(path, key);
            if (isStagePath(path)) at(span, `unknown stage "${key}"`, didYouMean(key, STAGE_TYPES) ?? `stages are: ${STAGE_LIST}`);
            else if (isSinkPath(path)) at(span, `unknown sink "${key}"`, didYouMean(key, SINK_TYPES) ?? `sinks are: ${SINK_LIST}`);
            else {
              const allowed = Object.keys(shapeOf(schemaAtPath(root, path, data) ?? ({} as z.ZodType)) ?? {});
              const hint = didYouMean(key, allowed) ?? (allowed.length ? `allowed: ${allowed.join(', ')}` : undefined);
              const owner = placeOf([...path, key], data);
              const message = owner.owner ? `unknown option "${owner.field}" for ${owner.owner}` : `unknown field "${formatPath([...path, key])}"`;
              at(span, message, hint);
            }
          }
          break;
        }
        case 'invalid_union': {
          const branch = chooseBranch(issue.errors, value);
          if (isStagePath(path) || isSinkPath(path)) {
            const stage = isStagePath(path);
            const kinds = stage ? STAGE_TYPES : SINK_TYPES;
            if (typeof value === 'string') {
              const noun = stage ? 'stage' : 'sink';
              if ((kinds as readonly string[]).includes(value)) {
                const required = requiredKeys(schemaAtPath(root, [...path, value], { [value]: {} }));
                at(locator.locate(path), `${noun} "${value}" needs options${required.length ? `: ${required.join(', ')}` : ''}`, `write it as a map: "- ${value}:" followed by its options`);
              } else {
                const shorthand = stage ? [...SHORTHAND_STAGES] : [...SINK_TYPES];
                at(locator.locate(path), `unknown ${noun} "${value}"`, didYouMean(value, kinds) ?? `${noun}s are: ${(stage ? STAGE_LIST : SINK_LIST)}${stage ? `; written without options: ${shorthand.join(', ')}` : ''}`);
              }
              break;
            }
            if (value === null || typeof value !== 'object' || Array.isArray(value)) {
              at(locator.locate(path), `a ${stage ? 'stage' : 'sink'} is a map with one key, the ${stage ? 'stage' : 'sink'} type (or just its name), got ${typeName(value)}`);
              break;
            }
          }
          if (branch) {
            visit(branch, path);
            break;
          }
          at(locator.locate(path), `${where(place)}: expected ${unionExpected(issue.errors)}, got ${typeName(value)}`);
          break;
        }
        case 'invalid_type': {
          if (value === undefined) {
            const parentPlace = placeOf(path.slice(0, -1), data);
            const name = String(path[path.length - 1]);
            const message = parentPlace.owner
              ? `${parentPlace.owner}: missing required option "${parentPlace.field ? `${parentPlace.field}.` : ''}${name}"`
              : `missing required field "${formatPath(path)}"`;
            at(locator.locate(path), message);
            break;
          }
          const last = path[path.length - 1];
          const parent = path.slice(0, -1);
          if (value === null && typeof last === 'string' && (isStagePath(parent) || isSinkPath(parent))) {
            const required = requiredKeys(schemaAtPath(root, path, { [last]: {} }));
            at(locator.locate(path), `${isStagePath(parent) ? 'stage' : 'sink'} "${last}" needs options${required.length ? `: ${required.join(', ')}` : ''}`);
            break;
          }
          const message = isDefaultMessage(issue.message) ? `expected ${expectedName(issue.expected)}, got ${typeName(value)}` : issue.message;
          if (path.length === 0) at(locator.documentSpan(), `a pipeline document is a map with apiVersion, kind, metadata and spec; got ${typeName(value)}`);
          else at(locator.locate(path), `${where(place)}: ${message}`);
          break;
        }
        case 'invalid_value': {
          const values = issue.values.map((v) => String(v));
          if (values.length === 1) {
            at(locator.locate(path), `${where(place)} must be ${JSON.stringify(values[0])}, got ${typeName(value)}`);
            break;
          }
          const hint = typeof value === 'string' ? didYouMean(value, values) : undefined;
          at(locator.locate(path), `${where(place)}: invalid value ${value !== null && typeof value === 'object' ? typeName(value) : JSON.stringify(value)}; expected one of ${values.join(', ')}`, hint);
          break;
        }
        case 'invalid_format':
        case 'custom': {
          if (issue.code === 'custom' && (issue.params as Record<string, unknown> | undefined)?.[ONE_KEY_ISSUE]) {
            if (unknownKeyPaths.has(JSON.stringify(path))) break; // the unknown key says it better
            const keys = ((issue.params as Record<string, unknown>)['keys'] as string[] | undefined) ?? [];
            at(keys.length > 1 ? locator.locateKey(path, keys[1]!) : locator.locate(path), issue.message);
            break;
          }
          at(locator.locate(path), `${where(place)}: ${issue.message}`);
          break;
        }
        case 'too_small':
          at(locator.locate(path), `${where(place)} ${tooSmallMessage(issue)}`);
          break;
        case 'too_big':
          at(locator.locate(path), `${where(place)} ${tooBigMessage(issue)}`);
          break;
        default:
          at(locator.locate(path), `${where(place)}: ${issue.message}`);
      }
    }
  };
  visit(issues, []);
  return out;
}
