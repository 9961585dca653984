/**
 * Schema ids from a Confluent Schema Registry, via @kafkajs/confluent-schema-registry.
 *
 * The library is used for the registry protocol only (register / look up a schema under a subject,
 * fetch a schema by id, with retries and caching). Records are encoded and decoded with our own
 * avsc Types (src/avro/encodings.ts), so kubevents' `timestamp-millis` logical type always applies;
 * the writer Types the library builds from registry responses are also given our logical types, so
 * times decode as epoch-ms numbers whichever path is taken.
 */
import avro from 'avsc';
import { type COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { LOGICAL_TYPES, type LoadedSchema } from './schemas.js';

export type Compatibility = `${COMPATIBILITY}`;

export interface SchemaRegistryConfig {
  /** e.g. https://schema-registry:8081 */
  url: string;
  username?: string;
  password?: string;
  /**
   * Register the schema under its subject on first use (default true). With false the schema must
   * already be registered (e.g. by CI), and a missing one is an error at start.
   */
  autoRegister?: boolean;
  /**
   * Compatibility level kubevents expects for its subjects (default BACKWARD, the registry's own
   * default). Set on a subject when kubevents registers it first; registering into a subject
   * configured with another level fails, to make the mismatch visible.
   */
  compatibility?: Compatibility;
  clientId?: string;
  /** Retries of one registry request (default 3). */
  retries?: number;
  /** How long one registry request may take before it is abandoned (and retried), ms (default 10 s). */
  requestTimeoutMs?: number;
}

export const DEFAULT_REGISTRY_REQUEST_TIMEOUT_MS = 10_000;
/** Retries of a registry request answered with a 5xx (4 attempts in all); one that times out is not retried. */
export const DEFAULT_REGISTRY_RETRIES = 3;

type RegistryMiddleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];

/** A timeout on every request of the registry client (its HTTP layer, mappersmith, aborts the request when it passes). */
function requestTimeout(ms: number): RegistryMiddleware {
  return () => ({ prepareRequest: (next) => next().then((request) => request.enhance({ timeout: ms })) });
}

/** What the encoders and decoders need from a registry. */
export interface SchemaIdRegistry {
  /** The id of `schema` under `subject`, registering it when allowed; cached per subject and schema. */
  idFor(subject: string, schema: LoadedSchema): Promise<number>;
  /** The writer Type for an id (with kubevents' logical types); cached. */
  writerType(id: number): Promise<avro.Type>;
}

/** TopicNameStrategy: the subject of a topic's values. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

export class ConfluentSchemaRegistry implements SchemaIdRegistry {
  private readonly registry: SchemaRegistry;
  private readonly ids = new Map<string, Promise<number>>();
  private readonly types = new Map<number, Promise<avro.Type>>();
  private readonly autoRegister: boolean;
  private readonly compatibility: COMPATIBILITY;

  constructor(config: SchemaRegistryConfig) {
    this.registry = new SchemaRegistry(
      {
        host: config.url.replace(/\/+$/, ''),
        clientId: config.clientId ?? 'kubevents',
        ...(config.username !== undefined ? { auth: { username: config.username, password: config.password ?? '' } } : {}),
        retry: { retries: config.retries ?? DEFAULT_REGISTRY_RETRIES },
        // the library sets no timeout: a registry that accepts the connection and never answers would hold the start-up for ever
        middlewares: [requestTimeout(config.requestTimeoutMs ?? DEFAULT_REGISTRY_REQUEST_TIMEOUT_MS)],
      },
      { [SchemaType.AVRO]: { logicalTypes: LOGICAL_TYPES } },
    );
    this.autoRegister = config.autoRegister ?? true;
    this.compatibility = (config.compatibility ?? 'BACKWARD') as COMPATIBILITY;
  }

  idFor(subject: string, schema: LoadedSchema): Promise<number> {
    const cacheKey = `${subject}\u0000${schema.fingerprint}`;
    let id = this.ids.get(cacheKey);
    if (!id) {
      const fetched = this.fetchId(subject, schema);
      this.ids.set(cacheKey, fetched);
      // a failed lookup is retried on next use, not cached
      fetched.catch(() => this.ids.delete(cacheKey));
      id = fetched;
    }
    return id;
  }

  private async fetchId(subject: string, schema: LoadedSchema): Promise<number> {
    const confluentSchema = { type: SchemaType.AVRO, schema: schema.text } as const;
    try {
      if (this.autoRegister) {
        const { id } = await this.registry.register(confluentSchema, { subject, compatibility: this.compatibility });
        return id;
      }
      return await this.registry.getRegistryIdBySchema(subject, confluentSchema);
    } catch (error) {
      const verb = this.autoRegister ? 'register' : 'look up';
      throw new Error(`schema registry: cannot ${verb} ${schema.kind} under subject ${subject}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  writerType(id: number): Promise<avro.Type> {
    let type = this.types.get(id);
    if (!type) {
      const fetched = this.registry.getSchema(id).then((schema: unknown): avro.Type => {
        if (!avro.Type.isType(schema)) throw new Error(`schema registry: schema id ${id} is not an Avro schema`);
        return schema as avro.Type;
      });
      this.types.set(id, fetched);
      fetched.catch(() => this.types.delete(id));
      type = fetched;
    }
    return type;
  }
}
