/** What every configuration parser's answer to bad input must look like: positioned, bounded errors. */
import { expect } from 'vitest';
import { formatDiagnosticWithSource, type Diagnostic } from '../../../src/core/diagnostics.js';

/** Longest message of one diagnostic: messages quote values short, whatever their length. */
export const MAX_MESSAGE_CHARS = 2_000;

/** Longest printed diagnostic (message, hint, excerpt of the source line and underline). */
export const MAX_PRINTED_CHARS = 4_000;

/**
 * Every diagnostic names the file, a line and a column inside the text (file:line:col), a severity
 * and a short message; printed with its excerpt it stays short (no copy of a long line per
 * error), and there are never more diagnostics than characters: the output is linear in the input.
 */
export function expectPositioned(diagnostics: readonly Diagnostic[], file: string, text: string): void {
  const lines = text.split(/\r\n|\r|\n/).length;
  expect(diagnostics.length).toBeLessThanOrEqual(text.length + 10);
  // plain checks, one expect for the first problem: twenty thousand diagnostics are checked fast
  const problem = (d: Diagnostic): string | null => {
    if (d.file !== file) return `file ${d.file}, not ${file}`;
    if (d.severity !== 'error' && d.severity !== 'warning') return `severity ${String(d.severity)}`;
    if (!Number.isInteger(d.line) || d.line < 1 || d.line > lines + 1) return `line ${d.line} of ${lines}`;
    if (!Number.isInteger(d.column) || d.column < 1) return `column ${d.column}`;
    if (d.message.length === 0) return 'an empty message';
    if (d.message.length > MAX_MESSAGE_CHARS) return `a message of ${d.message.length} characters`;
    const printed = formatDiagnosticWithSource(d, text).length;
    if (printed > MAX_PRINTED_CHARS) return `printed in ${printed} characters`;
    return null;
  };
  for (const d of diagnostics) {
    const p = problem(d);
    if (p !== null) expect.fail(`${p}: ${d.file}:${d.line}:${d.column}: ${d.message.slice(0, 300)}`);
  }
}
