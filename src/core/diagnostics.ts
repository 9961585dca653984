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
