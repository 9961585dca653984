/**
 * Records on standard output: JSON Lines, or one readable line each on a terminal. stdout carries
 * data only (logs and summaries go to stderr). Honours the pipe's backpressure (not writable
 * while the stream's buffer is full) and ends quietly when the reader goes away (`| head -1`:
 * EPIPE), telling the run through `onReaderGone`.
 */
import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import type { Writable } from 'node:stream';
import { z } from 'zod';
import type { OutRecord } from '../model/out-record.js';
import { defineSink } from './definition.js';
import { formatRecordLine } from './record-lines.js';
import type { CloseResult, Sink } from './sink.js';

export const STDOUT_FORMATS = ['auto', 'json', 'line'] as const;
export type StdoutFormat = (typeof STDOUT_FORMATS)[number];

export const stdoutSink = defineSink({
  type: 'stdout',
  summary: 'Records on standard output: JSON Lines, or one readable line per record.',
  options: z.strictObject({
    format: z.enum(STDOUT_FORMATS).default('auto').describe('json: JSON Lines; line: one readable line per record; auto: line on a terminal, else json.'),
  }),
  avro: false,
  target: (o) => o.format,
  describe: (o, _target, what) => `stdout (${o.format}) <- ${what}`,
  sink: (env) => env.stdout(),
});

export interface StdoutSinkOptions {
  stream?: Writable & { isTTY?: boolean };
  /** Whether `auto` means readable lines; default: the stream is a terminal. */
  terminal?: boolean;
  /** The reader closed the pipe (EPIPE): nothing more can be written. */
  onReaderGone?: () => void;
}

export class StdoutSink implements Sink {
  readonly name = 'stdout';
  private readonly stream: Writable & { isTTY?: boolean };
  private readonly terminal: boolean;
  private readonly writable = new BehaviorSubject<boolean>(true);
  private gone = false;
  /** Resolves when the pipe has room again (null while it has). */
  private room: Promise<void> | null = null;
  private closed = false;
  /** Lines written. */
  written = 0;

  constructor(private readonly options: StdoutSinkOptions = {}) {
    this.stream = options.stream ?? process.stdout;
    this.terminal = options.terminal ?? Boolean(this.stream.isTTY);
    this.stream.on('error', this.onError);
  }

  private readonly onError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') {
      if (this.gone) return;
      this.gone = true;
      this.writable.next(true);
      this.options.onReaderGone?.();
    }
  };

  /** Whether a record of this format is written as a readable line. */
  readable(format: string | undefined): boolean {
    return format === 'line' || ((format === undefined || format === 'auto') && this.terminal);
  }

  write(record: OutRecord): Promise<void> {
    if (this.gone || this.closed) return Promise.resolve();
    const line = this.readable(record.target) ? formatRecordLine(record.kind, record.value) : JSON.stringify(record.value);
    this.written++;
    if (this.stream.write(`${line}\n`) && !this.room) return Promise.resolve();
    this.writable.next(false);
    // one wait for every write made while the pipe is full: no listener per write
    this.room ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        this.room = null;
        this.writable.next(true);
        resolve();
      };
      this.stream.once('drain', done);
      this.stream.once('close', done);
    });
    return this.room;
  }

  get writable$(): Observable<boolean> {
    return this.writable.pipe(distinctUntilChanged());
  }

  drained(): boolean {
    return this.gone || this.stream.writableLength === 0 || !this.stream.writableNeedDrain;
  }

  async close(): Promise<CloseResult> {
    this.closed = true;
    this.writable.complete();
    return { flushed: true, abandoned: 0 };
  }
}
