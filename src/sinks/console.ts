/**
 * The console: one readable line per record (alerts: status, severity, what, where, evidence),
 * for people watching a run. It goes to stderr when stdout carries data, to the log in the live
 * run.
 */
import { of, type Observable } from 'rxjs';
import { z } from 'zod';
import type { OutRecord } from '../model/out-record.js';
import { defineSink } from './definition.js';
import { formatRecordLine, recordLineTime } from './record-lines.js';
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

export interface ConsoleSinkOptions {
  /**
   * Hold lines and write them in the order of the time each shows (stable for equal times) when
   * the sink closes: a replay at full speed decides a resolution after later events were seen, so
   * in decision order a line of 10:25 can follow one of 10:26. At most `maxHeld` lines are held;
   * past that the earliest half is written (so order holds within what was held).
   */
  inTimeOrder?: { maxHeld: number };
}

export class ConsoleSink implements Sink {
  readonly name = 'console';
  /** Lines written, per record kind. */
  readonly counts = new Map<string, number>();
  private held: Array<{ time: number; seq: number; line: string; record: OutRecord }> = [];
  private seq = 0;
  private lastTime = -Infinity;

  constructor(
    private readonly writeLine: (line: string, record: OutRecord) => void,
    private readonly options: ConsoleSinkOptions = {},
  ) {}

  async write(record: OutRecord): Promise<void> {
    this.counts.set(record.kind, (this.counts.get(record.kind) ?? 0) + 1);
    const line = formatRecordLine(record.kind, record.value);
    const order = this.options.inTimeOrder;
    if (!order) {
      this.writeLine(line, record);
      return;
    }
    // a line without a time of its own keeps its place after the one before it
    this.lastTime = recordLineTime(record.kind, record.value) ?? this.lastTime;
    this.held.push({ time: this.lastTime, seq: this.seq++, line, record });
    if (this.held.length >= order.maxHeld) this.release(Math.ceil(this.held.length / 2));
  }

  private release(n: number): void {
    this.held.sort((a, b) => a.time - b.time || a.seq - b.seq);
    const out = this.held.splice(0, n);
    for (const h of out) this.writeLine(h.line, h.record);
  }

  readonly writable$: Observable<boolean> = of(true);

  drained(): boolean {
    return true;
  }

  async close(): Promise<CloseResult> {
    this.release(this.held.length);
    return { flushed: true, abandoned: 0 };
  }
}
