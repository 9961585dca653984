import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import avro from 'avsc';
import { AvroBinaryEncoder, ConfluentEncoder, EncodeError, HEADERS, RecordDecoder, toAvroBinary } from '../../../src/avro/encodings.js';
import { ConfluentSchemaRegistry, valueSubject, type SchemaIdRegistry } from '../../../src/avro/registry.js';
import { loadSchema, parseSchema, LOGICAL_TYPES, type LoadedSchema } from '../../../src/avro/schemas.js';
import { decodeConfluentFrame, encodeConfluentFrame } from '../../../src/avro/wire-format.js';
import { deadLetterOf, gapRecordOf } from '../../../src/model/records.js';
import { sampleDeadLetter, sampleEvent, sampleGap, T0 } from '../../support/sample-records.js';
import { startFakeSchemaRegistry, type FakeSchemaRegistry } from '../../support/fake-schema-registry.js';

/** An in-memory registry: ids in registration order. */
class MemoryRegistry implements SchemaIdRegistry {
  byId = new Map<number, LoadedSchema>();
  calls = 0;
  async idFor(_subject: string, schema: LoadedSchema): Promise<number> {
    this.calls += 1;
    for (const [id, s] of this.byId) if (s.fingerprint === schema.fingerprint) return id;
    const id = 100 + this.byId.size;
    this.byId.set(id, schema);
    return id;
  }
  async writerType(id: number): Promise<avro.Type> {
    const s = this.byId.get(id);
    if (!s) throw new Error(`no schema ${id}`);
    return s.type;
  }
}

describe('Confluent wire format', () => {
  it('is magic byte 0, a 4-byte big-endian schema id, then the Avro binary', () => {
    const frame = encodeConfluentFrame(0x01020304, Buffer.from([0xaa, 0xbb]));
    expect([...frame]).toEqual([0, 1, 2, 3, 4, 0xaa, 0xbb]);
    expect(decodeConfluentFrame(frame)).toEqual({ schemaId: 0x01020304, payload: Buffer.from([0xaa, 0xbb]) });
  });

  it('refuses frames that are not in the format', () => {
    expect(() => decodeConfluentFrame(Buffer.from([1, 0, 0, 0, 1, 2]))).toThrow(/magic byte 1/);
    expect(() => decodeConfluentFrame(Buffer.from([0, 0, 0]))).toThrow(/at least 5/);
    expect(() => encodeConfluentFrame(-1, Buffer.alloc(0))).toThrow(RangeError);
  });
});

describe('Avro binary of kubevents records', () => {
  it('writes timestamp-millis as a long of epoch milliseconds (zig-zag varint)', () => {
    const schema = loadSchema('Gap');
    const gap = sampleGap(1); // fromTime null
    const bytes = toAvroBinary(schema, gap);
    // hand-encode: strings are (zigzag length, utf8), union index, long zigzag
    const long = avro.Type.forSchema('long');
    const expected = Buffer.concat([
      avro.Type.forSchema('string').toBuffer(gap.resource),
      avro.Type.forSchema('string').toBuffer(gap.fromResourceVersion),
      avro.Type.forSchema('string').toBuffer(gap.toResourceVersion),
      long.toBuffer(gap.detectedAt),
      Buffer.from([0]), // union branch 0 = null
      avro.Type.forSchema('string').toBuffer(gap.reason),
      avro.Type.forSchema('string').toBuffer(gap.cluster),
      avro.Type.forSchema('string').toBuffer(gap.idempotencyKey),
    ]);
    expect(bytes.equals(expected)).toBe(true);
    expect(schema.type.fromBuffer(bytes)).toEqual(gap);
  });

  it('reads times back as numbers, accepts Dates, rejects non-integers with the field path', () => {
    const schema = loadSchema('DeadLetter');
    const letter = sampleDeadLetter(0);
    const back = schema.type.fromBuffer(toAvroBinary(schema, { ...letter, time: new Date(letter.time) }));
    expect(back.time).toBe(letter.time);
    expect(typeof back.time).toBe('number');
    try {
      toAvroBinary(schema, { ...letter, time: 1.5 });
      expect.fail('should throw');
    } catch (error) {
      expect(error).toBeInstanceOf(EncodeError);
      expect((error as EncodeError).paths).toEqual(['time']);
    }
  });

  it('round-trips every sample KubeEvent, Gap and DeadLetter', () => {
    for (let i = 0; i < 24; i++) {
      const ke = loadSchema('KubeEvent');
      expect(ke.type.fromBuffer(toAvroBinary(ke, sampleEvent(i)))).toEqual(sampleEvent(i));
    }
    expect(loadSchema('Gap').type.fromBuffer(toAvroBinary(loadSchema('Gap'), sampleGap(2)))).toEqual(sampleGap(2));
    expect(loadSchema('DeadLetter').type.fromBuffer(toAvroBinary(loadSchema('DeadLetter'), sampleDeadLetter(3)))).toEqual(sampleDeadLetter(3));
  });

  it('fingerprints the Parsing Canonical Form (docs and defaults do not change it)', () => {
    const gap = loadSchema('Gap');
    const json = JSON.parse(gap.text) as { doc: string; fields: Array<{ doc?: string }> };
    json.doc = 'another description';
    for (const f of json.fields) delete f.doc;
    const reparsed = parseSchema('Gap', JSON.stringify(json));
    expect(reparsed.fingerprint).toBe(gap.fingerprint);
    expect(gap.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the model helpers behind Gap and DeadLetter', () => {
  it('gapRecordOf maps a GapMarker and makes a stable idempotency key', () => {
    const gap = gapRecordOf(
      { type: 'GAP', resource: 'v1/pods', fromResourceVersion: '10', toResourceVersion: '20', detectedAt: T0, fromTime: null, reason: '410' },
      'c9',
    );
    expect(gap.idempotencyKey).toBe('c9/v1/pods/10/20');
    expect(loadSchema('Gap').type.isValid(gap)).toBe(true);
  });

  it('deadLetterOf keeps any payload as text, truncated to the limit', () => {
    const dl = deadLetterOf({ reason: 'R', payload: { a: 1n }, error: new Error('boom'), stage: 'normalize', cluster: 'c', time: T0 });
    expect(dl.payload).toBe('{"a":"1"}');
    expect(dl.error).toBe('boom');
    const long = deadLetterOf({ reason: 'R', payload: 'x'.repeat(100), error: 'e', stage: 's', cluster: 'c', maxPayloadChars: 10 });
    expect(long).toMatchObject({ payload: 'x'.repeat(10), truncated: true });
    expect(loadSchema('DeadLetter').type.isValid(long)).toBe(true);
  });
});

describe('avro-binary encoding', () => {
  it('is the plain Avro binary with the writer fingerprint in a header, and decodes back', async () => {
    const schema = loadSchema('KubeEvent');
    const encoded = await new AvroBinaryEncoder().encode(schema, 'k8s.events', sampleEvent(3));
    expect(encoded.value.equals(schema.type.toBuffer(sampleEvent(3)))).toBe(true);
    expect(encoded.headers).toEqual({
      [HEADERS.encoding]: 'avro-binary',
      [HEADERS.schemaName]: 'io.kubevents.v1.KubeEvent',
      [HEADERS.fingerprint]: schema.fingerprint,
    });
    const decoded = await new RecordDecoder().decode(encoded.value, encoded.headers);
    expect(decoded).toEqual({ kind: 'KubeEvent', value: sampleEvent(3), encoding: 'avro-binary', writerFingerprint: schema.fingerprint });
  });

  it('decodes records written with an older schema version into the current one', async () => {
    const current = loadSchema('Gap');
    const oldJson = JSON.parse(current.text) as { fields: Array<{ name: string }> };
    oldJson.fields = oldJson.fields.filter((f) => f.name !== 'idempotencyKey' && f.name !== 'reason');
    const old = parseSchema('Gap.v0', JSON.stringify(oldJson));
    const { idempotencyKey: _k, reason: _r, ...oldGap } = sampleGap(0);
    const decoder = new RecordDecoder({ writers: [old, current] });
    const decoded = await decoder.decode(old.type.toBuffer(oldGap), { [HEADERS.fingerprint]: old.fingerprint });
    expect(decoded.value).toEqual({ ...oldGap, reason: '', idempotencyKey: '' });
  });

  it('refuses an unknown fingerprint and a value without any encoding hint', async () => {
    const decoder = new RecordDecoder();
    await expect(decoder.decode(Buffer.from([0]), { [HEADERS.fingerprint]: 'ff'.repeat(32) })).rejects.toThrow(/unknown writer schema/);
    await expect(decoder.decode(Buffer.from([0]), {})).rejects.toThrow(/cannot tell the encoding/);
  });
});

describe('confluent encoding', () => {
  it('frames the Avro binary with the registry id of the subject <topic>-value, resolving it once', async () => {
    const registry = new MemoryRegistry();
    const encoder = new ConfluentEncoder(registry);
    const schema = loadSchema('KubeEvent');
    const a = await encoder.encode(schema, 'k8s.events', sampleEvent(1));
    const b = await encoder.encode(schema, 'k8s.events', sampleEvent(2));
    expect(registry.calls).toBe(1);
    expect([...a.value.subarray(0, 5)]).toEqual([0, 0, 0, 0, 100]);
    expect(a.value.subarray(5).equals(schema.type.toBuffer(sampleEvent(1)))).toBe(true);
    expect(a.headers).toMatchObject({ [HEADERS.encoding]: 'confluent', [HEADERS.subject]: 'k8s.events-value', [HEADERS.schemaId]: '100' });
    const decoder = new RecordDecoder({ registry });
    expect((await decoder.decode(b.value, b.headers)).value).toEqual(sampleEvent(2));
    // without headers too: the magic byte is enough when a registry is configured
    expect(await decoder.decode(a.value)).toMatchObject({ kind: 'KubeEvent', schemaId: 100, encoding: 'confluent', value: sampleEvent(1) });
  });

  it('validates before touching the registry', async () => {
    const registry = new MemoryRegistry();
    await expect(new ConfluentEncoder(registry).encode(loadSchema('Gap'), 't', { resource: 1 })).rejects.toBeInstanceOf(EncodeError);
    expect(registry.calls).toBe(0);
  });

  describe('with @kafkajs/confluent-schema-registry against a registry over HTTP', () => {
    let fake: FakeSchemaRegistry;
    beforeAll(async () => {
      fake = await startFakeSchemaRegistry();
    });
    afterAll(async () => fake.close());

    it('registers under <topic>-value, caches ids, and decodes with our timestamp-millis', async () => {
      const registry = new ConfluentSchemaRegistry({ url: fake.url, compatibility: 'BACKWARD' });
      const encoder = new ConfluentEncoder(registry);
      const events = loadSchema('KubeEvent');
      const gaps = loadSchema('Gap');
      const e1 = await encoder.encode(events, 'k8s.events', sampleEvent(6));
      const e2 = await encoder.encode(events, 'k8s.events', sampleEvent(7));
      const g1 = await encoder.encode(gaps, 'k8s.gaps', sampleGap(0));
      expect(fake.requests.filter((r) => r.startsWith('POST /subjects/k8s.events-value/versions'))).toHaveLength(1);
      expect(fake.requests).toContain('PUT /config/k8s.events-value');
      expect(decodeConfluentFrame(e1.value).schemaId).toBe(1);
      expect(decodeConfluentFrame(g1.value).schemaId).toBe(2);
      expect(fake.schemas.get(1)).toBe(events.text); // the .avsc text as published, docs included

      // a fresh decoder learns schemas by id from the registry
      const decoder = new RecordDecoder({ registry: new ConfluentSchemaRegistry({ url: fake.url }) });
      const d2 = await decoder.decode(e2.value, {});
      expect(d2.value).toEqual(sampleEvent(7));
      expect(typeof (d2.value as { lastTimestamp: unknown }).lastTimestamp).toBe('number');
      expect((await decoder.decode(g1.value, g1.headers)).value).toEqual(sampleGap(0));
      expect(fake.requests.filter((r) => r === 'GET /schemas/ids/1')).toHaveLength(1);

      // the library's own decode path honours our logical type too (as a consumer might use it)
      const { SchemaRegistry } = await import('@kafkajs/confluent-schema-registry');
      const lib = new SchemaRegistry({ host: fake.url }, { AVRO: { logicalTypes: LOGICAL_TYPES } });
      expect(await lib.decode(e1.value)).toEqual(sampleEvent(6));
    });

    it('with autoRegister=false looks the schema up and fails clearly when it is not registered', async () => {
      const registry = new ConfluentSchemaRegistry({ url: fake.url, autoRegister: false });
      const encoder = new ConfluentEncoder(registry);
      const found = await encoder.encode(loadSchema('KubeEvent'), 'k8s.events', sampleEvent(1));
      expect(decodeConfluentFrame(found.value).schemaId).toBe(1);
      expect(fake.requests).toContain('POST /subjects/k8s.events-value');
      await expect(encoder.encode(loadSchema('DeadLetter'), 'k8s.deadletter', sampleDeadLetter(0))).rejects.toThrow(
        /cannot look up DeadLetter under subject k8s.deadletter-value/,
      );
      expect(valueSubject('x')).toBe('x-value');
    });
  });
});
