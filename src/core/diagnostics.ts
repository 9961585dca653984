/**
 * Diagnostics of every configuration format (pipeline files, the alerts configuration, the run
 * configuration), compiler style:
 *
 *   pipelines/x.yaml:12:7: error: unknown stage "dedup" (did you mean "dedupe"?)
 *
 * with the source line and a caret underline when the text is known, and "did you mean" hints
 * from the edit distance to the allowed names. Positions come from yaml-locator.ts, messages for
 * schema violations from zod-diagnostics.ts.
 */
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

/** Characters of a long source line shown around the column in an excerpt. */
const EXCERPT_CONTEXT = 60;
const EXCERPT_MAX_UNDERLINE = 80;

/**
 * The diagnostic line followed by the source line and a caret underline, when the text is known.
 * A long line is cut to a window around the column (`…` marks the cuts), so every excerpt stays
 * short: a one-line file of a megabyte with a thousand errors prints a thousand short excerpts, not
 * a thousand copies of the line.
 */
export function formatDiagnosticWithSource(d: Diagnostic, text: string | undefined): string {
  const head = formatDiagnostic(d);
  if (text === undefined) return head;
  const line = sourceLine(text, d.line);
  if (line === undefined) return head;
  const gutter = String(d.line).length;
  const width = Math.min(EXCERPT_MAX_UNDERLINE, Math.max(1, (d.endColumn ?? d.column + 1) - d.column));
  const start = Math.max(0, d.column - 1 - EXCERPT_CONTEXT);
  const end = Math.min(line.length, d.column - 1 + width + EXCERPT_CONTEXT);
  const prefix = start > 0 ? '…' : '';
  const visible = prefix + line.slice(start, end).replace(/\t/g, ' ') + (end < line.length ? '…' : '');
  const caretAt = d.column - 1 - start + prefix.length;
  return `${head}\n ${String(d.line)} | ${visible}\n ${' '.repeat(gutter)} | ${' '.repeat(Math.max(0, caretAt))}${'^'.repeat(Math.min(width, Math.max(1, visible.length - caretAt)))}`;
}

/** Line `n` (1-based) of `text`, without splitting the whole text. */
function sourceLine(text: string, n: number): string | undefined {
  let start = 0;
  for (let i = 1; i < n; i++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return undefined;
    start = nl + 1;
  }
  const nl = text.indexOf('\n', start);
  const line = text.slice(start, nl < 0 ? text.length : nl);
  return line.endsWith('\r') ? line.slice(0, -1) : line;
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
  // three rows are all the recurrence reads: memory follows the second name (an allowed one), not the first
  let before: number[] = [];
  let previous: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row[j] = d;
    }
    before = previous;
    previous = row;
  }
  return previous[b.length]!;
}

/** Names this much longer or shorter than every allowed one are no typo of them: not compared at all. */
const MAX_LENGTH_DIFFERENCE = 64;

/** The allowed name closest to `name`, when it is close enough to be a likely typo. */
export function closest(name: string, allowed: readonly string[]): string | null {
  const lower = name.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const c = candidate.toLowerCase();
    // the distance is at least the difference in length: a name far longer than every allowed one
    // (a megabyte pasted as a key) costs nothing and is never suggested against
    const gap = Math.abs(c.length - lower.length);
    const d = c === lower ? 0 : gap > MAX_LENGTH_DIFFERENCE ? gap : editDistance(lower, c);
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
