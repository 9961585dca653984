/**
 * What the live job is given and what it offers (src/jobs/live-job.ts runs it): the options of
 * `kubevents run --source kube` as the CLI and the tests build them.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Writable } from 'node:stream';
import type { CheckpointStoreSpec } from '../checkpoint/open-store.js';
import type { Logger } from '../core/logger.js';
import type { Alert } from '../model/alert.js';
import type { Incident } from '../model/incident.js';
import type { KubeEvent } from '../model/kube-event.js';
import type { OutRecord } from '../model/out-record.js';
import type { ReloadResult } from '../pipeline/hot-swap.js';
import type { LoadedPipeline, LoadResult } from '../pipeline/load.js';
import type { KafkaSinkConfig } from '../sinks/kafka-publisher.js';
import type { SinkTopics } from '../sinks/kafka-topics.js';
import type { CachedKind } from '../sources/object-lookup.js';
import type { WatchTimingsInput } from '../sources/watch-resource.js';
import type { ShutdownReport } from './shutdown.js';

export const DEFAULT_PIPELINE = 'default';
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

export interface LiveJobKubeOptions {
  /** An already built KubeConfig (then kubeconfig/context/inCluster are ignored). */
  kubeConfig?: KubeConfig;
  kubeconfig?: string | null;
  context?: string | null;
  inCluster?: boolean;
  /** Namespaces to watch; null or empty: all. */
  namespaces?: readonly string[] | null;
  eventApi?: 'auto' | 'core/v1' | 'events.k8s.io/v1';
  cacheKinds?: readonly CachedKind[];
  timings?: WatchTimingsInput;
  /** Without a successful list for this long, say so in the log (the API server and why; default 60 s). */
  connectTimeoutMs?: number;
  /** Without a successful list for this long, fail the job (exit 1 with that line); default never. */
  failAfterMs?: number | null;
}

/** The API server has not answered a list for `failAfterMs`. */
export class ApiServerUnreachableError extends Error {
  override name = 'ApiServerUnreachableError';
}

export type LiveJobOutput =
  | {
      type: 'kafka';
      /** The Kafka sink (cluster and pipeline come from the job). */
      sink: Omit<KafkaSinkConfig, 'cluster' | 'pipeline'>;
      /** Verify at start that the topics exist (default true); `sink.createTopics` creates them instead. */
      checkTopics?: boolean;
      /** Directory for the pipelines' `file` sinks (Avro container files in segments; default "out"). */
      outDir?: string;
      /** Roll interval of those files (default 30 s). */
      rollIntervalMs?: number;
    }
  | {
      type: 'files';
      /** Directory of the Avro container files. */
      outDir: string;
      /** How often a segment of files is closed and its records checkpointed (default 30 s). */
      rollIntervalMs?: number;
      topics?: Partial<SinkTopics>;
    };

/** Where the checkpoints (and the operator state) are kept. */
export type LiveJobCheckpointStore = CheckpointStoreSpec;

export interface LiveJobOptions {
  /** Cluster name stamped on every record and part of the checkpoint key. */
  cluster: string;
  /** Pipeline name: the `kubevents.pipeline` header and part of the checkpoint key (default "default"). */
  pipeline?: string;
  kube: LiveJobKubeOptions;
  output: LiveJobOutput;
  checkpoint: LiveJobCheckpointStore;
  /** Minimum time between two checkpoint saves, ms (default 1000). */
  checkpointIntervalMs?: number;
  /** stop(): stop the watches, flush the sinks and save the checkpoints within this time (default 10 s). */
  shutdownTimeoutMs?: number;
  /** How long to wait for the object caches before starting the Event watch (default 60 s; then enrichment may be partial at first). */
  cacheSyncTimeoutMs?: number;
  logger?: Logger;
  /** prom-client registry for the sink, checkpoint and source metrics (default: the sink's default, none for checkpoints). */
  registry?: Registry;
  /**
   * The pipelines to run (loaded and valid, see loadPipelinesForRun); default: the bundled
   * pipelines/default.yaml. Their `kafka` sinks publish to their topics (files without Kafka), a
   * topic named like a kind's default topic (`k8s.events`, `k8s.alerts`, `k8s.incidents`) being
   * the configured topic of that kind; the Event watch covers `watchScope(pipelines)` within
   * `kube.namespaces`.
   */
  pipelines?: readonly LoadedPipeline[];
  /** Re-reads the pipeline files for reload() (SIGHUP); default: the bundled default again when `pipelines` is not given. */
  loadPipelines?: () => Promise<LoadResult>;
  /** Called for every event record the pipelines publish (once per event, e.g. --print-events). */
  onEvent?: (event: KubeEvent) => void;
  /** Called for every alert / incident record the pipelines emit (once per record, whatever its sinks). */
  onAlert?: (alert: Alert) => void;
  onIncident?: (incident: Incident) => void;
  /** The pipelines' `console` sinks: one readable line per record (default: logged at info). */
  onConsole?: (line: string, record: OutRecord) => void;
  /** The pipelines' `stdout` sinks (default: process.stdout). */
  stdout?: Writable & { isTTY?: boolean };
}

export interface LiveJob {
  /**
   * Resolves once the job was stopped with stop() and shut down (cleanly or not: see stop()'s
   * report); rejects when the job failed (start-up, the watch failed for good, a sink refused a
   * record, the processing threw), after a shutdown that saved what was acknowledged.
   */
  done: Promise<void>;
  /**
   * Graceful shutdown: stops the watches, flushes the sinks and saves the checkpoints within
   * `shutdownTimeoutMs`. Idempotent (the first call's options apply). The report says whether
   * everything was flushed and saved. `saveCheckpoints: false` stops the checkpoint saves at once
   * and skips the last one (a replica that lost its Lease: the checkpoints are the new leader's).
   */
  stop(options?: { saveCheckpoints?: boolean }): Promise<ShutdownReport>;
  /**
   * For /readyz: ok once the start-up finished (sink connected, object caches synced or their
   * wait timed out, Event watches started) and while the job is neither stopping nor failed.
   */
  readiness(): { ok: boolean; detail: string };
  /**
   * Re-reads the pipeline files (SIGHUP): an invalid set is refused (errors logged with
   * file:line:col, the running pipelines go on); a valid one takes over between two events, without
   * touching the watch or the checkpoints. Rejects while the job is not running yet.
   */
  reload(): Promise<ReloadResult>;
}
