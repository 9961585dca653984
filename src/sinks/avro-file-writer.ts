import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import avro from 'avsc';
import { makeDirectory } from '../core/paths.js';
import type { LoadedSchema } from '../avro/schemas.js';

interface OpenFile {
  path: string;
  schema: LoadedSchema;
  encoder: avro.streams.BlockEncoder;
  finished: Promise<void>;
  records: number;
  error: Error | null;
}

export interface AvroFileSummary {
  topic: string;
  path: string;
  schema: string;
  records: number;
}

export interface AvroFileWriterOptions {
  /** Container file codec. deflate is in every Avro implementation; null disables compression. */
  codec?: 'deflate' | 'null';
  /** Records per block: bigger blocks compress better and cost more memory per open file. */
  blockSize?: number;
}

/**
 * Writes Avro object container files, one per topic (`<dir>/<topic>.avro`), readable by any Avro
 * implementation (avro-tools, fastavro, Spark). A file is bound to the schema of the first record
 * written to it; a topic never mixes schemas.
 */
export class AvroFileWriter {
  private readonly files = new Map<string, OpenFile>();
  private closed = false;

  constructor(
    readonly directory: string,
    private readonly options: AvroFileWriterOptions = {},
  ) {
    makeDirectory(directory);
  }

  async write(topic: string, schema: LoadedSchema, record: unknown): Promise<void> {
    if (this.closed) throw new Error(`Avro file writer ${this.directory} is closed; cannot write to ${topic}`);
    const file = this.open(topic, schema);
    if (!schema.type.isValid(record, { errorHook: undefined })) {
      const paths: string[] = [];
      schema.type.isValid(record, { errorHook: (path) => paths.push(path.join('.')) });
      throw new Error(`record for ${topic} does not match schema ${schema.kind}: invalid field(s) ${paths.join(', ')}`);
    }
    if (file.error) throw file.error;
    file.records += 1;
    // a file that cannot be written (a folder in the way, a full disk) fails the write, not a later close
    if (!file.encoder.write(record)) await Promise.race([once(file.encoder, 'drain'), file.finished]);
  }

  private open(topic: string, schema: LoadedSchema): OpenFile {
    const existing = this.files.get(topic);
    if (existing) {
      if (existing.schema.fingerprint !== schema.fingerprint) {
        throw new Error(`topic ${topic} is written with schema ${existing.schema.kind}; cannot also write ${schema.kind}`);
      }
      return existing;
    }
    const path = join(this.directory, `${topic}.avro`);
    const encoder = new avro.streams.BlockEncoder(schema.type, {
      codec: this.options.codec ?? 'deflate',
      blockSize: this.options.blockSize ?? 64 * 1024,
      writeHeader: 'always',
    } as Partial<avro.EncoderOptions>);
    const output = createWriteStream(path);
    encoder.pipe(output);
    const file: OpenFile = { path, schema, encoder, finished: Promise.resolve(), records: 0, error: null };
    file.finished = new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => {
        file.error = error;
        reject(error);
      };
      output.once('finish', resolve);
      output.once('error', (error) => fail(new Error(`cannot write ${path}: ${error.message}`)));
      encoder.once('error', (error: Error) => fail(new Error(`Avro encoding for ${path} failed: ${error.message}`)));
    });
    // a failed file surfaces on the next write or on close(); avoid an unhandled rejection before that
    file.finished.catch(() => undefined);
    this.files.set(topic, file);
    return file;
  }

  /** Flushes and closes every file; resolves once the bytes are on disk. */
  async close(): Promise<AvroFileSummary[]> {
    this.closed = true;
    const files = [...this.files.entries()];
    for (const [, file] of files) file.encoder.end();
    await Promise.all(files.map(([, file]) => file.finished));
    return this.summary();
  }

  summary(): AvroFileSummary[] {
    return [...this.files.entries()].map(([topic, file]) => ({
      topic,
      path: file.path,
      schema: file.schema.kind,
      records: file.records,
    }));
  }
}
