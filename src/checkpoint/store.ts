/**
 * Where checkpoints live between runs. One checkpoint per (cluster, pipeline, resource): the
 * resourceVersion the source resumes its watch from.
 *
 * - FileCheckpointStore: a local JSON file, for embedded mode (one process, a persistent volume).
 * - KafkaCheckpointStore (checkpoint-kafka.ts): a compacted topic, for deployments.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

export interface CheckpointKey {
  cluster: string;
  pipeline: string;
  /** the source's resource, e.g. events.k8s.io/v1/events */
  resource: string;
}

export interface Checkpoint extends CheckpointKey {
  resourceVersion: string;
  /** epoch ms of the save */
  updatedAt: number;
}

export function checkpointKeyString(key: CheckpointKey): string {
  return `${key.cluster}/${key.pipeline}/${key.resource}`;
}

export interface CheckpointStore {
  load(key: CheckpointKey): Promise<Checkpoint | null>;
  save(checkpoint: Checkpoint): Promise<void>;
  close(): Promise<void>;
}

/** Validates a parsed checkpoint (from a file or a topic); throws with what is wrong. */
export function parseCheckpoint(value: unknown, where: string): Checkpoint {
  const v = value as Partial<Checkpoint> | null;
  const fields = ['cluster', 'pipeline', 'resource', 'resourceVersion'] as const;
  if (!v || typeof v !== 'object') throw new Error(`${where}: checkpoint is not an object`);
  for (const f of fields) {
    if (typeof v[f] !== 'string') throw new Error(`${where}: checkpoint field ${f} is not a string`);
  }
  if (typeof v.updatedAt !== 'number') throw new Error(`${where}: checkpoint field updatedAt is not a number`);
  return {
    cluster: v.cluster as string,
    pipeline: v.pipeline as string,
    resource: v.resource as string,
    resourceVersion: v.resourceVersion as string,
    updatedAt: v.updatedAt,
  };
}

interface CheckpointFile {
  version: 1;
  checkpoints: Record<string, Checkpoint>;
}

/**
 * All checkpoints of a process in one JSON file:
 *   {"version":1,"checkpoints":{"<cluster>/<pipeline>/<resource>":{...Checkpoint}}}
 * Every save rewrites the file atomically (write a temp file in the same directory, fsync, rename
 * over the old one, fsync the directory), so a crash leaves the old or the new file, never half.
 * Saves are serialized; one process owns the file.
 */
export class FileCheckpointStore implements CheckpointStore {
  private data: CheckpointFile | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  private read(): CheckpointFile {
    if (this.data) return this.data;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return (this.data = { version: 1, checkpoints: {} });
      throw error;
    }
    let parsed: Partial<CheckpointFile>;
    try {
      parsed = JSON.parse(text) as Partial<CheckpointFile>;
    } catch (error) {
      throw new Error(`checkpoint file ${this.path} is not valid JSON: ${(error as Error).message}`);
    }
    if (parsed.version !== 1 || typeof parsed.checkpoints !== 'object' || parsed.checkpoints === null) {
      throw new Error(`checkpoint file ${this.path}: expected {"version":1,"checkpoints":{...}}`);
    }
    const checkpoints: Record<string, Checkpoint> = {};
    for (const [key, value] of Object.entries(parsed.checkpoints)) {
      checkpoints[key] = parseCheckpoint(value, `checkpoint file ${this.path} [${key}]`);
    }
    return (this.data = { version: 1, checkpoints });
  }

  async load(key: CheckpointKey): Promise<Checkpoint | null> {
    await this.chain;
    return this.read().checkpoints[checkpointKeyString(key)] ?? null;
  }

  save(checkpoint: Checkpoint): Promise<void> {
    const run = this.chain.then(() => {
      const data = this.read();
      const next: CheckpointFile = { version: 1, checkpoints: { ...data.checkpoints, [checkpointKeyString(checkpoint)]: { ...checkpoint } } };
      writeAtomically(this.path, `${JSON.stringify(next, null, 2)}\n`);
      this.data = next;
    });
    // a failed save must not poison the saves after it
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.chain;
  }
}

/** temp file + fsync + rename + fsync(dir) */
export function writeAtomically(path: string, text: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // some filesystems do not support fsync on directories; the rename is still atomic
  }
}

/** In memory, for tests and dry runs. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly checkpoints = new Map<string, Checkpoint>();
  saves = 0;

  async load(key: CheckpointKey): Promise<Checkpoint | null> {
    return this.checkpoints.get(checkpointKeyString(key)) ?? null;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    this.saves += 1;
    this.checkpoints.set(checkpointKeyString(checkpoint), { ...checkpoint });
  }

  async close(): Promise<void> {}
}
