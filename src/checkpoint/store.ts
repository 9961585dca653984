/**
 * Where checkpoints live between runs. One checkpoint per (cluster, pipeline, resource): the
 * resourceVersion the source resumes its watch from.
 *
 * A store may also keep the live job's operator state (`StateStore`, see job-checkpointer.ts):
 * per (cluster, pipeline), a chain of pieces (a full snapshot, then deltas) written one by one,
 * and a state record (`StateMeta`) naming the chain and the source positions it corresponds to,
 * committed together with those positions' checkpoints.
 *
 * - FileCheckpointStore: a local JSON file, for embedded mode (one process, a persistent volume);
 *   state pieces are files beside it, the state record is in the JSON file, written in the same
 *   atomic rewrite as the checkpoints.
 * - KafkaCheckpointStore (kafka-store.ts): a compacted topic, for deployments; state pieces go to
 *   a second compacted topic and are read back by offset.
 */
import { readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { makeDirectory } from '../core/paths.js';
import { sha256 } from './state-codec.js';

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

export interface CheckpointStore extends Partial<StateStore> {
  load(key: CheckpointKey): Promise<Checkpoint | null>;
  save(checkpoint: Checkpoint): Promise<void>;
  close(): Promise<void>;
}

/** Whose operator state: one per (cluster, pipeline) of the live job. */
export interface StateKey {
  cluster: string;
  pipeline: string;
}

export function stateKeyString(key: StateKey): string {
  return `${key.cluster}/${key.pipeline}/state`;
}

/** One piece of a state chain as stored. */
export interface StatePieceRef {
  /** Its place in the epoch's chain: 0 is the full snapshot, then the deltas. */
  index: number;
  bytes: number;
  sha256: string;
  /** Where the store put it: Kafka records (partition, offset) of its chunks in order, or a file name. */
  kafka?: Array<{ partition: number; offset: string }>;
  file?: string;
}

/** Where a source stands, as far as the state is concerned. */
export interface StatePosition {
  /** Resume the watch after this resourceVersion; null: the source had not started (list it). */
  resourceVersion: string | null;
  /**
   * Namespaces whose Events up to a later resourceVersion are already in the state (a watch that
   * took over from narrower ones, see the live job): skip them when they come again.
   */
  covered?: Record<string, string>;
}

export const STATE_META_VERSION = 1;

/** The committed state of a (cluster, pipeline): its chain and the positions it corresponds to. */
export interface StateMeta extends StateKey {
  kind: 'state';
  version: number;
  /** How the pieces are encoded (state-codec.ts). */
  format: string;
  /** The chain's id: a new one starts with every full snapshot (and every process start). */
  epoch: number;
  pieces: StatePieceRef[];
  /** Checkpoint resource -> position, as of the snapshot. */
  positions: Record<string, StatePosition>;
  /** The pipelines of the last snapshot, for the logs. */
  pipelines: Array<{ name: string; fingerprint: string }>;
  /** When the last snapshot was taken, and when it was committed (epoch ms). */
  takenAt: number;
  savedAt: number;
}

export interface StateStore {
  /** Writes one piece of an epoch's chain durably; returns where it is. */
  writeStatePiece(key: StateKey, epoch: number, index: number, data: Buffer): Promise<StatePieceRef>;
  /**
   * Commits the state record and, after it, the checkpoints of its positions (as one write where
   * the store can). A load returns what the last commit named.
   */
  commitState(meta: StateMeta, checkpoints: readonly Checkpoint[]): Promise<void>;
  /** The last committed state record and its pieces (checked against their SHA-256), or null. */
  loadState(key: StateKey): Promise<{ meta: StateMeta; pieces: Buffer[] } | null>;
  /** Drops pieces no committed state record names any more (an older epoch). */
  discardStatePieces(key: StateKey, epoch: number, pieces: readonly StatePieceRef[]): Promise<void>;
}

/** Whether a store keeps operator state. */
export function keepsState(store: CheckpointStore): store is CheckpointStore & StateStore {
  return (
    typeof store.writeStatePiece === 'function' &&
    typeof store.commitState === 'function' &&
    typeof store.loadState === 'function' &&
    typeof store.discardStatePieces === 'function'
  );
}

/** Validates a parsed state record; throws with what is wrong. */
export function parseStateMeta(value: unknown, where: string): StateMeta {
  const v = value as Partial<StateMeta> | null;
  if (!v || typeof v !== 'object' || v.kind !== 'state') throw new Error(`${where}: not a state record`);
  if (v.version !== STATE_META_VERSION) throw new Error(`${where}: state record version ${String(v.version)}, expected ${STATE_META_VERSION}`);
  if (typeof v.cluster !== 'string' || typeof v.pipeline !== 'string' || typeof v.format !== 'string' || typeof v.epoch !== 'number') {
    throw new Error(`${where}: state record without cluster, pipeline, format or epoch`);
  }
  if (!Array.isArray(v.pieces) || v.pieces.some((p) => typeof p?.sha256 !== 'string' || typeof p.bytes !== 'number')) {
    throw new Error(`${where}: state record with malformed pieces`);
  }
  if (!v.positions || typeof v.positions !== 'object') throw new Error(`${where}: state record without positions`);
  return v as StateMeta;
}

/** Checks a piece read back against its reference. */
export function checkPiece(ref: StatePieceRef, data: Buffer, where: string): Buffer {
  if (data.length !== ref.bytes || sha256(data) !== ref.sha256) {
    throw new Error(`${where}: state piece ${ref.index} does not match its record (${data.length} bytes read, ${ref.bytes} expected, or another SHA-256)`);
  }
  return data;
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
  /** Operator state records by stateKeyString (their pieces are files in `<file>.state/`). */
  states?: Record<string, StateMeta>;
}

/**
 * All checkpoints of a process in one JSON file:
 *   {"version":1,"checkpoints":{"<cluster>/<pipeline>/<resource>":{...Checkpoint}},"states":{...}}
 * Every save rewrites the file atomically (write a temp file in the same directory, fsync, rename
 * over the old one, fsync the directory), so a crash leaves the old or the new file, never half.
 * Saves are serialized; one process owns the file. Operator state pieces are files in the folder
 * `<file>.state/` (each written atomically before the state record naming it); a state commit
 * rewrites the JSON file once, with the state record and the checkpoints together.
 */
export class FileCheckpointStore implements CheckpointStore, StateStore {
  private data: CheckpointFile | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  private get stateDir(): string {
    return `${this.path}.state`;
  }

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
    const states: Record<string, StateMeta> = {};
    for (const [key, value] of Object.entries(parsed.states ?? {})) states[key] = parseStateMeta(value, `checkpoint file ${this.path} [${key}]`);
    return (this.data = { version: 1, checkpoints, ...(Object.keys(states).length > 0 ? { states } : {}) });
  }

  private write(next: CheckpointFile): void {
    writeAtomically(this.path, `${JSON.stringify(next, null, 2)}\n`);
    this.data = next;
  }

  private serialized<T>(task: () => T): Promise<T> {
    const run = this.chain.then(task);
    // a failed save must not poison the saves after it
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async load(key: CheckpointKey): Promise<Checkpoint | null> {
    await this.chain;
    return this.read().checkpoints[checkpointKeyString(key)] ?? null;
  }

  save(checkpoint: Checkpoint): Promise<void> {
    return this.serialized(() => {
      const data = this.read();
      this.write({ ...data, checkpoints: { ...data.checkpoints, [checkpointKeyString(checkpoint)]: { ...checkpoint } } });
    });
  }

  writeStatePiece(key: StateKey, epoch: number, index: number, data: Buffer): Promise<StatePieceRef> {
    return this.serialized(() => {
      const file = `${safeName(`${key.cluster}_${key.pipeline}`)}.${epoch}.${index}.bin`;
      writeAtomically(join(this.stateDir, file), data);
      return { index, bytes: data.length, sha256: sha256(data), file };
    });
  }

  commitState(meta: StateMeta, checkpoints: readonly Checkpoint[]): Promise<void> {
    return this.serialized(() => {
      const data = this.read();
      const next: CheckpointFile = {
        ...data,
        checkpoints: { ...data.checkpoints, ...Object.fromEntries(checkpoints.map((c) => [checkpointKeyString(c), { ...c }])) },
        states: { ...data.states, [stateKeyString(meta)]: meta },
      };
      this.write(next);
    });
  }

  async loadState(key: StateKey): Promise<{ meta: StateMeta; pieces: Buffer[] } | null> {
    await this.chain;
    const meta = this.read().states?.[stateKeyString(key)];
    if (!meta) return null;
    const pieces = meta.pieces.map((ref) => {
      if (!ref.file) throw new Error(`checkpoint file ${this.path}: state piece ${ref.index} has no file`);
      return checkPiece(ref, readFileSync(join(this.stateDir, ref.file)), `${this.stateDir}/${ref.file}`);
    });
    return { meta, pieces };
  }

  discardStatePieces(_key: StateKey, _epoch: number, pieces: readonly StatePieceRef[]): Promise<void> {
    return this.serialized(() => {
      for (const p of pieces) {
        if (!p.file) continue;
        try {
          unlinkSync(join(this.stateDir, p.file));
        } catch {
          // already gone
        }
      }
    });
  }

  async close(): Promise<void> {
    await this.chain;
  }
}

/** A file name part from free text: letters, digits, `-`, `_`, `.`; anything else as `%XX`. */
function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** temp file + fsync + rename + fsync(dir) */
export function writeAtomically(path: string, text: string | Buffer): void {
  const dir = dirname(path);
  makeDirectory(dir);
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
export class MemoryCheckpointStore implements CheckpointStore, StateStore {
  readonly checkpoints = new Map<string, Checkpoint>();
  readonly states = new Map<string, StateMeta>();
  readonly pieces = new Map<string, Buffer>();
  saves = 0;

  async load(key: CheckpointKey): Promise<Checkpoint | null> {
    return this.checkpoints.get(checkpointKeyString(key)) ?? null;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    this.saves += 1;
    this.checkpoints.set(checkpointKeyString(checkpoint), { ...checkpoint });
  }

  async writeStatePiece(key: StateKey, epoch: number, index: number, data: Buffer): Promise<StatePieceRef> {
    const file = `${stateKeyString(key)}/${epoch}/${index}`;
    this.pieces.set(file, Buffer.from(data));
    return { index, bytes: data.length, sha256: sha256(data), file };
  }

  async commitState(meta: StateMeta, checkpoints: readonly Checkpoint[]): Promise<void> {
    this.states.set(stateKeyString(meta), structuredClone(meta));
    for (const c of checkpoints) await this.save(c);
  }

  async loadState(key: StateKey): Promise<{ meta: StateMeta; pieces: Buffer[] } | null> {
    const meta = this.states.get(stateKeyString(key));
    if (!meta) return null;
    return {
      meta: structuredClone(meta),
      pieces: meta.pieces.map((ref) => {
        const data = this.pieces.get(ref.file ?? '');
        if (!data) throw new Error(`state piece ${ref.file} is gone`);
        return checkPiece(ref, data, `memory ${ref.file}`);
      }),
    };
  }

  async discardStatePieces(_key: StateKey, _epoch: number, pieces: readonly StatePieceRef[]): Promise<void> {
    for (const p of pieces) if (p.file) this.pieces.delete(p.file);
  }

  async close(): Promise<void> {}
}
