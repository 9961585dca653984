/**
 * The router: every record goes to the sink it names (`OutRecord.sink`, default `kafka`). Replay
 * and the live run share it and differ only in the sinks they register: a replay registers its
 * Avro files under `kafka` too, so `kafka: {topic: k8s.alerts}` lands in `<out>/k8s.alerts.avro`.
 *
 * Writes are dispatched at once and in order (each sink keeps the order of its writes); a write a
 * sink refuses is reported to `onError` with the record, never dropped silently. The router is
 * writable while every registered sink is, so a job pauses its input when any one of them is full.
 */
import { BehaviorSubject, combineLatest, distinctUntilChanged, map, of, switchMap, type Observable } from 'rxjs';
import type { OutRecord } from '../model/out-record.js';
import type { CloseResult, Sink } from './sink.js';

export const DEFAULT_SINK = 'kafka';

export class SinkRouter {
  private readonly byName = new Map<string, Sink>();
  /** Each sink once, though it may be registered under several names. */
  private readonly distinct = new BehaviorSubject<readonly Sink[]>([]);

  constructor(
    sinks: Readonly<Record<string, Sink>>,
    private readonly onError: (error: Error, record: OutRecord) => void,
  ) {
    this.add(sinks);
  }

  /** Registers more sinks (a reload that uses a sink type for the first time); a name already registered keeps its sink. */
  add(sinks: Readonly<Record<string, Sink>>): void {
    for (const [name, sink] of Object.entries(sinks)) if (!this.byName.has(name)) this.byName.set(name, sink);
    const distinct = [...new Set(this.byName.values())];
    if (distinct.length !== this.distinct.value.length) this.distinct.next(distinct);
  }

  /** The names registered. */
  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** The sink registered under `name`. */
  sink(name: string): Sink | undefined {
    return this.byName.get(name);
  }

  write(record: OutRecord): void {
    const name = record.sink ?? DEFAULT_SINK;
    const sink = this.byName.get(name);
    if (!sink) {
      // never acked: the checkpoint stays before it
      for (const p of record.positions ?? []) p.tracker.retain(p);
      const from = record.origin ? ` from pipeline ${record.origin.pipeline}` : '';
      this.onError(new Error(`no ${name} sink in this run for a ${record.kind} record${from} (sinks: ${[...this.byName.keys()].join(', ')})`), record);
      return;
    }
    sink.write(record).catch((error: unknown) => this.onError(error instanceof Error ? error : new Error(String(error)), record));
  }

  /** true while every sink is writable. */
  get writable$(): Observable<boolean> {
    return this.distinct.pipe(
      switchMap((sinks) => (sinks.length === 0 ? of([true]) : combineLatest(sinks.map((s) => s.writable$)))),
      map((states) => states.every(Boolean)),
      distinctUntilChanged(),
    );
  }

  /** true when every sink has drained enough for a paused input to resume. */
  drained(): boolean {
    return this.distinct.value.every((s) => s.drained());
  }

  /** Closes every sink at once within the deadline. */
  async close(deadlineMs: number): Promise<CloseResult> {
    const results = await Promise.all(this.distinct.value.map((s) => s.close(deadlineMs)));
    this.distinct.complete();
    return { flushed: results.every((r) => r.flushed), abandoned: results.reduce((n, r) => n + r.abandoned, 0) };
  }
}
