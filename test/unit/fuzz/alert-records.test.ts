/**
 * Fuzzing of the alert consumer's decoder (src/avro/encodings.ts RecordDecoder, as the alert sinks
 * use it with src/alerting/service.ts isTransientDecodeError): random bytes, valid records with
 * bytes flipped, cut or added, a wrong magic byte, an unknown schema id, a record of a foreign
 * schema, a valid record of another kubevents kind, and headers of any value; against a Schema
 * Registry served over HTTP. Properties: decoding ends within a time bound with a record of a
 * kubevents kind or an UndecodableError that is never taken for a passing registry problem (so it
 * is dead-lettered at once instead of retried for ever), its message short; valid records
 * round-trip in both encodings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AvroBinaryEncoder, ConfluentEncoder, HEADERS, RecordDecoder, UndecodableError, type EncodedValue } from '../../../src/avro/encodings.js';
import { ConfluentSchemaRegistry } from '../../../src/avro/registry.js';
import { loadSchema, parseSchema, RECORD_KINDS } from '../../../src/avro/schemas.js';
import { isTransientDecodeError } from '../../../src/alerting/service.js';
import { notificationOf } from '../../../src/alerting/notification.js';
import { sampleEvent } from '../../support/sample-records.js';
import { sampleAlert, sampleIncident } from '../alerting/fixtures.js';
import { startFakeSchemaRegistry, type FakeSchemaRegistry } from '../../support/fake-schema-registry.js';
import { boundedAsync, corpus, fuzzParameters, fuzzTimeout, mutatedBytes } from '../../support/fuzz.js';

let fake: FakeSchemaRegistry;
let decoder: RecordDecoder;
const valid: Array<{ kind: string; value: unknown; encoded: EncodedValue }> = [];
let foreignId = 0;

beforeAll(async () => {
  fake = await startFakeSchemaRegistry();
  const registry = new ConfluentSchemaRegistry({ url: fake.url, retries: 0 });
  decoder = new RecordDecoder({ registry });
  const confluent = new ConfluentEncoder(registry);
  const raw = new AvroBinaryEncoder();
  const records: Array<[string, unknown]> = [
    ['Alert', sampleAlert()],
    ['Alert', sampleAlert({ status: 'resolved', endsAt: 1, containers: [], sampleMessages: [] })],
    ['Incident', sampleIncident()],
    ['KubeEvent', sampleEvent(1)],
  ];
  for (const [kind, value] of records) {
    for (const encoder of [confluent, raw]) valid.push({ kind, value, encoded: await encoder.encode(loadSchema(kind), 'k8s.alerts', value) });
  }
  const foreign = parseSchema('Order', JSON.stringify({ type: 'record', name: 'com.acme.Order', fields: [{ name: 'id', type: 'string' }] }));
  foreignId = await registry.idFor('orders-value', foreign);
});
afterAll(() => fake.close());

type Outcome = { kind: string; value: unknown } | UndecodableError;

async function decode(value: Buffer, headers: Record<string, string>): Promise<Outcome> {
  return boundedAsync(2_000, async () => {
    try {
      return await decoder.decode(value, headers);
    } catch (error) {
      // a value that cannot be decoded must be dead-lettered, not retried as if the registry were down
      expect(isTransientDecodeError(error), String(error)).toBe(false);
      expect(error).toBeInstanceOf(UndecodableError);
      expect((error as Error).message.length).toBeLessThan(1_000);
      return error as UndecodableError;
    }
  });
}

function expectKnown(outcome: Outcome): void {
  if (outcome instanceof UndecodableError) return;
  expect(RECORD_KINDS).toContain(outcome.kind);
}

const headerValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('confluent', 'avro-binary', 'network', 'ECONNREFUSED', 'timed out', 'x'.repeat(100_000)),
);
const headersArb = fc.oneof(
  fc.constant({}),
  fc.record({ [HEADERS.encoding]: headerValue }, { requiredKeys: [] }),
  fc.record({ [HEADERS.encoding]: headerValue, [HEADERS.fingerprint]: headerValue }, { requiredKeys: [] }),
  fc.dictionary(fc.constantFrom(...Object.values(HEADERS)), headerValue, { maxKeys: 4 }),
);

describe('the alert consumer decoder under fuzzing', () => {
  it('valid records round-trip in both encodings; a KubeEvent on an alert topic decodes as a KubeEvent and is skipped', async () => {
    for (const v of valid) {
      const out = await decode(v.encoded.value, v.encoded.headers);
      if (out instanceof UndecodableError) throw out;
      expect(out.kind).toBe(v.kind);
      expect(out.value).toEqual(v.value);
      // what the service does with it: a notification for Alerts and Incidents, a counted skip for the rest
      expect(notificationOf(out.kind, out.value) === null).toBe(v.kind !== 'Alert' && v.kind !== 'Incident');
    }
  });

  it('a wrong magic byte, an unknown schema id, a foreign schema, a header that says "network": dead letters, not retries', async () => {
    const confluentAlert = valid.find((v) => v.kind === 'Alert' && v.encoded.headers[HEADERS.encoding] === 'confluent')!.encoded;
    const wrongMagic = Buffer.from(confluentAlert.value);
    wrongMagic[0] = 1;
    expect(await decode(wrongMagic, { [HEADERS.encoding]: 'confluent' })).toBeInstanceOf(UndecodableError);
    const unknownId = Buffer.from(confluentAlert.value);
    unknownId.writeInt32BE(987_654, 1);
    expect(await decode(unknownId, confluentAlert.headers)).toBeInstanceOf(UndecodableError);
    const negativeId = Buffer.from(confluentAlert.value);
    negativeId.writeInt32BE(-5, 1);
    expect(await decode(negativeId, confluentAlert.headers)).toBeInstanceOf(UndecodableError);
    const foreign = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), Buffer.from([6, 0x61, 0x62, 0x63])]);
    foreign.writeInt32BE(foreignId, 1);
    expect(await decode(foreign, { [HEADERS.encoding]: 'confluent' })).toBeInstanceOf(UndecodableError);
    for (const word of ['network', 'ECONNREFUSED', 'timed out']) {
      expect(await decode(Buffer.from([0]), { [HEADERS.encoding]: word })).toBeInstanceOf(UndecodableError);
      expect(await decode(Buffer.from([0]), { [HEADERS.fingerprint]: word })).toBeInstanceOf(UndecodableError);
    }
  });

  const inputs = corpus('alert-records');
  it.each(inputs.map((i) => [i.file, i.bytes] as const))(
    'corpus input %s (test/fixtures/fuzz/alert-records/): every encoding header, bounded time',
    async (_file, bytes) => {
      const alert = loadSchema('Alert').fingerprint;
      const headerSets: Array<Record<string, string>> = [
        { [HEADERS.encoding]: 'avro-binary', [HEADERS.fingerprint]: alert },
        { [HEADERS.encoding]: 'confluent' },
        {},
      ];
      for (const headers of headerSets) {
        expectKnown(await decode(bytes, headers));
      }
    },
  );

  it(
    'random bytes with any headers',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), headersArb, async (bytes, headers) => expectKnown(await decode(Buffer.from(bytes), headers))),
        fuzzParameters(300),
      );
    },
    fuzzTimeout(300),
  );

  it(
    'valid records with bytes flipped, cut, added: a record of a kubevents kind or an UndecodableError, in bounded time',
    async () => {
      const arb = fc
        .nat(valid.length - 1)
        .chain((i) => mutatedBytes([valid[i]!.encoded.value]).map((bytes) => ({ bytes, headers: valid[i]!.encoded.headers })));
      await fc.assert(
        fc.asyncProperty(arb, async ({ bytes, headers }) => expectKnown(await decode(bytes, headers))),
        fuzzParameters(500),
      );
    },
    fuzzTimeout(500),
  );
});
