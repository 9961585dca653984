import { BehaviorSubject, firstValueFrom, from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CheckpointTracker } from '../../../src/checkpoint/tracker.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { kubeEventRecord, type OutRecord } from '../../../src/model/out-record.js';
import { compilePipelines } from '../../../src/pipeline/compile.js';
import { formatRecordLine } from '../../../src/sinks/record-lines.js';
import { SinkRouter } from '../../../src/sinks/router.js';
import { SinkOverflowError, type CloseResult, type Sink } from '../../../src/sinks/sink.js';
import { EMPTY_OBJECT_LOOKUP } from '../../../src/sources/object-lookup.js';
import { ev } from '../operators/helpers.js';
import { inline, silent } from '../pipeline/helpers.js';

/** A sink that records what it was given, with a writable state the test sets. */
class RecordingSink implements Sink {
  readonly written: OutRecord[] = [];
  readonly state = new BehaviorSubject(true);
  closed = 0;
  refuse: Error | null = null;
  constructor(readonly name: string) {}
  async write(record: OutRecord): Promise<void> {
    for (const p of record.positions ?? []) p.tracker.retain(p);
    if (this.refuse) throw this.refuse;
    this.written.push(record);
  }
  get writable$() {
    return this.state.asObservable();
  }
  drained(): boolean {
    return this.state.value;
  }
  async close(): Promise<CloseResult> {
    this.closed++;
    return { flushed: true, abandoned: this.written.length > 100 ? 1 : 0 };
  }
}

const pipeline = inline(`apiVersion: kubevents/v1
kind: Pipeline
metadata: {name: p}
spec:
  sinks:
    - kafka: {topic: k8s.events, encoding: raw}
    - file: {name: copy}
    - stdout: {format: line}
    - console
`);

describe('SinkRouter', () => {
  it('sends each pipeline record to the sink it names, in order; a replay registers its files for kafka too', async () => {
    const events = [ev({ at: 0, eventUid: 'e0' }), ev({ at: 1, eventUid: 'e1' })];
    const records = await lastValueFrom(
      from(events).pipe(compilePipelines([pipeline[0]!.graph], { lookup: EMPTY_OBJECT_LOOKUP, logger: silent, replay: true }), toArray()),
    );
    expect(records.map((r) => `${r.sink}:${r.target ?? '-'}`)).toEqual([
      'kafka:k8s.events',
      'file:copy',
      'stdout:line',
      'console:-',
      'kafka:k8s.events',
      'file:copy',
      'stdout:line',
      'console:-',
    ]);
    expect(records[0]).toMatchObject({
      kind: 'KubeEvent',
      value: events[0],
      key: 'c1/Pod/shop/web-1',
      idempotencyKey: events[0]!.idempotencyKey,
      timestamp: events[0]!.lastTimestamp,
      origin: { pipeline: 'p', branch: null },
    });

    const files = new RecordingSink('files');
    const stdout = new RecordingSink('stdout');
    const consoleSink = new RecordingSink('console');
    const errors: Error[] = [];
    const router = new SinkRouter({ kafka: files, file: files, stdout, console: consoleSink }, (e) => errors.push(e));
    for (const r of records) router.write(r);
    await new Promise((r) => setImmediate(r));
    expect(errors).toEqual([]);
    expect(files.written.map((r) => `${r.target}:${(r.value as KubeEvent).uid}`)).toEqual(['k8s.events:e0', 'copy:e0', 'k8s.events:e1', 'copy:e1']);
    expect(stdout.written).toHaveLength(2);
    // a sink registered under two names is closed once
    const result = await router.close(1_000);
    expect(result).toEqual({ flushed: true, abandoned: 0 });
    expect(files.closed).toBe(1);
  });

  it('a record for a sink the run does not have, or one a sink refuses, is an error with the record; its position is never acked', async () => {
    const tracker = new CheckpointTracker('events');
    const p = tracker.open('7');
    const errors: Array<[string, string]> = [];
    const kafka = new RecordingSink('kafka');
    kafka.refuse = new SinkOverflowError('full');
    const router = new SinkRouter({ kafka }, (e, r) => errors.push([e.message, r.kind]));
    router.write({ ...kubeEventRecord(ev({ at: 0 }), [p]), sink: 'stdout', origin: { pipeline: 'team', branch: null } });
    router.write(kubeEventRecord(ev({ at: 1 }), [p]));
    await new Promise((r) => setImmediate(r));
    tracker.close(p);
    expect(errors).toEqual([
      ['no stdout sink in this run for a KubeEvent record from pipeline team (sinks: kafka)', 'KubeEvent'],
      ['full', 'KubeEvent'],
    ]);
    expect(tracker.committed).toBeNull();
  });

  it('is writable while every sink is, including sinks added later, and drained when all are', async () => {
    const a = new RecordingSink('a');
    const b = new RecordingSink('b');
    const router = new SinkRouter({ a }, () => undefined);
    const states: boolean[] = [];
    const sub = router.writable$.subscribe((w) => states.push(w));
    a.state.next(false);
    a.state.next(true);
    router.add({ b });
    b.state.next(false);
    expect(router.drained()).toBe(false);
    b.state.next(true);
    expect(router.drained()).toBe(true);
    expect(states).toEqual([true, false, true, false, true]);
    expect(await firstValueFrom(router.writable$)).toBe(true);
    sub.unsubscribe();
  });

  it('console lines per record kind; other records as JSON', () => {
    const e = ev({ at: 0, reason: 'BackOff', message: 'boom' });
    expect(formatRecordLine('KubeEvent', e)).toContain('BackOff');
    expect(formatRecordLine('Projection', { reason: 'x' })).toBe('{"reason":"x"}');
  });
});
