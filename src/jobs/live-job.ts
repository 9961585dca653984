/**
 * The production job behind `kubevents run --source kube`: a live cluster's Events, through the
 * pipelines (pipelines/*.yaml, default pipelines/default.yaml; reload() swaps them between two
 * Events), to Kafka (or, without a broker, to Avro container files), with checkpoints after
 * acknowledgement and a graceful shutdown.
 *
 *   Event feeds (one per scope) --items--> positions --> pipelines --> OutRecords --> router --> sinks
 *     (src/sources/event-feed.ts)              |              | state                        | ack
 *     (resume from the checkpoint)            |              v                              |
 *                                             +---- JobCheckpointer <-----------------------+
 *                                                        | cuts: positions + the pipelines' state, committed as one
 *                                                        v
 *                                                 CheckpointStore (compacted topics, or a file and its folder)
 *
 * Positions. Every item of the Event source (occurrence, dead letter, SYNCED, GAP) opens a source
 * position in its scope's CheckpointTracker, in emission order. While the item goes through the
 * synchronous part of the processing, every record written to the sink (its KubeEvent record, a
 * dead letter, a gap, and any alert or incident the item triggers at once) carries that position;
 * the sink retains it until Kafka acknowledged the record (acks=all). A record written without an
 * item (a timer of the idle-advance heartbeat, a reload's flush) carries a position of its own
 * (`JobCheckpointer.unpositioned`).
 * - A watch event's position is its resourceVersion (src/sources/event-feed.ts says how list items
 *   and markers get theirs).
 * - Checkpoints (src/checkpoint/job-checkpointer.ts): every `checkpointIntervalMs`, between two
 *   items, a cut takes where each watch would resume and the pipelines' state (PipelineSet.snapshot:
 *   full, or the keys changed since the previous cut); it is committed, state and positions as one,
 *   once every position up to it is done (its records acknowledged). On stop, the last cut is taken
 *   when the input stops and committed after the sinks are flushed.
 * - On start the committed state is restored into the pipelines (an unchanged pipeline resumes, a
 *   changed one starts empty) and its positions are passed as `resumeFrom` to the Event watches:
 *   the Events after them are processed again into the state they followed. When the position is
 *   older than the API's history the source relists and publishes a Gap record (loss that cannot be
 *   avoided is reported, not hidden). Without a committed state, the watches resume from their
 *   checkpoints.
 * - Several `namespaces` are several watches whose resourceVersions interleave, so each namespace
 *   has its own position and checkpoint (key resource `events@<namespace>`); all namespaces share one
 *   (`events`). A reload that asks for more starts more watches (widenScope).
 *
 * Guarantees and limits (see also docs/kafka.md "Delivery guarantees"):
 * - At least once for KubeEvent, Gap and DeadLetter records: a crash (kill -9, OOM) re-publishes the
 *   records after the last committed checkpoint, with the same idempotencyKey. Their values are
 *   byte-identical except for `enrichment`, which is taken from the object caches when the record is
 *   (re)built: if the regarding object changed in between (a restart count, a phase), the replayed
 *   record shows its newer state. Upsert on idempotencyKey.
 * - Alerts, incidents and event windows: the state they derive from is committed with the
 *   positions, so after a crash, a graceful stop or a failover the records published are the same
 *   set as an uninterrupted run's (test/integration/restart-semantics.test.ts); records after the
 *   checkpoint are published again with the same keys and bytes.
 * - Backpressure. A watch cannot be paused, but it can be stopped and resumed: when any sink's
 *   bounded buffer is full (the router's `writable$` false: Kafka, the Avro files, stdout) the Event
 *   watches are unsubscribed, and resumed from the last resourceVersion they emitted once every
 *   sink has drained to half. Items already
 *   received wait in the sink's bounded waiting room. A write the sink refuses anyway (waiting room
 *   full, sink closed) fails the job loudly (`done` rejects; the CLI exits 1); the refused record's
 *   position was retained and never acked, so the saved checkpoint stays before it and a restart
 *   replays it. A pause longer than the API's history (etcd compaction, 5 min by default) ends in a
 *   Gap record on resume.
 * - The watch does not surface bookmarks, so a scope without Events does not move its checkpoint:
 *   after a restart that follows a long quiet period, the checkpoint may be older than the API's
 *   history, and a (possibly empty) Gap record is published.
 * - Records go to the topic their pipeline sink names (`OutRecord.topic`), dead letters and gaps to
 *   their kind's topic. Without Kafka, records go to Avro container files rolled every
 *   `rollIntervalMs` (`<out>/<topic>.<segment start>.avro`, one file per topic and segment); a segment's positions are acked once its files are
 *   closed and fsync'd, so the checkpoint follows the files. After a crash the unfinished segment
 *   may be truncated; its records are written again into a new segment.
 */
import { Subject, Subscription } from 'rxjs';
import { JobCheckpointer } from '../checkpoint/job-checkpointer.js';
import { openCheckpointStore } from '../checkpoint/open-store.js';
import { ResumePointStore } from '../checkpoint/resume-point-store.js';
import { checkpointKeyString, type CheckpointStore, type StateKey, type StatePosition } from '../checkpoint/store.js';
import { CheckpointTracker } from '../checkpoint/tracker.js';
import { silentLogger } from '../core/logger.js';
import type { Alert } from '../model/alert.js';
import type { Incident } from '../model/incident.js';
import type { KubeEvent } from '../model/kube-event.js';
import { deadLetterRecord, gapRecord, type OutRecord } from '../model/out-record.js';
import type { SourcePosition } from '../model/position.js';
import { deadLetterOf, gapRecordOf } from '../model/records.js';
import { PipelineSet } from '../pipeline/hot-swap.js';
import type { PipelinesSnapshot } from '../pipeline/state.js';
import { defaultPipelinePaths, loadPipelines, type LoadedPipeline, type LoadResult } from '../pipeline/load.js';
import { combineNamespaces, pipelineTopics, sinkTypesOf, watchScope } from '../pipeline/scope.js';
import { ConsoleSink } from '../sinks/console.js';
import type { SinkEnvironment } from '../sinks/definition.js';
import { DEFAULT_FILE_ROLL_INTERVAL_MS, FileSink } from '../sinks/file-sink.js';
import { connectKafkaSink, type KafkaPublisher } from '../sinks/kafka-publisher.js';
import { kafkajsEncoderPatched } from '../kafka/client.js';
import { DEFAULT_TOPICS, type SinkTopics } from '../sinks/kafka-topics.js';
import { sinksFor } from '../sinks/registry.js';
import { SinkRouter } from '../sinks/router.js';
import { SinkOverflowError } from '../sinks/sink.js';
import { StdoutSink } from '../sinks/stdout.js';
import { ApiServerProbe } from '../sources/api-server-probe.js';
import { EventFeed, type FeedDeps } from '../sources/event-feed.js';
import type { DeadLetter, EventSourceItem } from '../sources/event-source.js';
import { createKubeSource, type KubeSource } from '../sources/kube-source.js';
import { connectObjectCache } from '../sources/object-cache.js';
import { CACHED_KINDS } from '../sources/object-lookup.js';
import { ApiServerUnreachableError, DEFAULT_PIPELINE, DEFAULT_SHUTDOWN_TIMEOUT_MS, type LiveJob, type LiveJobOptions } from './live-job-options.js';
import { loadOperatorState, ResumePositions, takeOver } from './resume-positions.js';
import { gracefulShutdown, type ShutdownReport } from './shutdown.js';

export * from './live-job-options.js';

const DEFAULT_MAX_BUFFERED_RECORDS = 10_000;
const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export function runLiveJob(options: LiveJobOptions): LiveJob {
  const logger = (options.logger ?? silentLogger).child({ component: 'live-job' });
  const baseLogger = options.logger ?? silentLogger;
  const cluster = options.cluster;
  const pipeline = options.pipeline ?? DEFAULT_PIPELINE;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const output = options.output;
  const kindTopics: SinkTopics = { ...DEFAULT_TOPICS, ...(output.type === 'kafka' ? output.sink.topics : output.topics) };

  let stopping = false;
  let started: { cachesSynced: boolean } | null = null;
  let shutdown: Promise<ShutdownReport> | undefined;
  let resolveDone!: () => void;
  let rejectDone!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => undefined); // the caller handles it; never an unhandled rejection

  // what exists so far (start-up may be cut short by stop() or a failure)
  let store: CheckpointStore | undefined;
  let probe: ApiServerProbe | undefined;
  let checkpoints: JobCheckpointer | undefined;
  let kafka: KafkaPublisher | null = null;
  let files: FileSink | undefined;
  let router: SinkRouter | undefined;
  let pipelines: PipelineSet | null = null;
  const feeds: EventFeed[] = [];
  const running = new Subscription();
  let pausePoll: NodeJS.Timeout | undefined;
  let paused = false;
  // the processing's input, and the position of the item being handled: records written meanwhile derive from it
  const input = new Subject<KubeEvent>();
  let current: SourcePosition | null = null;
  const abortStartup = new AbortController();
  // where the Event watches resume: the positions of the restored state, else each one's checkpoint
  let resume: ResumePositions | undefined;
  let feedDeps: FeedDeps | undefined;
  let liveSource: KubeSource | undefined;

  /** A feed for `namespace` (null: all), resuming per positionFor (or from `position`), followed by the checkpoints. */
  async function addFeed(namespace: string | null, deps: FeedDeps, given?: StatePosition | null): Promise<EventFeed> {
    const key = resume!.keyOf(namespace);
    const { position, via } = given !== undefined ? { position: given, via: 'the watches it takes over' } : await resume!.positionFor(namespace);
    const rv = position?.resourceVersion ?? null;
    logger.info(
      {
        checkpoint: checkpointKeyString(key),
        resourceVersion: rv,
        from: resume!.from,
        ...(via ? { via } : {}),
        ...(position?.covered ? { covered: position.covered } : {}),
      },
      rv ? 'resuming from checkpoint' : 'no checkpoint: starting from a fresh list',
    );
    const feed = new EventFeed(
      namespace,
      {
        key,
        tracker: new CheckpointTracker(key.resource, rv),
        resumeFrom: rv ? { resourceVersion: rv, time: null } : null,
        covered: position?.covered ?? null,
      },
      deps,
    );
    feeds.push(feed);
    checkpoints!.addSource(feed);
    return feed;
  }

  /**
   * After a reload: the Event watches cover what the pipelines now ask for (within --namespace).
   * Namespaces outside the watched ones get watches of their own (resuming from their checkpoint,
   * or listing, as at a start; the object caches are extended to them); pipelines asking for all
   * namespaces replace the per-namespace watches by one on all namespaces, resuming from the
   * earliest of theirs and skipping what each already handled; other selectors restart the
   * watches with them, from where they stand. The scope never narrows (the pipelines filter).
   */
  async function widenScope(loaded: readonly LoadedPipeline[]): Promise<void> {
    const deps = feedDeps;
    const source = liveSource;
    if (!deps || !source || stopping) return;
    const scope = watchScope(loaded);
    const wanted = combineNamespaces(options.kube.namespaces, scope.namespaces, logger);
    const active = feeds.filter((f) => !f.retired);
    // selectors: a watch filtered server-side restarts with the new ones when they differ
    const selectors = { fieldSelector: scope.fieldSelector, labelSelector: scope.labelSelector };
    deps.fieldSelector = selectors.fieldSelector;
    deps.labelSelector = selectors.labelSelector;
    for (const feed of active) {
      const now = feed.scope;
      if (
        (now.fieldSelector !== undefined && now.fieldSelector !== selectors.fieldSelector) ||
        (now.labelSelector !== undefined && now.labelSelector !== selectors.labelSelector)
      ) {
        logger.info({ watch: feed.resource, from: now, to: selectors }, 'reload: the Event watch takes the new selectors, from where it stands');
        feed.setSelectors(selectors);
        if (paused) feed.pause();
      }
    }
    if (active.some((f) => f.namespace === null)) return; // all namespaces are watched already
    const added: EventFeed[] = [];
    const extendCaches = (namespaces: string[] | null): void => {
      running.add(connectObjectCache(source.objects, source.registry, { kinds: options.kube.cacheKinds ?? CACHED_KINDS, namespaces, logger: baseLogger }));
    };
    if (wanted.length === 0) {
      // all namespaces: one watch takes over from the per-namespace ones
      const handled = active.filter((f) => f.resumePoint).map((f) => [f.namespace!, f.resumePoint!.resourceVersion] as const);
      for (const f of active) f.retire();
      extendCaches(null);
      const position = handled.length > 0 ? takeOver(handled) : null;
      logger.info({ from: active.map((f) => f.resource), position }, 'reload: the pipelines read all namespaces: one Event watch on all takes over');
      added.push(await addFeed(null, deps, position));
    } else {
      const watched = new Set(active.map((f) => f.namespace));
      const extra = wanted.filter((ns) => !watched.has(ns));
      if (extra.length === 0) return;
      logger.info({ namespaces: extra }, 'reload: the pipelines read more namespaces: starting their Event watches');
      extendCaches(extra);
      for (const ns of extra) added.push(await addFeed(ns, deps));
    }
    if (stopping) return;
    if (!paused) for (const feed of added) feed.start();
  }

  const stopInput = (): void => {
    probe?.stop();
    for (const feed of feeds) feed.pause();
    if (pausePoll) clearInterval(pausePoll);
    // no item comes any more: the last cut of the state, before the pipelines are torn down
    checkpoints?.prepareStop();
    running.unsubscribe();
  };

  const runShutdown = (why: 'stop' | 'failure', error?: Error, saveCheckpoints = true): Promise<ShutdownReport> => {
    if (shutdown) return shutdown;
    stopping = true;
    if (!saveCheckpoints) {
      checkpoints?.abandon();
      logger.info('not saving checkpoints from now on: the records still flushed are replayed by whoever resumes');
    }
    // at once: an item handled after this point could be skipped by a closing sink, and the
    // checkpoint must not pass what was received but not written
    stopInput();
    abortStartup.abort();
    shutdown = (async () => {
      // a start-up in progress notices `stopping` at its next step
      await withTimeout(
        startup.catch(() => undefined),
        Math.min(5_000, shutdownTimeoutMs / 2),
      );
      // also the checkpointer a start-up in progress made meanwhile
      if (!saveCheckpoints) checkpoints?.abandon();
      const report = await gracefulShutdown(
        {
          stopSources: stopInput,
          sinks: router ? [router] : kafka ? [kafka] : [],
          checkpointers: checkpoints ? [checkpoints] : [],
          stores: store ? [store] : [],
        },
        { deadlineMs: shutdownTimeoutMs, logger },
      );
      if (files && files.files.length > 0) logger.info({ files: files.files.map((f) => `${f.path} (${f.records} records)`) }, 'Avro files written');
      if (why === 'failure') rejectDone(error ?? new Error('live job failed'));
      else resolveDone();
      return report;
    })();
    return shutdown;
  };

  const fail = (error: Error): void => {
    // failing while an item is being handled (the processing threw): hold its position, so the
    // checkpoint saved on the way out stays before it and a restart replays it
    if (current) {
      current.tracker.retain(current);
      current = null;
    }
    if (stopping) {
      logger.debug({ err: error }, 'error while stopping (ignored)');
      return;
    }
    logger.error({ err: error }, 'live job failed: shutting down; records not acknowledged are replayed from the checkpoint on the next start');
    void runShutdown('failure', error);
  };

  /** Every record, to the sink it names; a record written while an item is handled derives from it. */
  const write = (record: OutRecord): void => {
    if (!router) {
      for (const p of record.positions ?? []) p.tracker.retain(p); // never acked: the checkpoint stays before it
      fail(new Error(`no sink for a ${record.kind} record`));
      return;
    }
    if (current) {
      router.write({ ...record, positions: [current] });
      return;
    }
    // emitted by a timer or a reload's flush: a position of its own, so the state checkpoint waits for it
    const unpositioned = checkpoints?.unpositioned;
    if (!unpositioned) {
      router.write(record);
      return;
    }
    const position = unpositioned.open('');
    try {
      router.write({ ...record, positions: [position] });
    } finally {
      unpositioned.close(position);
    }
  };

  const sinkFailed = (error: Error, record: OutRecord): void => {
    const from = record.origin ? `pipeline ${record.origin.pipeline}: ` : '';
    if (error instanceof SinkOverflowError)
      fail(
        new Error(`${from}the ${record.sink ?? 'kafka'} sink refused a ${record.kind} record (${record.idempotencyKey}): ${error.message}`, { cause: error }),
      );
    else fail(new Error(`${from}writing a ${record.kind} record to the ${record.sink ?? 'kafka'} sink failed: ${error.message}`, { cause: error }));
  };

  /** The sinks this run offers the pipelines (see src/sinks/definition.ts). */
  const environment: SinkEnvironment = {
    get kafka() {
      return kafka;
    },
    files: () =>
      (files ??= (() => {
        const dir = output.outDir ?? 'out';
        logger.info({ dir }, 'writing Avro container files');
        return new FileSink(dir, {
          rollIntervalMs: output.rollIntervalMs ?? DEFAULT_FILE_ROLL_INTERVAL_MS,
          topics: kindTopics,
          cluster,
          pipeline,
          logger: baseLogger,
          onError: fail,
        });
      })()),
    stdout: () => new StdoutSink({ ...(options.stdout ? { stream: options.stdout } : {}) }),
    console: () => new ConsoleSink(options.onConsole ?? ((line, record) => baseLogger.info({ pipeline: record.origin?.pipeline, kind: record.kind }, line))),
  };

  const startup = (async () => {
    // --- the pipelines, and the Event watch scope they need
    const defaults = options.pipelines ? null : defaultPipelinePaths();
    const load = options.loadPipelines ?? (defaults ? () => loadPipelines(defaults) : undefined);
    let loaded: readonly LoadedPipeline[];
    if (options.pipelines) loaded = options.pipelines;
    else {
      const result = await loadPipelines(defaults ?? []);
      if (!result.ok)
        throw new Error(
          `the bundled default pipeline is invalid: ${result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('; ')}`,
        );
      loaded = result.pipelines;
    }
    if (stopping) return;
    const scope = watchScope(loaded);
    const namespaces = combineNamespaces(options.kube.namespaces, scope.namespaces, logger);

    // --- the cluster
    const kubeSource = createKubeSource({
      ...(options.kube.kubeConfig ? { kubeConfig: options.kube.kubeConfig } : {}),
      kubeconfig: options.kube.kubeconfig ?? null,
      context: options.kube.context ?? null,
      inCluster: options.kube.inCluster ?? false,
      cluster,
      // the caches' scope; the job runs its own Event watches (one per scope, below)
      namespaces: namespaces.length > 0 ? namespaces : null,
      cacheKinds: options.kube.cacheKinds,
      timings: options.kube.timings,
      logger: baseLogger,
    });
    const scopes: (string | null)[] = namespaces.length === 0 ? [null] : namespaces;
    watchReachability((probe = new ApiServerProbe(kubeSource.kubeConfig)));

    // --- checkpoints: the positions of the Event watches and the pipelines' state, committed as one
    const stateKey: StateKey = { cluster, pipeline };
    store = new ResumePointStore(openCheckpointStore(options.checkpoint, baseLogger, logger, stateKey), logger);
    checkpoints = new JobCheckpointer({
      store,
      key: stateKey,
      intervalMs: options.checkpointIntervalMs ?? 1000,
      snapshot: (full) => {
        const snapshot = pipelines!.snapshot(full);
        return { value: snapshot, pipelines: snapshot.pipelines.map((p) => ({ name: p.name, fingerprint: p.fingerprint })) };
      },
      logger,
      ...(options.registry ? { registry: options.registry } : {}),
    });
    const restored = await loadOperatorState(checkpoints, logger);
    if (stopping) return;
    resume = new ResumePositions({ cluster, pipeline }, store, restored?.positions ?? null);
    feedDeps = {
      kubeSource,
      cluster,
      eventApi: options.kube.eventApi ?? 'auto',
      logger: baseLogger,
      registry: options.registry,
      fieldSelector: scope.fieldSelector,
      labelSelector: scope.labelSelector,
      onItem: (feed, item, position) => handleItem(feed, item, position),
      onError: fail,
    };
    for (const namespace of scopes) {
      await addFeed(namespace, feedDeps);
      if (stopping) return;
    }

    // --- the sinks
    if (output.type === 'kafka') {
      const connected = await connectKafkaSink(
        {
          ...output.sink,
          cluster,
          pipeline,
          maxBufferedRecords: output.sink.maxBufferedRecords ?? DEFAULT_MAX_BUFFERED_RECORDS,
          maxBufferedBytes: output.sink.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
          routes: pipelineTopics(loaded, kindTopics),
          checkTopics: output.checkTopics !== false && !output.sink.createTopics,
        },
        { logger: baseLogger.child({ component: 'kafka-sink' }), ...(options.registry ? { registry: options.registry } : {}) },
      );
      if (stopping) {
        // stopped meanwhile: nothing was written yet, just disconnect
        await connected.close(1_000);
        return;
      }
      kafka = connected;
      logger.info(
        {
          brokers: output.sink.kafka.brokers,
          encoding: output.sink.encoding,
          compression: connected.sink.compression,
          kafkajsEncoderPatched,
          topics: connected.sink.topics,
          pipelineTopics: pipelineTopics(loaded, kindTopics).map((r) => r.topic),
        },
        'publishing to Kafka',
      );
    } else {
      logger.info({ dir: output.outDir }, 'no Kafka brokers: writing Avro container files');
    }
    router = new SinkRouter(sinksFor(environment, sinkTypesOf(loaded)), sinkFailed);
    if (stopping) return;

    // --- the processing: called in exactly one place
    running.add(wireProcessing(kubeSource.objects, loaded, load, restored?.snapshot ?? null));

    // --- backpressure: pause the watches while any sink is full
    const target = router;
    running.add(
      target.writable$.subscribe((writable) => {
        if (!writable && !stopping && !paused) pauseInput(target);
      }),
    );

    // --- object caches for enrichment, then the Event watches
    running.add(kubeSource.connectCaches());
    const synced = await withTimeout(
      kubeSource.objects.whenSynced(undefined, abortStartup.signal).catch(() => 'aborted' as const),
      options.cacheSyncTimeoutMs ?? 60_000,
    );
    if (synced === 'timeout') logger.warn('object caches not synced in time: starting anyway (early events may lack enrichment)');
    else if (synced !== 'aborted') probe.markListed();
    if (stopping) return;
    for (const feed of feeds) feed.start();
    checkpoints.start();
    started = { cachesSynced: synced !== 'timeout' };
    liveSource = kubeSource;
    // a reload during the start-up: the watches cover what it asks for
    const running$ = pipelines as PipelineSet | null; // assigned by wireProcessing
    if (running$) await widenScope(running$.pipelines);
    logger.info({ scopes: feeds.map((f) => f.resource), cluster, pipeline, pipelines: loaded.map((p) => p.name) }, 'live job running');
  })();
  startup.catch((error: unknown) => fail(asError(error)));

  /**
   * The pipelines on the events handed to `input`, every record to the sink it names. A record
   * emitted while an item is handled carries that item's position (`current`); records emitted
   * later (timers, a reload flushing a retired pipeline) carry none.
   */
  function wireProcessing(
    lookup: PipelineSetLookup,
    loaded: readonly LoadedPipeline[],
    load: (() => Promise<LoadResult>) | undefined,
    restore: PipelinesSnapshot | null,
  ): Subscription {
    pipelines = new PipelineSet({
      lookup,
      pipelines: loaded,
      restore,
      ...(load ? { load: () => load().then(prepareReload) } : {}),
      logger: baseLogger,
      ...(options.registry ? { registry: options.registry } : {}),
    });
    // one record may go to several sinks: the callbacks see it once
    const notified = new WeakSet<object>();
    const notify = (record: OutRecord): void => {
      const value = record.value as object;
      if (typeof value !== 'object' || value === null || notified.has(value)) return;
      notified.add(value);
      if (record.kind === 'KubeEvent') options.onEvent?.(value as KubeEvent);
      else if (record.kind === 'Alert') options.onAlert?.(value as Alert);
      else if (record.kind === 'Incident') options.onIncident?.(value as Incident);
    };
    return pipelines.run(input.asObservable()).subscribe({
      next: (record) => {
        try {
          write(record);
          notify(record);
        } catch (error) {
          fail(
            new Error(
              `pipeline ${record.origin?.pipeline ?? '?'}: writing a ${record.kind} record to the ${record.sink ?? 'kafka'} sink failed: ${asError(error).message}`,
              { cause: error },
            ),
          );
        }
      },
      error: (error: unknown) => fail(new Error(`processing failed: ${asError(error).message}`, { cause: error })),
    });
  }

  /**
   * A valid reload is refused when a Kafka topic it names for the first time cannot be used
   * (missing, the registry refuses it); the sink types it uses for the first time are offered.
   */
  async function prepareReload(result: LoadResult): Promise<LoadResult> {
    if (!result.ok) return result;
    if (kafka) {
      try {
        await kafka.prepareRoutes(pipelineTopics(result.pipelines, kindTopics));
      } catch (error) {
        // point at the (first) pipeline naming a topic the error is about
        const message = asError(error).message;
        const names = (p: LoadedPipeline) => pipelineTopics([p], kindTopics).some((r) => message.includes(r.topic));
        const at = result.pipelines.find(names) ?? result.pipelines[0];
        return {
          ...result,
          ok: false,
          diagnostics: [
            ...result.diagnostics,
            {
              file: at?.file ?? '?',
              line: at?.line ?? 1,
              column: 1,
              severity: 'error',
              message: `pipeline ${at?.name ?? '?'}: ${message}`,
              hint: 'create the topic, or run with --create-topics',
            },
          ],
        };
      }
    }
    router?.add(sinksFor(environment, sinkTypesOf(result.pipelines)));
    return result;
  }

  function handleItem(feed: EventFeed, item: EventSourceItem, position: SourcePosition): void {
    switch (item.type) {
      case 'EVENT':
        current = position;
        try {
          input.next(item.event);
        } finally {
          current = null;
        }
        return;
      case 'DEAD_LETTER':
        logger.warn({ reason: item.deadLetter.reason, resourceVersion: item.deadLetter.resourceVersion }, 'malformed Event: published as a dead letter');
        write(deadLetterFromSource(item.deadLetter, cluster, pipeline, feed.resource, [position]));
        return;
      case 'GAP':
        logger.warn(
          { resource: item.resource, from: item.fromResourceVersion, to: item.toResourceVersion, cause: item.cause, reason: item.reason },
          'Events may have been missed (the API history did not reach back far enough): publishing a Gap record',
        );
        write(gapRecord(gapRecordOf(item, cluster), [position]));
        return;
      case 'SYNCED':
        probe?.markListed();
        logger.debug({ resourceVersion: item.resourceVersion }, 'Event list synced');
        return;
    }
  }

  /**
   * Until a first list succeeds: after connectTimeoutMs an error line naming the API server and the
   * last cause (again every 5 minutes), after failAfterMs (if set) the job fails with that line.
   */
  function watchReachability(p: ApiServerProbe): void {
    const warnAfter = options.kube.connectTimeoutMs ?? 60_000;
    const failAfter = options.kube.failAfterMs ?? null;
    let warnedAt = -Infinity;
    p.start();
    const check = setInterval(() => {
      if (p.reachable || stopping) {
        clearInterval(check);
        return;
      }
      if (failAfter !== null && p.waitingMs >= failAfter) {
        clearInterval(check);
        fail(new ApiServerUnreachableError(`${p.describe()}; giving up (--fail-after)`));
        return;
      }
      if (p.waitingMs >= warnAfter && Date.now() - warnedAt >= 5 * 60_000) {
        warnedAt = Date.now();
        logger.error({ server: p.server, cause: p.lastError }, `${p.describe()}; still retrying with backoff`);
      }
    }, 1_000);
    check.unref();
    running.add(() => clearInterval(check));
  }

  function pauseInput(target: SinkRouter): void {
    paused = true;
    for (const feed of feeds) feed.pause();
    logger.warn('sink buffer full: Event watch paused; it resumes from where it stopped once the sinks have drained');
    pausePoll = setInterval(() => {
      if (stopping || !target.drained()) return;
      clearInterval(pausePoll);
      pausePoll = undefined;
      paused = false;
      logger.info(
        { resumeFrom: Object.fromEntries(feeds.map((f) => [f.resource, f.resumePoint?.resourceVersion ?? null])) },
        'sinks drained: resuming the Event watch',
      );
      for (const feed of feeds) feed.start();
    }, 200);
    pausePoll.unref();
  }

  return {
    done,
    stop: (stopOptions) => runShutdown('stop', undefined, stopOptions?.saveCheckpoints ?? true),
    reload: async () => {
      if (!pipelines) throw new Error('the job is not running yet: nothing to reload');
      const result = await pipelines.reload();
      if (result.applied)
        await widenScope(pipelines.pipelines).catch((error: unknown) =>
          fail(new Error(`widening the Event watch scope failed: ${asError(error).message}`, { cause: error })),
        );
      return result;
    },
    readiness: () => {
      if (stopping) return { ok: false, detail: 'stopping' };
      if (probe && !probe.reachable)
        return { ok: false, detail: `connecting to the API server ${probe.server}${probe.lastError ? ` (${probe.lastError})` : ''}` };
      if (!started) return { ok: false, detail: 'starting (connecting the sink, syncing the object caches)' };
      return {
        ok: true,
        detail: `running (${kafka ? 'Kafka sink connected' : 'writing files'}; object caches ${started.cachesSynced ? 'synced' : 'not synced in time'})`,
      };
    },
  };
}

type PipelineSetLookup = ConstructorParameters<typeof PipelineSet>[0]['lookup'];

function deadLetterFromSource(d: DeadLetter, cluster: string, pipeline: string, resource: string, positions: readonly SourcePosition[]): OutRecord {
  const meta = (d.raw as { metadata?: { namespace?: unknown; name?: unknown; uid?: unknown } } | null)?.metadata;
  const ns = typeof meta?.namespace === 'string' ? meta.namespace : '';
  const name = typeof meta?.name === 'string' ? meta.name : '';
  const letter = deadLetterOf({
    reason: d.reason,
    source: `${resource} ${ns ? `${ns}/` : ''}${name || '?'}@${d.resourceVersion}`,
    payload: d.raw,
    error: d.reason,
    stage: 'normalize',
    pipeline,
    cluster,
    time: d.detectedAt,
  });
  return deadLetterRecord(letter, `${cluster}/Event/${ns}/${name}`, `${cluster}/events/${ns}/${name}@${d.resourceVersion}`, positions);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]).finally(() => clearTimeout(timer));
}
