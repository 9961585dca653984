/**
 * How a record's value is laid out on a Kafka topic. Two encodings, chosen per sink:
 *
 * - `confluent`: the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro binary),
 *   ids from a Schema Registry under the subject `<topic>-value` (TopicNameStrategy). What Kafka
 *   Connect's AvroConverter, ksqlDB (VALUE_FORMAT='AVRO') and Flink's `avro-confluent` format read.
 * - `avro-binary`: the plain Avro binary encoding of the record, for setups without a registry. The
 *   writer schema is identified by the `kubevents.schema.fingerprint` header: the SHA-256 (hex) of
 *   the schema's Parsing Canonical Form, i.e. Java's
 *   `SchemaNormalization.parsingFingerprint("SHA-256", schema)`; the .avsc files ship in the package.
 *   Flink's plain `avro` format reads it given the .avsc (as long as the schema has not changed).
 *
 * Both set the same headers (HEADERS below); the decoder reads either.
 */
import type avro from 'avsc';
import { AvroOut, compileWriter, encodeWith, type CompiledWriter } from './fast-writer.js';
import { checkAvroBounds } from './bounded-read.js';
import { decodeConfluentFrame, encodeConfluentFrame, CONFLUENT_MAGIC_BYTE } from './wire-format.js';
import { ConfluentSchemaRegistry, valueSubject, type SchemaIdRegistry, type SchemaRegistryConfig } from './registry.js';
import { loadSchema, type LoadedSchema } from './schemas.js';
import { loadCurrentSchemas, loadHistory } from './history.js';

export type Encoding = 'confluent' | 'avro-binary';
export const ENCODINGS: readonly Encoding[] = ['confluent', 'avro-binary'];

/** Record header names set by kubevents (values are UTF-8 strings). */
export const HEADERS = {
  /** confluent | avro-binary */
  encoding: 'kubevents.encoding',
  /** Full Avro name of the record schema, e.g. io.kubevents.v1.KubeEvent */
  schemaName: 'kubevents.schema.name',
  /** SHA-256 (hex) of the writer schema's Parsing Canonical Form */
  fingerprint: 'kubevents.schema.fingerprint',
  /** Schema Registry subject (confluent only) */
  subject: 'kubevents.schema.subject',
  /** Schema Registry id, decimal (confluent only; also in the value's bytes 1-4) */
  schemaId: 'kubevents.schema.id',
  cluster: 'kubevents.cluster',
  pipeline: 'kubevents.pipeline',
  /** Stable identity of the occurrence: upsert / de-duplicate on it */
  idempotencyKey: 'kubevents.idempotency-key',
  /** Record kind: KubeEvent, Alert, Incident, Gap, DeadLetter */
  kind: 'kubevents.kind',
} as const;

export interface EncodedValue {
  value: Buffer;
  headers: Record<string, string>;
}

/** A value that does not match its schema; `paths` are the offending field paths. */
export class EncodeError extends Error {
  constructor(
    readonly kind: string,
    readonly paths: string[],
    cause?: unknown,
  ) {
    super(`${kind} record does not match its Avro schema${paths.length ? ` at ${paths.join(', ')}` : ''}`, { cause });
    this.name = 'EncodeError';
  }
}

export function fullName(schema: LoadedSchema): string {
  return schema.type.name ?? schema.kind;
}

/**
 * Reused encoding buffer. avsc's Type.toBuffer encodes into a fixed shared 1 KiB buffer and, for a
 * larger record, encodes it a second time into the result; encoding into this growing buffer
 * encodes every record once, then copies the bytes out (the same bytes). Records beyond
 * SCRATCH_MAX go through toBuffer, so the buffer never holds more than that.
 */
let scratch = Buffer.allocUnsafeSlow(16 * 1024);
const SCRATCH_MAX = 1024 * 1024;

function encodeOnce(type: LoadedSchema['type'], value: unknown): Buffer {
  for (;;) {
    const end = type.encode(value, scratch, 0);
    if (end >= 0) {
      const out = Buffer.allocUnsafe(end);
      scratch.copy(out, 0, 0, end);
      return out;
    }
    const needed = scratch.length - end; // encode returns minus the bytes missing
    if (needed > SCRATCH_MAX) return type.toBuffer(value);
    scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(2 * scratch.length, needed)));
  }
}

/**
 * Compiled writers (fast-writer.ts: avsc's bytes, faster) per schema type; null where a schema
 * needs avsc itself. Enrichment records shared by many events are encoded once.
 */
const writers = new WeakMap<LoadedSchema['type'], CompiledWriter | null>();
let out = new AvroOut(16 * 1024);

function writerFor(type: LoadedSchema['type']): CompiledWriter | null {
  let w = writers.get(type);
  if (w === undefined) {
    w = compileWriter(type, { cachedRecords: ['io.kubevents.v1.Enrichment'] });
    writers.set(type, w);
  }
  return w;
}

function encodeFast(type: LoadedSchema['type'], value: unknown): Buffer {
  const writer = writerFor(type);
  if (writer === null) return encodeOnce(type, value);
  try {
    return encodeWith(writer, out, value);
  } finally {
    if (out.buf.length > SCRATCH_MAX) out = new AvroOut(16 * 1024); // bounded: one huge record does not stay
  }
}

/** Avro binary of `value`, or an EncodeError naming the invalid fields. */
export function toAvroBinary(schema: LoadedSchema, value: unknown): Buffer {
  try {
    return encodeFast(schema.type, value);
  } catch (error) {
    const paths: string[] = [];
    schema.type.isValid(value, { errorHook: (path: string[]) => paths.push(path.join('.') || '(root)') });
    throw new EncodeError(schema.kind, paths, error);
  }
}

export interface RecordEncoder {
  readonly encoding: Encoding;
  /** Resolves whatever the first encode would (registry ids), so misconfiguration fails at start. */
  prepare(schema: LoadedSchema, topic: string): Promise<void>;
  encode(schema: LoadedSchema, topic: string, value: unknown): Promise<EncodedValue>;
}

function baseHeaders(encoding: Encoding, schema: LoadedSchema): Record<string, string> {
  return {
    [HEADERS.encoding]: encoding,
    [HEADERS.schemaName]: fullName(schema),
    [HEADERS.fingerprint]: schema.fingerprint,
  };
}

export class AvroBinaryEncoder implements RecordEncoder {
  readonly encoding = 'avro-binary' as const;

  async prepare(): Promise<void> {}

  async encode(schema: LoadedSchema, _topic: string, value: unknown): Promise<EncodedValue> {
    return { value: toAvroBinary(schema, value), headers: baseHeaders(this.encoding, schema) };
  }
}

export class ConfluentEncoder implements RecordEncoder {
  readonly encoding = 'confluent' as const;
  /** ids already resolved, to skip the promise machinery on the hot path */
  private readonly known = new Map<string, number>();

  constructor(
    private readonly registry: SchemaIdRegistry,
    private readonly subjectOf: (topic: string, schema: LoadedSchema) => string = (topic) => valueSubject(topic),
  ) {}

  async prepare(schema: LoadedSchema, topic: string): Promise<void> {
    await this.idFor(schema, topic);
  }

  private async idFor(schema: LoadedSchema, topic: string): Promise<{ id: number; subject: string }> {
    const subject = this.subjectOf(topic, schema);
    const cacheKey = `${subject}\u0000${schema.fingerprint}`;
    let id = this.known.get(cacheKey);
    if (id === undefined) {
      id = await this.registry.idFor(subject, schema);
      this.known.set(cacheKey, id);
    }
    return { id, subject };
  }

  async encode(schema: LoadedSchema, topic: string, value: unknown): Promise<EncodedValue> {
    const body = toAvroBinary(schema, value); // validate before touching the registry
    const { id, subject } = await this.idFor(schema, topic);
    return {
      value: encodeConfluentFrame(id, body),
      headers: { ...baseHeaders(this.encoding, schema), [HEADERS.subject]: subject, [HEADERS.schemaId]: String(id) },
    };
  }
}

export interface DecodedRecord<T = unknown> {
  /** Record kind (the schema's simple name), e.g. KubeEvent */
  kind: string;
  value: T;
  encoding: Encoding;
  /** SHA-256 of the writer schema's canonical form */
  writerFingerprint: string;
  /** confluent only */
  schemaId?: number;
}

export interface RecordDecoderOptions {
  /** Needed to decode the confluent encoding. */
  registry?: SchemaIdRegistry;
  /** Writer schemas known without a registry (default: the current schemas and schemas/history). */
  writers?: readonly LoadedSchema[];
  /** Reader schema for a kind (default: schemas/<kind>.avsc). */
  readerFor?: (kind: string) => LoadedSchema;
}

interface ReadPlan {
  kind: string;
  /** The writer schema: the bytes are checked against it (bounded-read.ts) before avsc reads them. */
  writer: avro.Type;
  reader: avro.Type;
  resolver: avro.Resolver | undefined;
  fingerprint: string;
}

function simpleName(name: string | undefined): string {
  if (!name) throw new Error('writer schema is not a named record');
  return name.slice(name.lastIndexOf('.') + 1);
}

/**
 * Decodes values written by either encoder into the current (reader) schema of their kind, via
 * Avro schema resolution when the writer used an older version. For consumers of kubevents topics
 * (the alert sinks) and for tests.
 */
export class RecordDecoder {
  private readonly registry: SchemaIdRegistry | undefined;
  private readonly readerFor: (kind: string) => LoadedSchema;
  private readonly byFingerprint = new Map<string, LoadedSchema>();
  private readonly plansByFingerprint = new Map<string, ReadPlan>();
  private readonly plansById = new Map<number, Promise<ReadPlan>>();

  constructor(options: RecordDecoderOptions = {}) {
    this.registry = options.registry;
    this.readerFor = options.readerFor ?? ((kind) => loadSchema(kind));
    const writers = options.writers ?? [...loadCurrentSchemas(), ...loadHistory()];
    for (const w of writers) this.byFingerprint.set(w.fingerprint, w);
  }

  private plan(writer: avro.Type, fingerprint: string): ReadPlan {
    const kind = simpleName(writer.name);
    const reader = this.readerFor(kind);
    const resolver = reader.fingerprint === fingerprint ? undefined : reader.type.createResolver(writer);
    return { kind, writer, reader: reader.type, resolver, fingerprint };
  }

  private planForFingerprint(fingerprint: string): ReadPlan {
    let plan = this.plansByFingerprint.get(fingerprint);
    if (!plan) {
      const writer = this.byFingerprint.get(fingerprint);
      if (!writer) throw new Error(`unknown writer schema fingerprint ${short(fingerprint)} (not a current or historic kubevents schema)`);
      plan = this.plan(writer.type, fingerprint);
      this.plansByFingerprint.set(fingerprint, plan);
    }
    return plan;
  }

  private planForId(id: number): Promise<ReadPlan> {
    let plan = this.plansById.get(id);
    if (!plan) {
      const registry = this.registry;
      if (!registry) return Promise.reject(new UndecodableError('confluent-encoded value but the decoder has no schema registry'));
      // the registry's errors pass as they are (a registry that cannot be reached is retried);
      // a writer schema that is not one of ours is the value's fault
      const created = registry.writerType(id).then(
        (writer) => undecodable(() => this.plan(writer, writer.fingerprint('sha256').toString('hex'))),
        (error: unknown) => {
          // the registry answered that it has no such schema: the id in the value is wrong
          const status = (error as { status?: unknown } | null)?.status;
          if (status === 404 || status === 422) throw new UndecodableError(`schema id ${id} is not in the Schema Registry (HTTP ${status})`, { cause: error });
          throw error;
        },
      );
      this.plansById.set(id, created);
      created.catch(() => this.plansById.delete(id));
      plan = created;
    }
    return plan;
  }

  /** Which encoding a value uses: the header when present, else a Confluent frame if a registry is configured. */
  encodingOf(value: Buffer, headers: Record<string, string> = {}): Encoding {
    const declared = headers[HEADERS.encoding];
    if (declared === 'confluent' || declared === 'avro-binary') return declared;
    if (declared !== undefined) throw new UndecodableError(`unknown ${HEADERS.encoding} header ${short(declared)}`);
    if (headers[HEADERS.fingerprint]) return 'avro-binary';
    if (this.registry && value.length >= 5 && value[0] === CONFLUENT_MAGIC_BYTE) return 'confluent';
    throw new UndecodableError(`cannot tell the encoding: no ${HEADERS.encoding} or ${HEADERS.fingerprint} header`);
  }

  /**
   * The value decoded into the current schema of its kind. Rejects with UndecodableError when the
   * value itself is at fault (headers, frame, unknown or foreign writer schema, bytes that do not
   * fit it); any other rejection comes from the Schema Registry (and may pass when retried).
   */
  async decode<T = unknown>(value: Buffer, headers: Record<string, string> = {}): Promise<DecodedRecord<T>> {
    const encoding = undecodable(() => this.encodingOf(value, headers));
    if (encoding === 'confluent') {
      const { schemaId, payload } = undecodable(() => decodeConfluentFrame(value));
      const plan = await this.planForId(schemaId);
      const decoded = undecodable(() => {
        checkAvroBounds(plan.writer, payload);
        return plan.reader.fromBuffer(payload, plan.resolver) as T;
      });
      return { kind: plan.kind, value: decoded, encoding, writerFingerprint: plan.fingerprint, schemaId };
    }
    const fingerprint = headers[HEADERS.fingerprint];
    if (!fingerprint) throw new UndecodableError(`avro-binary value without a ${HEADERS.fingerprint} header`);
    const decoded = undecodable(() => {
      const plan = this.planForFingerprint(fingerprint);
      checkAvroBounds(plan.writer, value);
      return { kind: plan.kind, value: plan.reader.fromBuffer(value, plan.resolver) as T };
    });
    return { ...decoded, encoding, writerFingerprint: fingerprint };
  }
}

/**
 * A value that cannot be decoded, whatever is retried: it is not a kubevents record. Its message
 * says why (header values quoted short); the consumer dead-letters such a value at once. Telling
 * this apart by the type, not by words in the message, matters: the message quotes headers the
 * producer chose, and a header saying "network" must not make the value look worth retrying.
 */
export class UndecodableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UndecodableError';
  }
}

function undecodable<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof UndecodableError) throw error;
    throw new UndecodableError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** A producer's text in a message: quoted, at most 100 characters. */
function short(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}

/** The encoder of an encoding: `confluent` (needs the registry) or `avro-binary`. */
export function encoderFor(config: { encoding: Encoding; schemaRegistry?: SchemaRegistryConfig | undefined }): RecordEncoder {
  if (config.encoding === 'confluent') {
    if (!config.schemaRegistry) throw new Error('encoding confluent needs schemaRegistry.url');
    return new ConfluentEncoder(new ConfluentSchemaRegistry(config.schemaRegistry));
  }
  if (config.encoding === 'avro-binary') return new AvroBinaryEncoder();
  throw new Error(`unknown encoding '${String(config.encoding)}' (confluent or avro-binary)`);
}
