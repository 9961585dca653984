import { Observable, type OperatorFunction } from 'rxjs';

/** What `writeTo` needs: KafkaSink, StdoutSink-like sinks. */
export interface WritableSink<T> {
  /** Resolves when the record is accepted (there was room); rejects when it cannot be. */
  write(record: T): Promise<void>;
  /** Resolves when everything written so far is delivered. */
  flush?(): Promise<void>;
}

/**
 * The end of a pipeline: writes every record to the sink. Emits nothing; completes when the input
 * completed and the sink flushed; errors when the input errors or a write is refused (e.g. the
 * sink's buffer and waiting room are full because the input ignores backpressure: loud, never a
 * silent drop; the checkpoint stays before the refused record, so a restart replays it).
 *
 * Backpressure: an RxJS source cannot be paused from downstream, so the sink's bounded buffer plus
 * bounded waiting writes cap memory; sources that can pause (a watch stream) should follow
 * `KafkaSink.writable$` / `whenWritable()` so the cap is never hit.
 */
export function writeTo<T>(sink: WritableSink<T>): OperatorFunction<T, never> {
  return (source) =>
    new Observable<never>((subscriber) => {
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        subscriber.error(error);
      };
      const subscription = source.subscribe({
        next: (record) => {
          if (failed) return;
          sink.write(record).catch(fail);
        },
        error: fail,
        complete: () => {
          const flushed = sink.flush ? sink.flush() : Promise.resolve();
          flushed.then(() => {
            if (!failed) subscriber.complete();
          }, fail);
        },
      });
      return () => subscription.unsubscribe();
    });
}
