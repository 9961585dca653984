import { Registry } from 'prom-client';
import { Subject, firstValueFrom, lastValueFrom, from, defaultIfEmpty } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { AvroBinaryEncoder, ConfluentEncoder, HEADERS, RecordDecoder } from '../../../src/avro/encodings.js';
import type { LoadedSchema } from '../../../src/avro/schemas.js';
import { headersToStrings, type ProducerBatch, type RecordMetadata } from '../../../src/kafka/client.js';
import { CheckpointTracker } from '../../../src/checkpoint/tracker.js';
import { gapRecord, kubeEventRecord, type OutRecord } from '../../../src/model/out-record.js';
import { KafkaSink, type KafkaSinkOptions, type SinkProducer } from '../../../src/sinks/kafka-sink.js';
import { SinkClosedError, SinkOverflowError } from '../../../src/sinks/sink.js';
import { writeTo } from '../../../src/sinks/write-to.js';
import { sampleEvent, sampleGap } from '../../support/sample-records.js';

/** A producer whose sends resolve only when the test says so (or at once with autoAck). */
class FakeProducer implements SinkProducer {
  batches: ProducerBatch[] = [];
  pending: Array<{ batch: ProducerBatch; resolve: (m: RecordMetadata[]) => void; reject: (e: Error) => void }> = [];
  failNext = 0;
  failWith: () => Error = () => new Error('broker down');
  constructor(public autoAck = true) {}
  /** batches the "broker" accepted, in order */
  acked: ProducerBatch[] = [];
  /** set when a batch shares a key with a batch still in flight */
  keyOverlap = false;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.batches.push(batch);
    const keys = new Set(keysOf(batch));
    if (this.pending.some((p) => keysOf(p.batch).some((k) => keys.has(k)))) this.keyOverlap = true;
    if (this.failNext > 0) {
      this.failNext -= 1;
      return Promise.reject(this.failWith());
    }
    if (this.autoAck) {
      this.acked.push(batch);
      return Promise.resolve([]);
    }
    return new Promise((resolve, reject) => this.pending.push({ batch, resolve, reject }));
  }
  ackAll(): void {
    const p = this.pending;
    this.pending = [];
    for (const x of p) {
      this.acked.push(x.batch);
      x.resolve([]);
    }
  }
  /** from now on ack everything, including what is pending */
  drain(): void {
    this.autoAck = true;
    this.ackAll();
  }
  messages(): Array<{ topic: string; key: string; headers: Record<string, string>; value: Buffer }> {
    return this.acked.flatMap((b) =>
      (b.topicMessages ?? []).flatMap((tm) =>
        tm.messages.map((m) => ({ topic: tm.topic, key: String(m.key), headers: headersToStrings(m.headers), value: m.value as Buffer })),
      ),
    );
  }
}

function keysOf(batch: ProducerBatch): string[] {
  return (batch.topicMessages ?? []).flatMap((tm) => tm.messages.map((m) => String(m.key)));
}

function sink(producer: SinkProducer, options: Partial<KafkaSinkOptions> = {}): KafkaSink {
  return new KafkaSink({
    producer,
    encoder: new AvroBinaryEncoder(),
    cluster: 'c1',
    pipeline: 'p1',
    registry: new Registry(),
    batch: { lingerMs: 1 },
    retryBackoff: { initialMs: 1, maxMs: 5 },
    ...options,
  });
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('KafkaSink', () => {
  it('sends keyed, headed records per kind to their topics with acks=all, and they decode back', async () => {
    const producer = new FakeProducer();
    const s = sink(producer);
    await s.write(kubeEventRecord(sampleEvent(1)));
    await s.write(gapRecord(sampleGap(0)));
    await s.flush();
    expect(producer.batches[0]).toMatchObject({ acks: -1 });
    const msgs = producer.messages();
    expect(msgs.map((m) => m.topic)).toEqual(['k8s.events', 'k8s.gaps']);
    expect(msgs[0]?.key).toBe('c1/Pod/shop/web-1');
    expect(msgs[0]?.headers).toMatchObject({
      [HEADERS.cluster]: 'c1',
      [HEADERS.pipeline]: 'p1',
      [HEADERS.kind]: 'KubeEvent',
      [HEADERS.idempotencyKey]: sampleEvent(1).idempotencyKey,
      [HEADERS.encoding]: 'avro-binary',
    });
    const decoder = new RecordDecoder();
    expect((await decoder.decode(msgs[0]!.value, msgs[0]!.headers)).value).toEqual(sampleEvent(1));
    expect((await decoder.decode(msgs[1]!.value, msgs[1]!.headers)).value).toEqual(sampleGap(0));
    expect(s.delivered).toBe(2);
  });

  it('sends a record with its own topic there (a pipeline sink), the others by kind; dead letters still to the dead-letter topic', async () => {
    const producer = new FakeProducer();
    const tracker = new CheckpointTracker('events');
    const s = sink(producer);
    const p = tracker.open('7');
    await s.write({ ...kubeEventRecord(sampleEvent(1), [p]), target: 'team.warnings' });
    await s.write(kubeEventRecord(sampleEvent(2), [p]));
    const bad: OutRecord = { ...kubeEventRecord(sampleEvent(3), [p]), value: { ...sampleEvent(3), count: 'many' }, target: 'team.warnings' };
    await s.write(bad);
    tracker.close(p);
    await s.flush();
    const msgs = producer.messages();
    expect(msgs.map((m) => m.topic)).toEqual(['team.warnings', 'k8s.events', 'k8s.deadletter']);
    expect((await new RecordDecoder().decode(msgs[0]!.value, msgs[0]!.headers)).value).toEqual(sampleEvent(1));
    expect(msgs[0]?.headers[HEADERS.kind]).toBe('KubeEvent');
    expect(tracker.committed).toBe('7');
  });

  it('registers the Confluent subject <topic>-value of a per-record topic, at prepare() for the routes given and lazily otherwise', async () => {
    const asked: string[] = [];
    const ids = new Map<string, number>();
    const registry = {
      idFor: async (subject: string, _schema: LoadedSchema) => {
        asked.push(subject);
        if (!ids.has(subject)) ids.set(subject, ids.size + 1);
        return ids.get(subject)!;
      },
      writerType: async () => {
        throw new Error('not used');
      },
    };
    const producer = new FakeProducer();
    const s = sink(producer, { encoder: new ConfluentEncoder(registry) });
    await s.prepare(['KubeEvent'], [{ kind: 'Alert', topic: 'team.alerts' }]);
    expect(asked).toEqual(['k8s.events-value', 'team.alerts-value']);
    await s.write({ ...kubeEventRecord(sampleEvent(1)), target: 'team.warnings' });
    await s.write(kubeEventRecord(sampleEvent(2)));
    await s.flush();
    expect(asked).toEqual(['k8s.events-value', 'team.alerts-value', 'team.warnings-value']);
    const msgs = producer.messages();
    expect(msgs.map((m) => [m.topic, m.headers[HEADERS.subject]])).toEqual([
      ['team.warnings', 'team.warnings-value'],
      ['k8s.events', 'k8s.events-value'],
    ]);
  });

  it('batches by record count and by linger time', async () => {
    const producer = new FakeProducer();
    const s = sink(producer, { batch: { maxRecords: 10, lingerMs: 30 } });
    for (let i = 0; i < 25; i++) void s.write(kubeEventRecord(sampleEvent(i)));
    await tick(5);
    expect(producer.batches.map((b) => b.topicMessages?.[0]?.messages.length)).toEqual([10, 10]);
    await tick(60);
    expect(producer.batches.map((b) => b.topicMessages?.[0]?.messages.length)).toEqual([10, 10, 5]);
  });

  it('pushes back when the buffer is full and refuses (never drops) past the waiting room', async () => {
    const producer = new FakeProducer(false);
    const registry = new Registry();
    const s = sink(producer, { maxBufferedRecords: 3, maxWaitingWrites: 2, registry });
    const states: boolean[] = [];
    s.writable$.subscribe((w) => states.push(w));
    const accepted: number[] = [];
    const writes = [0, 1, 2, 3, 4].map((i) => s.write(kubeEventRecord(sampleEvent(i))).then(() => accepted.push(i)));
    await tick();
    expect(accepted).toEqual([0, 1, 2]);
    expect(s.buffered).toMatchObject({ records: 3, waiting: 2 });
    const tracker = new CheckpointTracker('events');
    const refused = tracker.open('5');
    await expect(s.write(kubeEventRecord(sampleEvent(5), [refused]))).rejects.toBeInstanceOf(SinkOverflowError);
    tracker.close(refused);
    expect(tracker.committed).toBeNull(); // never passes a refused record
    expect(await registry.getSingleMetricAsString('kubevents_sink_records_dropped_total')).toContain('reason="overflow"} 1');
    expect(await registry.getSingleMetricAsString('kubevents_sink_buffered_records')).toContain('} 3');
    producer.ackAll();
    await Promise.all(writes);
    expect(accepted).toEqual([0, 1, 2, 3, 4]);
    producer.ackAll();
    await tick();
    producer.ackAll();
    await s.flush();
    expect(s.delivered).toBe(5);
    expect(states[0]).toBe(true);
    expect(states).toContain(false);
    expect(states[states.length - 1]).toBe(true);
  });

  it('retries failed batches until acknowledged; acks positions only then; nothing lost', async () => {
    const producer = new FakeProducer();
    producer.failNext = 3;
    const tracker = new CheckpointTracker('events');
    // one batch of exactly the 3 records, whatever the machine's load (a 1 ms linger could split it)
    const s = sink(producer, { batch: { maxRecords: 3, lingerMs: 60_000 } });
    const positions = [0, 1, 2].map((i) => tracker.open(String(i)));
    for (const [i, p] of positions.entries()) {
      await s.write(kubeEventRecord(sampleEvent(i), [p]));
      tracker.close(p);
    }
    expect(tracker.committed).toBeNull();
    await s.flush();
    expect(tracker.committed).toBe('2');
    expect(producer.batches.length).toBe(4);
    expect(s.delivered).toBe(3);
  });

  it('keeps one key out of two batches in flight, so per-key order holds with concurrency', async () => {
    const producer = new FakeProducer(false);
    const s = sink(producer, { maxInFlightBatches: 4, batch: { maxRecords: 2, lingerMs: 50 } });
    // 2 objects (web-0, web-1): records alternate keys
    for (let i = 0; i < 8; i++) void s.write(kubeEventRecord(sampleEvent(i, { objects: 2 })));
    await tick();
    // the first batch takes web-0 and web-1; every later record has a key in flight
    expect(producer.pending).toHaveLength(1);
    producer.ackAll();
    await tick();
    expect(producer.pending).toHaveLength(1);
    while (producer.pending.length) {
      producer.ackAll();
      await tick();
    }
    await s.flush();
    expect(producer.keyOverlap).toBe(false);
    const order = producer.messages().map((m) => m.headers[HEADERS.idempotencyKey]);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => sampleEvent(i, { objects: 2 }).idempotencyKey));
  });

  it('sends different keys concurrently, never one key in two batches, in order per key', async () => {
    const producer = new FakeProducer(false);
    const s = sink(producer, { maxInFlightBatches: 3, batch: { maxRecords: 4, lingerMs: 0 } });
    for (let i = 0; i < 60; i++) void s.write(kubeEventRecord(sampleEvent(i, { objects: 9 })));
    await tick();
    expect(producer.pending).toHaveLength(3);
    // ack in a scrambled order for a while
    for (let round = 0; round < 10 && producer.pending.length; round++) {
      const [x] = producer.pending.splice(round % producer.pending.length, 1);
      producer.acked.push(x!.batch);
      x!.resolve([]);
      await tick(1);
    }
    producer.drain();
    await s.flush();
    expect(producer.keyOverlap).toBe(false);
    const perKey = new Map<string, string[]>();
    for (const m of producer.messages()) perKey.set(m.key, [...(perKey.get(m.key) ?? []), m.headers[HEADERS.idempotencyKey] as string]);
    for (const [key, ids] of perKey) {
      const expected = Array.from({ length: 60 }, (_, i) => sampleEvent(i, { objects: 9 }))
        .filter((e) => `c1/Pod/shop/${e.regarding.name}` === key)
        .map((e) => e.idempotencyKey);
      expect(ids).toEqual(expected);
    }
    expect(s.delivered).toBe(60);
  });

  it('turns a record that does not match its schema into a DeadLetter with the same key and positions', async () => {
    const producer = new FakeProducer();
    const registry = new Registry();
    const tracker = new CheckpointTracker('events');
    const s = sink(producer, { registry });
    const p = tracker.open('9');
    const bad: OutRecord = { ...kubeEventRecord(sampleEvent(1), [p]), value: { ...sampleEvent(1), count: 'many' } };
    await s.write(bad);
    tracker.close(p);
    await s.flush();
    const [m] = producer.messages();
    expect(m?.topic).toBe('k8s.deadletter');
    expect(m?.key).toBe(bad.key);
    const letter = (await new RecordDecoder().decode(m!.value, m!.headers)).value as Record<string, unknown>;
    expect(letter).toMatchObject({ reason: 'SchemaMismatch', stage: 'kafka-sink', pipeline: 'p1', cluster: 'c1' });
    expect(String(letter.error)).toContain('count');
    expect(String(letter.payload)).toContain('"count":"many"');
    expect(tracker.committed).toBe('9');
    expect(await registry.getSingleMetricAsString('kubevents_sink_records_dead_lettered_total')).toContain('reason="SchemaMismatch"} 1');
  });

  it('with deadLetterOnEncodeError=false rejects the write and holds the checkpoint', async () => {
    const tracker = new CheckpointTracker('events');
    const s = sink(new FakeProducer(), { deadLetterOnEncodeError: false });
    const p = tracker.open('1');
    await expect(s.write({ ...kubeEventRecord(sampleEvent(1), [p]), value: {} })).rejects.toThrow(/does not match/);
    tracker.close(p);
    await s.flush();
    expect(tracker.committed).toBeNull();
  });

  it('splits a batch the broker refuses as too large, and dead-letters the single record that still is', async () => {
    const producer = new FakeProducer();
    const huge = 'x'.repeat(50_000);
    const tooLarge = Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' });
    const inner = producer.sendBatch.bind(producer);
    producer.sendBatch = (batch) => {
      const hasHuge = (batch.topicMessages ?? []).some((tm) => tm.messages.some((m) => (m.value as Buffer).length > 40_000));
      return hasHuge ? (producer.batches.push(batch), Promise.reject(tooLarge)) : inner(batch);
    };
    const s = sink(producer, { batch: { maxRecords: 10, lingerMs: 1 } });
    for (let i = 0; i < 4; i++) {
      const e = sampleEvent(i);
      void s.write(kubeEventRecord(i === 2 ? { ...e, message: huge } : e));
    }
    await s.flush();
    const delivered = producer.messages();
    const byTopic = (t: string) => new Set(delivered.filter((m) => m.topic === t).map((m) => m.headers[HEADERS.idempotencyKey]));
    expect(byTopic('k8s.events')).toEqual(new Set([0, 1, 3].map((i) => sampleEvent(i).idempotencyKey)));
    expect(byTopic('k8s.deadletter')).toEqual(new Set([sampleEvent(2).idempotencyKey]));
    expect(s.delivered).toBe(4);
  });

  it('close() flushes within the deadline; past it, gives up without acking positions', async () => {
    const producer = new FakeProducer(false);
    const registry = new Registry();
    const tracker = new CheckpointTracker('events');
    const s = sink(producer, { registry });
    const p = tracker.open('1');
    await s.write(kubeEventRecord(sampleEvent(1), [p]));
    tracker.close(p);
    const result = await s.close(30);
    expect(result).toEqual({ flushed: false, abandoned: 1 });
    expect(tracker.committed).toBeNull();
    expect(await registry.getSingleMetricAsString('kubevents_sink_records_dropped_total')).toContain('reason="shutdown"} 1');
    const late = tracker.open('2');
    await expect(s.write(kubeEventRecord(sampleEvent(2), [late]))).rejects.toBeInstanceOf(SinkClosedError);
    tracker.close(late);
    expect(tracker.committed).toBeNull(); // a refused record holds the checkpoint

    const ok = sink(new FakeProducer());
    await ok.write(kubeEventRecord(sampleEvent(1)));
    expect(await ok.close(1000)).toEqual({ flushed: true, abandoned: 0 });
  });
});

describe('KafkaSink backpressure signals', () => {
  it('whenWritable() resolves once there is room again, and at close', async () => {
    const producer = new FakeProducer(false);
    const s = sink(producer, { maxBufferedRecords: 2 });
    void s.write(kubeEventRecord(sampleEvent(0)));
    void s.write(kubeEventRecord(sampleEvent(1)));
    await tick();
    expect(s.hasRoom).toBe(false);
    let woke = false;
    const waiting = s.whenWritable().then(() => (woke = true));
    await tick();
    expect(woke).toBe(false);
    producer.ackAll();
    await waiting;
    expect(s.hasRoom).toBe(true);

    void s.write(kubeEventRecord(sampleEvent(2)));
    void s.write(kubeEventRecord(sampleEvent(3)));
    await tick();
    const atClose = s.whenWritable();
    producer.drain();
    await s.close(1000);
    await atClose;
  });

  it('close() still delivers writes that were waiting for room when it was called', async () => {
    const producer = new FakeProducer(false);
    const tracker = new CheckpointTracker('events');
    const s = sink(producer, { maxBufferedRecords: 2 });
    const writes = [0, 1, 2, 3, 4].map((i) => {
      const p = tracker.open(String(i));
      const w = s.write(kubeEventRecord(sampleEvent(i), [p]));
      tracker.close(p);
      return w;
    });
    await tick();
    expect(s.buffered.waiting).toBe(3);
    const closing = s.close(5000);
    await expect(s.write(kubeEventRecord(sampleEvent(9)))).rejects.toBeInstanceOf(SinkClosedError);
    producer.drain();
    expect(await closing).toEqual({ flushed: true, abandoned: 0 });
    await Promise.all(writes);
    expect(s.delivered).toBe(5);
    expect(tracker.committed).toBe('4');
  });
});

describe('writeTo', () => {
  it('writes every record, completes after the flush', async () => {
    const producer = new FakeProducer();
    const s = sink(producer);
    const done = await lastValueFrom(from([0, 1, 2].map((i) => kubeEventRecord(sampleEvent(i)))).pipe(writeTo(s), defaultIfEmpty('done')));
    expect(done).toBe('done');
    expect(s.delivered).toBe(3);
  });

  it('errors the stream when the input ignores backpressure past the waiting room', async () => {
    const producer = new FakeProducer(false);
    const s = sink(producer, { maxBufferedRecords: 2, maxWaitingWrites: 2 });
    const input = new Subject<OutRecord>();
    const result = firstValueFrom(input.pipe(writeTo(s)), { defaultValue: 'completed' });
    for (let i = 0; i < 10; i++) input.next(kubeEventRecord(sampleEvent(i)));
    await expect(result).rejects.toBeInstanceOf(SinkOverflowError);
  });
});
