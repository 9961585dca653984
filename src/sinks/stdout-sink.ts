import type { Writable } from 'node:stream';
import type { KubeEvent } from '../model/kube-event.js';

export interface StdoutSinkOptions {
  stream?: Writable & { isTTY?: boolean };
  /** One readable line per event; default: when the stream is a terminal. */
  human?: boolean;
}

function compactTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** A one-line, human-readable rendering of an event, for terminals. */
export function formatEventLine(event: KubeEvent): string {
  const r = event.regarding;
  const object = `${r.kind ?? '?'}/${r.namespace ? `${r.namespace}/` : ''}${r.name ?? '?'}`;
  const count = event.count > 1 ? ` (x${event.count})` : '';
  const category = event.classification ? ` [${event.classification.category}/${event.classification.severity}]` : '';
  const message = event.message.replace(/\s+/g, ' ').trim();
  return `${compactTime(event.lastTimestamp)} ${event.type.padEnd(7)} ${event.reason}${count}${category} ${object}: ${message}`;
}

/**
 * Writes records as JSON Lines (or readable lines on a terminal). Honours the stream's
 * backpressure: `write` resolves when the stream has room again.
 */
export class StdoutSink<T> {
  private readonly stream: Writable & { isTTY?: boolean };
  private readonly human: boolean;
  written = 0;

  constructor(
    private readonly format: (record: T) => string = (record) => JSON.stringify(record),
    options: StdoutSinkOptions = {},
  ) {
    this.stream = options.stream ?? process.stdout;
    this.human = options.human ?? Boolean(this.stream.isTTY);
  }

  get isHuman(): boolean {
    return this.human;
  }

  async write(record: T): Promise<void> {
    this.written += 1;
    const line = `${this.human ? this.format(record) : JSON.stringify(record)}\n`;
    if (!this.stream.write(line)) {
      await new Promise<void>((resolve) => this.stream.once('drain', resolve));
    }
  }
}
