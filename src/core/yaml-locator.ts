/**
 * Positions in YAML documents (`yaml`'s parseDocument / parseAllDocuments + LineCounter): a path
 * such as ['spec', 'stages', 3, 'dedup'] (a zod issue path, or the path of a semantic check) is
 * walked through the document to the node it names, and its line and column reported.
 */
import {
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  YAMLParseError,
  type Document,
  type LineCounter,
  type Node as YamlNode,
  type Pair,
  type YAMLMap,
} from 'yaml';
import type { Diagnostic, DiagnosticSeverity } from './diagnostics.js';

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
  /** Each map's pairs by key text (the first of equal keys), built on first use: a lookup is not a scan. */
  private readonly indexes = new WeakMap<YAMLMap, Map<string, Pair>>();

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
        const pair = this.pairOf(node, String(segment));
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

  private pairOf(map: YAMLMap, key: string): Pair | undefined {
    let index = this.indexes.get(map);
    if (!index) {
      index = new Map();
      for (const p of map.items) {
        if (!isPair(p)) continue;
        const text = keyText(p.key);
        if (text !== null && !index.has(text)) index.set(text, p);
      }
      this.indexes.set(map, index);
    }
    return index.get(key);
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

/** A yaml parse error or warning: a position in the text (`pos`), and a line position when prettyErrors was on. */
export interface YamlProblem {
  message: string;
  pos?: readonly [number, number];
  linePos?: [{ line: number; col: number }, { line: number; col: number }?];
  code?: string;
}

/**
 * The parse options of every file kubevents reads as YAML (pipelines, run and alerts
 * configuration, recordings). `prettyErrors` off: see yamlErrorDiagnostic. `uniqueKeys` off: the
 * library checks duplicate keys in quadratic time (20,000 keys took 9 s); addDuplicateKeyErrors
 * reports them in linear time. `resolveKnownTags` off: the YAML 1.1 tags !!binary, !!set, !!omap,
 * !!pairs and !!timestamp would give a Buffer, a Set, a Map or a Date where every schema expects
 * JSON values (a `!!binary` document was read as a mapping with one unknown field per byte, found
 * by fuzzing); off, such a tag is a positioned warning and the value stays a string, list or map.
 */
export const YAML_PARSE_OPTIONS = { prettyErrors: false, uniqueKeys: false, resolveKnownTags: false } as const;

/**
 * YAML syntax errors reported one by one per document; the rest are counted in one more line.
 * A file of garbage gives one error per character (100,000 for 200 KB of `"`), which no one reads.
 */
export const YAML_ERRORS_REPORTED = 20;

/**
 * A diagnostic at the YAML parser's position. Parse with `prettyErrors: false` and pass the
 * LineCounter: yaml's pretty errors build an excerpt per error by scanning the text, quadratic in
 * the file's size when every character is an error (200 KB of `"`: 36 s instead of 1 s).
 */
export function yamlErrorDiagnostic(file: string, error: YamlProblem, severity: DiagnosticSeverity = 'error', lineCounter?: LineCounter): Diagnostic {
  const pos = error.linePos?.[0] ?? (error.pos && lineCounter ? lineCounter.linePos(error.pos[0]) : { line: 1, col: 1 });
  // pretty messages end with a code excerpt after "at line N, column M:"; the excerpt is ours to print
  const full = error.message
    .split(/ at line \d+, column \d+:?/)[0]!
    .split('\n')[0]!
    .trim();
  // yaml quotes the offending token, which may be the rest of the file
  const message = full.length > 300 ? `${full.slice(0, 300)}…` : full;
  const hint = error.code === 'TAG_RESOLVE_FAILED' ? 'tags are not read: the value is taken as plain YAML; remove the tag' : undefined;
  return { file, line: pos.line, column: pos.col, severity, message: `YAML: ${message}`, ...(hint ? { hint } : {}) };
}

/** The first YAML_ERRORS_REPORTED problems as diagnostics, and one that counts the rest. */
export function yamlErrorDiagnostics(
  file: string,
  problems: readonly YamlProblem[],
  lineCounter: LineCounter,
  severity: DiagnosticSeverity = 'error',
): Diagnostic[] {
  const out = problems.slice(0, YAML_ERRORS_REPORTED).map((p) => yamlErrorDiagnostic(file, p, severity, lineCounter));
  const more = problems.length - YAML_ERRORS_REPORTED;
  if (more > 0) {
    const last = out.at(-1)!;
    out.push({
      file,
      line: last.line,
      column: last.column,
      severity,
      message: `YAML: ${more} more ${severity === 'error' ? 'syntax errors' : 'warnings'} after this one (is this a YAML file?)`,
    });
  }
  return out;
}

/** A path for people: `spec.stages[3].rate.window`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    // a key pasted a megabyte long reads as its start: messages stay short
    const name = typeof seg === 'string' && seg.length > 80 ? `${seg.slice(0, 80)}…` : seg;
    out += typeof name === 'number' ? `[${name}]` : out ? `.${name}` : name;
  }
  return out;
}

/** A diagnostic at the node `path` names (its key with `key: true`). */
export function diagnosticAt(
  locator: DocumentLocator,
  path: readonly PathSegment[],
  problem: { severity?: DiagnosticSeverity; message: string; hint?: string | undefined; key?: boolean | undefined },
): Diagnostic {
  const span = locator.locate(path, problem.key ? 'key' : 'value');
  return {
    file: locator.file,
    line: span.line,
    column: span.column,
    ...(span.endColumn ? { endColumn: span.endColumn } : {}),
    severity: problem.severity ?? 'error',
    message: problem.message,
    ...(problem.hint ? { hint: problem.hint } : {}),
  };
}

/**
 * yaml's own `uniqueKeys` check compares every key of a map with every key before it: a file of
 * 20,000 keys took 18 s. Parse with `uniqueKeys: false` and call this instead: one pass with a set
 * per map, the same error (code DUPLICATE_KEY, "Map keys must be unique") at the repeated key,
 * added to `doc.errors`. Scalar keys compare by value (as yaml does); merge keys (`<<`) may repeat.
 */
export function addDuplicateKeyErrors(doc: Document, lineCounter: LineCounter): void {
  const pending: unknown[] = [doc.contents];
  const seen = new Set<unknown>();
  while (pending.length > 0) {
    const node = pending.pop();
    if (!isCollection(node) || seen.has(node)) continue;
    seen.add(node);
    const keys = isMap(node) ? new Set<string>() : null;
    for (const item of node.items) {
      if (isPair(item)) {
        pending.push(item.key, item.value);
        if (keys && isScalar(item.key) && item.key.value !== '<<') {
          const id = `${typeof item.key.value}:${String(item.key.value)}`;
          if (keys.has(id)) {
            const range = item.key.range ?? [0, 0];
            const error = new YAMLParseError([range[0], range[1]], 'DUPLICATE_KEY', 'Map keys must be unique');
            const start = lineCounter.linePos(range[0]);
            const end = lineCounter.linePos(range[1]);
            error.linePos = [start, end];
            doc.errors.push(error);
          } else keys.add(id);
        }
      } else pending.push(item);
    }
  }
}
