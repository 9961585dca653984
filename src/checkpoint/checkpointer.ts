/**
 * Checkpoints after acknowledgement: a Checkpointer owns one source's CheckpointTracker and saves
 * its committed resourceVersion to a CheckpointStore, at most every `intervalMs` and only when it
 * moved. On start, `load()` gives the resourceVersion the source resumes its watch from.
 *
 *   const cp = new Checkpointer({ store, key: { cluster, pipeline, resource } });
 *   const resumeFrom = await cp.load();          // null: no checkpoint, start with a list
 *   source(resumeFrom) ... positions from cp.tracker ... sink
 *   cp.start();                                  // periodic saves
 *   ... on shutdown: await sink.close(); await cp.stop();   // final save of what was acked
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Registry } from 'prom-client';
import { Gauge, Counter } from 'prom-client';
import type { Logger } from '../core/logger.js';
import type { SourcePosition } from '../model/position.js';
import { CheckpointTracker } from './tracker.js';
import { checkpointKeyString, type CheckpointKey, type CheckpointStore } from './store.js';

export { CheckpointTracker } from './tracker.js';
export type { Checkpoint, CheckpointKey, CheckpointStore } from './store.js';
export { FileCheckpointStore, MemoryCheckpointStore } from './store.js';

/** What a graceful shutdown saves last (shutdown.ts): a Checkpointer, or the live job's JobCheckpointer. */
export interface CheckpointSaver {
  /** For messages: the resource, or what the saver covers. */
  readonly name: string;
  /** Stops the periodic saves and saves once more (what has been acknowledged by now). */
  stop(): Promise<void>;
  /** The resourceVersion saved last, per checkpoint resource (null: none). */
  saved(): Record<string, string | null>;
}

export interface CheckpointerOptions {
  store: CheckpointStore;
  key: CheckpointKey;
  /** Minimum time between two saves, ms (default 1000). */
  intervalMs?: number;
  logger?: Logger;
  /** prom-client registry for kubevents_checkpoint_* metrics (default: none). */
  registry?: Registry;
  /** clock, for tests */
  now?: () => number;
}

export interface CheckpointMetrics {
  saves: Counter<'resource'>;
  failures: Counter<'resource'>;
  outstanding: Gauge<'resource'>;
  lastSave: Gauge<'resource'>;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function metricsFor(registry: Registry): CheckpointMetrics {
  const registers = [registry];
  return {
    saves: getOrCreate(
      registry,
      'kubevents_checkpoint_saves_total',
      () => new Counter({ name: 'kubevents_checkpoint_saves_total', help: 'Checkpoints saved.', labelNames: ['resource'], registers }),
    ),
    failures: getOrCreate(
      registry,
      'kubevents_checkpoint_save_failures_total',
      () =>
        new Counter({
          name: 'kubevents_checkpoint_save_failures_total',
          help: 'Checkpoint saves that failed (retried at the next interval).',
          labelNames: ['resource'],
          registers,
        }),
    ),
    outstanding: getOrCreate(
      registry,
      'kubevents_checkpoint_outstanding_positions',
      () =>
        new Gauge({
          name: 'kubevents_checkpoint_outstanding_positions',
          help: 'Source positions emitted but not yet fully acknowledged.',
          labelNames: ['resource'],
          registers,
        }),
    ),
    lastSave: getOrCreate(
      registry,
      'kubevents_checkpoint_last_save_timestamp_seconds',
      () =>
        new Gauge({
          name: 'kubevents_checkpoint_last_save_timestamp_seconds',
          help: 'Time of the last successful checkpoint save.',
          labelNames: ['resource'],
          registers,
        }),
    ),
  };
}

export class Checkpointer implements CheckpointSaver {
  readonly key: CheckpointKey;
  private trackerInstance: CheckpointTracker | undefined;
  private savedRv: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private abandoned = false;
  private readonly metrics: CheckpointMetrics | undefined;
  private readonly now: () => number;

  constructor(private readonly options: CheckpointerOptions) {
    this.key = options.key;
    this.metrics = options.registry ? metricsFor(options.registry) : undefined;
    this.now = options.now ?? Date.now;
  }

  /** The saved resourceVersion (null when none) and a tracker starting from it. Call once, before `tracker`. */
  async load(): Promise<string | null> {
    const checkpoint = await this.options.store.load(this.key);
    this.savedRv = checkpoint?.resourceVersion ?? null;
    this.trackerInstance = new CheckpointTracker(this.key.resource, this.savedRv);
    this.options.logger?.info(
      { checkpoint: checkpointKeyString(this.key), resourceVersion: this.savedRv, updatedAt: checkpoint?.updatedAt },
      this.savedRv ? 'resuming from checkpoint' : 'no checkpoint: starting from a fresh list',
    );
    return this.savedRv;
  }

  get tracker(): CheckpointTracker {
    if (!this.trackerInstance) throw new Error('Checkpointer: load() first');
    return this.trackerInstance;
  }

  /** The last resourceVersion written to the store. */
  get savedResourceVersion(): string | null {
    return this.savedRv;
  }

  get name(): string {
    return this.key.resource;
  }

  saved(): Record<string, string | null> {
    return { [this.key.resource]: this.savedRv };
  }

  /** Saves periodically from now on. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.save().catch(() => undefined); // logged and counted in save()
    }, this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Saves the tracker's committed position if it moved since the last save. Saves never overlap. */
  save(): Promise<void> {
    if (this.abandoned) return Promise.resolve();
    if (this.saving) return this.saving.then(() => this.save());
    const tracker = this.tracker;
    const resource = this.key.resource;
    this.metrics?.outstanding.set({ resource }, tracker.outstanding);
    const rv = tracker.committed;
    if (rv === null || rv === this.savedRv) return Promise.resolve();
    const run = this.options.store
      .save({ ...this.key, resourceVersion: rv, updatedAt: this.now() })
      .then(
        () => {
          this.savedRv = rv;
          this.metrics?.saves.inc({ resource });
          this.metrics?.lastSave.set({ resource }, this.now() / 1000);
        },
        (error: unknown) => {
          this.metrics?.failures.inc({ resource });
          this.options.logger?.warn({ err: error, checkpoint: checkpointKeyString(this.key) }, 'checkpoint save failed');
          throw error;
        },
      )
      .finally(() => {
        this.saving = undefined;
      });
    this.saving = run;
    return run;
  }

  /**
   * Stops saving, for good, without a last save: for a replica that lost its Lease, whose
   * checkpoint key now belongs to the new leader (a late save would move the new leader's
   * checkpoint back). A save already running completes. stop() after this saves nothing.
   */
  abandon(): void {
    this.abandoned = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the periodic saves and saves once more (what has been acknowledged by now). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.trackerInstance) await this.save();
  }
}

/** A source value with the position it was emitted at. */
export interface Positioned<T> {
  value: T;
  position: SourcePosition;
}

/**
 * Opens a position for each source value (in emission order) and closes it as soon as the
 * synchronous part of the pipeline has handled it (when `next` returns). Records written to a sink
 * during that call carry the position (`OutRecord.positions`) and keep it open until acked.
 * A stage that emits later (a window, a timer) must `retain` the position while it holds the
 * event and `ack` it when done, or the checkpoint may pass the event.
 */
export function withPositions<T>(tracker: CheckpointTracker, resourceVersionOf: (value: T) => string): OperatorFunction<T, Positioned<T>> {
  return (source) =>
    new Observable<Positioned<T>>((subscriber) =>
      source.subscribe({
        next: (value) => {
          const position = tracker.open(resourceVersionOf(value));
          try {
            subscriber.next({ value, position });
          } finally {
            tracker.close(position);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
}
