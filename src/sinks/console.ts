/**
 * The console: one readable line per record (alerts: status, severity, what, where, evidence),
 * for people watching a run. It goes to stderr when stdout carries data, to the log in the live
 * run.
 */
import { of, type Observable } from 'rxjs';
import { z } from 'zod';
import type { OutRecord } from '../model/out-record.js';
import { defineSink } from './definition.js';
import { formatRecordLine } from './record-lines.js';
import type { CloseResult, Sink } from './sink.js';

export const consoleSink = defineSink({
  type: 'console',
  summary: 'One readable line per record (alerts: status, severity, what, where, evidence) on the console (stderr when stdout carries data).',
  options: z.strictObject({}),
  avro: false,
  target: () => undefined,
  describe: (_o, _target, what) => `console lines <- ${what}`,
  sink: (env) => env.console(),
});

export class ConsoleSink implements Sink {
  readonly name = 'console';
  /** Lines written, per record kind. */
  readonly counts = new Map<string, number>();

  constructor(private readonly writeLine: (line: string, record: OutRecord) => void) {}

  async write(record: OutRecord): Promise<void> {
    this.counts.set(record.kind, (this.counts.get(record.kind) ?? 0) + 1);
    this.writeLine(formatRecordLine(record.kind, record.value), record);
  }

  readonly writable$: Observable<boolean> = of(true);

  drained(): boolean {
    return true;
  }

  async close(): Promise<CloseResult> {
    return { flushed: true, abandoned: 0 };
  }
}
