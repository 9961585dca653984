/**
 * `kubevents run --source kube`: the production run mode. Watches a live cluster's Events (plus the
 * object caches for enrichment), runs the pipeline files (--pipelines, else the bundled
 * pipelines/default.yaml; SIGHUP reloads them) and publishes events, alerts, incidents,
 * gaps and dead letters to Kafka with checkpoints after acknowledgement (src/jobs/live-job.ts);
 * without Kafka brokers, writes Avro container files under --out with a file checkpoint.
 *
 * Settings: the run configuration (src/config/run-config.ts: `--config FILE` or
 * $KUBEVENTS_CONFIG, then KUBEVENTS_* environment overrides) gives the Kafka connection (brokers,
 * TLS, SASL), topics, encoding, Schema Registry and checkpoint store; these command-line options
 * override it: --kafka-brokers, --encoding, --schema-registry, --checkpoint-file. --cluster,
 * --kubeconfig, --context and --namespace override the file's `cluster` and `source.kube`.
 *
 * Operations: unless `metrics.enabled: false`, serves /metrics, /healthz and /readyz on
 * `metrics.address:port` (default 0.0.0.0:9090) from start to exit; /readyz passes once the job runs
 * (sink connected, object caches synced), and always on a standby. With `leaderElection.enabled`
 * the job runs only while this replica holds the Lease: on losing it the job is stopped gracefully
 * without saving checkpoints any more (they are the new leader's) and the process exits 1 without releasing (Kubernetes restarts it as a standby); on SIGTERM the
 * job shuts down first, then the lease is released.
 *
 * Exit: 0 after a clean SIGTERM/SIGINT shutdown (watch stopped, sink flushed, checkpoint saved
 * within --shutdown-timeout); 1 when the job fails; 2 for bad settings (nothing started); 130 on a
 * second signal, or when the shutdown could not flush and save in time (what was not acknowledged
 * is replayed from the checkpoint on the next start).
 */
import { join } from 'node:path';
import {
  CHECKPOINT_FILE_NAME,
  checkpointLocation,
  ConfigError,
  formatIssues,
  kafkaClientConfigOf,
  loadRunConfig,
  schemaRegistryConfigOf,
  sinkTopicsOf,
  type ConfigIssue,
  type LoadedRunConfig,
} from '../config/run-config.js';
import { explainKafkaError, type KafkaConnectionProblem } from '../kafka/client.js';
import type { Logger } from '../core/logger.js';
import { parseDuration } from '../core/duration.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Subscription } from 'rxjs';
import { leaderElectionOptionsOf } from '../config/run-config.js';
import { startHttpServer, type CheckResult, type OpsHttpServer } from '../ops/http-server.js';
import { ApiServerUnreachableError, runLiveJob, type LiveJob, type LiveJobCheckpointStore, type LiveJobOptions, type LiveJobOutput } from '../jobs/live-job.js';
import { leaderAwareCheck, LeaderElector } from '../ops/leader-election.js';
import { processRegistries, processRegistry } from '../core/metrics.js';
import { onShutdownSignals } from '../jobs/shutdown.js';
import { logLoadDiagnostics, reloadOnSignal } from '../pipeline/hot-swap.js';
import { watchPipelineFiles } from '../pipeline/watch-files.js';
import { StdoutSink } from '../sinks/stdout.js';
import { kubeEventRecord } from '../model/out-record.js';
import { KubeConfigError, loadKubeConfig } from '../sources/kubeconfig.js';
import type { KubeEvent } from '../model/kube-event.js';
import { CliError, EXIT, settleLogs } from './exit-codes.js';
import type { RunOptions } from './run-options.js';
import { loadPipelinesForRun } from './pipeline-commands.js';

/** Command-line options that override a configuration setting, as the variable carrying them. */
const FLAG_ENV: Record<string, string> = {
  KUBEVENTS_KAFKA_BROKERS: '--kafka-brokers',
  KUBEVENTS_ENCODING: '--encoding',
  KUBEVENTS_SCHEMA_REGISTRY_URL: '--schema-registry',
};

export function parseFailAfter(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  if (ms === null || ms <= 0) throw new CliError(`--fail-after "${text}" must be a duration such as 2m or 90s (a plain number is seconds)`);
  return ms;
}

export function parseShutdownTimeout(text: string | undefined): number {
  if (text === undefined) return 10_000;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(`--shutdown-timeout "${text}" must be a number of seconds > 0`);
  return Math.round(seconds * 1000);
}

export function namespacesOf(list: readonly string[] | undefined): string[] | undefined {
  if (!list) return undefined;
  return list
    .flatMap((n) => n.split(','))
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
}

/** The run configuration with the command-line overrides applied; CliError (exit 2) when invalid. */
export function loadKubeRunConfig(options: RunOptions, env: NodeJS.ProcessEnv = process.env): LoadedRunConfig {
  const overrides: Record<string, string> = {};
  if (options.kafkaBrokers !== undefined) overrides['KUBEVENTS_KAFKA_BROKERS'] = options.kafkaBrokers;
  if (options.encoding !== undefined) overrides['KUBEVENTS_ENCODING'] = options.encoding;
  if (options.schemaRegistry !== undefined) overrides['KUBEVENTS_SCHEMA_REGISTRY_URL'] = options.schemaRegistry;
  try {
    return loadRunConfig({ file: options.config ?? null, env: { ...env, ...overrides } });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const issues: ConfigIssue[] = error.issues.map((issue) => {
      const name = issue.where.startsWith('env ') ? issue.where.slice(4) : '';
      const flag = overrides[name] !== undefined ? FLAG_ENV[name] : undefined;
      let hint = issue.hint;
      if (issue.path === 'schemaRegistry' && /confluent/.test(issue.message)) hint = 'pass --schema-registry URL, or --encoding avro-binary';
      return { ...issue, where: flag ?? issue.where, ...(hint ? { hint } : {}) };
    });
    throw new CliError(formatIssues(issues), EXIT.usage);
  }
}

/** Job options from the command line and the configuration. */
export function kubeJobOptionsOf(options: RunOptions, loaded: LoadedRunConfig): Omit<LiveJobOptions, 'logger'> {
  const config = loaded.config;
  const kafka = kafkaClientConfigOf(config);
  const topics = sinkTopicsOf(config);
  const output: LiveJobOutput = kafka
    ? {
        type: 'kafka',
        sink: {
          kafka,
          encoding: config.encoding,
          compression: config.kafka?.compression,
          schemaRegistry: schemaRegistryConfigOf(config),
          topics,
          createTopics: options.createTopics ? {} : false,
        },
        // the pipelines' file sinks
        outDir: options.out,
      }
    : { type: 'files', outDir: options.out, topics };

  let checkpoint: LiveJobCheckpointStore;
  if (options.checkpointFile) {
    checkpoint = { type: 'file', path: options.checkpointFile };
  } else {
    // the same decision `config print` reports
    const where = checkpointLocation(config, options.out);
    checkpoint =
      where.store === 'kafka' && kafka
        ? { type: 'kafka', kafka, topic: where.topic }
        : { type: 'file', path: where.store === 'file' ? where.file : join(options.out, CHECKPOINT_FILE_NAME) };
  }

  const kube = config.source.kube;
  const namespaces = namespacesOf(options.namespace) ?? kube.namespaces;
  const kubeconfig = options.kubeconfig ?? kube.kubeconfig ?? null;
  return {
    // --cluster has a default: the configuration's name wins over that default
    cluster: options.cluster !== 'default' ? options.cluster : config.cluster,
    kube: {
      kubeconfig,
      context: options.context ?? kube.context ?? null,
      inCluster: options.kubeconfig === undefined && kube.inCluster,
      namespaces: namespaces.length > 0 ? namespaces : null,
      connectTimeoutMs: kube.connectTimeout,
      failAfterMs: options.failAfter !== undefined ? parseFailAfter(options.failAfter) : (kube.failAfter ?? null),
    },
    output,
    checkpoint,
    checkpointIntervalMs: config.checkpoint.interval,
    shutdownTimeoutMs: parseShutdownTimeout(options.shutdownTimeout),
  };
}

/** --pipelines wins over the config file's `pipelines` ($KUBEVENTS_PIPELINES); neither: the bundled default. */
export function pipelinePathsOf(options: Pick<RunOptions, 'pipelines'>, config: Pick<LoadedRunConfig['config'], 'pipelines'>): string[] | undefined {
  return options.pipelines && options.pipelines.length > 0 ? options.pipelines : config.pipelines;
}

export async function runKubeCommand(options: RunOptions, logger: Logger): Promise<number> {
  const loaded = loadKubeRunConfig(options);
  const config = loaded.config;
  for (const warning of loaded.warnings) logger.warn(warning);
  // the pipelines (--pipelines, else the config's `pipelines`, else the bundled default): any invalid
  // file is bad usage (exit 2), nothing starts
  const { pipelines, load: loadPipelines, paths: pipelinePaths } = await loadPipelinesForRun(pipelinePathsOf(options, config), logger);
  const jobOptions = kubeJobOptionsOf(options, loaded);
  let kubeConfig: KubeConfig;
  try {
    // checked before anything starts: a bad kubeconfig is bad usage (exit 2)
    kubeConfig = jobOptions.kube.kubeConfig = loadKubeConfig(jobOptions.kube);
  } catch (error) {
    if (error instanceof KubeConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
  const printer = options.printEvents ? new StdoutSink() : null;
  const registry = processRegistry();

  // leader election (Lease): the job runs only while this replica leads
  let elector: LeaderElector | null = null;
  if (config.leaderElection.enabled) {
    try {
      elector = new LeaderElector({ kubeConfig, ...leaderElectionOptionsOf(config), logger, registry, releaseOnStop: true });
    } catch (error) {
      throw new CliError(`leaderElection: ${error instanceof Error ? error.message : String(error)}`, EXIT.usage);
    }
  }

  let job: LiveJob | null = null;
  const jobReady = async (): Promise<CheckResult> => (job ? job.readiness() : { ok: false, detail: 'job not started' });

  // /metrics, /healthz, /readyz (the Deployment's probes), before anything else starts
  let server: OpsHttpServer | null = null;
  if (config.metrics.enabled) {
    try {
      server = await startHttpServer({
        address: config.metrics.address,
        port: config.metrics.port,
        registries: processRegistries(),
        readinessChecks: { job: elector ? leaderAwareCheck(elector, jobReady) : jobReady },
        logger,
      });
    } catch (error) {
      throw new CliError(
        `cannot serve metrics on ${config.metrics.address}:${config.metrics.port}: ${error instanceof Error ? error.message : String(error)}`,
        EXIT.failure,
      );
    }
    logger.info({ url: server.url }, 'serving /metrics, /healthz and /readyz');
  }

  // the pipelines a job starts with (a SIGHUP on a standby replaces them, below)
  let pipelinesToRun = pipelines;
  const startJob = (): LiveJob =>
    runLiveJob({
      ...jobOptions,
      logger,
      registry,
      ...(printer ? { onEvent: (e: KubeEvent) => void printer.write(kubeEventRecord(e)) } : {}),
      pipelines: pipelinesToRun,
      loadPipelines,
    });
  // SIGHUP: re-read the pipeline files. A running job's pipelines take over the valid ones; without
  // a job (a standby) a valid set is what the job runs when this replica starts leading.
  const reloadWithoutJob = async (): Promise<void> => {
    const loaded = await loadPipelines();
    const errors = logLoadDiagnostics(loaded, logger);
    if (!loaded.ok) {
      logger.error({ errors }, `pipeline reload refused: ${errors} error(s); a job started later runs the previous files`);
      return;
    }
    pipelinesToRun = loaded.pipelines;
    logger.info({ pipelines: pipelinesToRun.map((p) => p.name) }, 'pipeline files re-read: the job runs them when this replica starts leading');
  };
  const reload = (): Promise<unknown> => (job ? job.reload() : reloadWithoutJob());
  const stopReloading = reloadOnSignal({ reload }, { logger });
  // a ConfigMap update (the kubelet swaps ..data) or an edited file: the same reload as SIGHUP
  const stopWatching = await watchPipelineFiles(
    pipelinePaths,
    () => {
      logger.info({ paths: pipelinePaths }, 'the pipeline files changed: reloading them');
      reload().catch((error: unknown) => logger.error({ err: error }, 'pipeline reload failed; the running pipelines go on unchanged'));
    },
    { logger },
  );

  // a job that failed on the Kafka connection (TLS, SASL, unreachable): its one-line explanation
  let kafkaProblem: KafkaConnectionProblem | null = null;
  let apiProblem: string | null = null;
  let code: number;
  try {
    code = await new Promise<number>((resolve) => {
      let finished = false; // a signal, a failure or a lost lease: whichever came first decides
      let leaderSub: Subscription | undefined;
      const finish = (exitCode: number) => {
        if (finished) return;
        finished = true;
        leaderSub?.unsubscribe();
        resolve(exitCode);
      };

      const watchJob = (started: LiveJob) => {
        started.done.then(
          () => undefined, // stopped by a signal or a lost lease: that path decides the exit code
          async (error: unknown) => {
            if (finished || signalled) return;
            finished = true;
            leaderSub?.unsubscribe();
            removeSignals();
            kafkaProblem = kafkaProblemOf(error, loaded);
            if (error instanceof ApiServerUnreachableError) apiProblem = error.message;
            else if (!kafkaProblem)
              logger.error({ reason: error instanceof Error ? error.message : String(error) }, 'run failed (the job logged the details above)');
            // give the lease back at once: a standby takes over without waiting for leaseDuration
            await elector?.stop();
            // TLS or SASL settings the broker refuses: a configuration to fix, retrying cannot help
            resolve(kafkaProblem?.configuration ? EXIT.usage : EXIT.failure);
          },
        );
      };

      let signalled = false;
      const removeSignals = onShutdownSignals(
        async () => {
          signalled = true;
          // the job first (flush, checkpoints), then the lease: released only once nothing is written any more
          const report = job ? await job.stop() : undefined;
          await elector?.stop();
          return report;
        },
        {
          logger,
          exit: (exitCode) => {
            // a second signal: at once; whatever is still in flight is replayed from the checkpoint
            if (exitCode === EXIT.interrupted) process.exit(EXIT.interrupted);
            // the shutdown did not finish cleanly (deadline): "interrupted before a clean shutdown finished";
            // a job that had already failed when the signal came stays a failure
            if (!job) return finish(exitCode === EXIT.ok ? EXIT.ok : EXIT.interrupted);
            job.done.then(
              () => finish(exitCode === EXIT.ok ? EXIT.ok : EXIT.interrupted),
              () => finish(EXIT.failure),
            );
          },
        },
      );

      if (!elector) {
        job = startJob();
        watchJob(job);
        return;
      }
      const le = elector;
      let led = false;
      leaderSub = le.isLeader$.subscribe((leading) => {
        if (signalled || finished) return;
        if (leading && !led) {
          led = true;
          logger.info({ lease: `${le.namespace}/${le.name}`, identity: le.identity }, 'leading: starting the job');
          job = startJob();
          watchJob(job);
        } else if (!leading && led) {
          // lost the lease (taken over, or not renewed within renewDeadline): another replica may
          // already publish. Stop the job gracefully, do not release (it is not ours any more), and
          // exit 1 so that Kubernetes restarts this pod as a standby.
          finished = true;
          leaderSub?.unsubscribe();
          removeSignals();
          logger.error({ lease: `${le.namespace}/${le.name}` }, 'lost the lease: stopping the job and exiting to restart as a standby');
          // no checkpoint saves from here: the new leader resumed from the last one and saves its own
          const stopping = job ? job.stop({ saveCheckpoints: false }) : Promise.resolve(undefined);
          void Promise.allSettled([stopping, le.stop({ release: false })]).then(() => resolve(EXIT.failure));
        }
      });
      le.start();
    });
  } finally {
    stopReloading();
    stopWatching();
    await server?.close();
  }
  // everything was stopped and closed; should a library still hold the event loop, do not hang
  setTimeout(() => process.exit(code), 3_000).unref();
  // printed as the last line (after the buffered log lines), `kubevents: <broker>: <what is wrong>: <what to fix>`
  if (kafkaProblem) {
    await settleLogs(logger);
    throw new CliError((kafkaProblem as KafkaConnectionProblem).message, code);
  }
  if (apiProblem) {
    await settleLogs(logger);
    throw new CliError(apiProblem, code);
  }
  return code;
}

/** The Kafka connection problem behind a job failure (src/kafka/client.ts explains it), if that is what it was. */
export function kafkaProblemOf(error: unknown, loaded: LoadedRunConfig): KafkaConnectionProblem | null {
  const kafka = kafkaClientConfigOf(loaded.config);
  if (!kafka) return null;
  const sasl = loaded.config.kafka?.sasl;
  const passwordSource = loaded.envApplied.some((e) => e.env === 'KUBEVENTS_KAFKA_SASL_PASSWORD')
    ? 'KUBEVENTS_KAFKA_SASL_PASSWORD'
    : sasl?.passwordFile
      ? `kafka.sasl.passwordFile ${sasl.passwordFile}`
      : undefined;
  return explainKafkaError(error, kafka, passwordSource ? { passwordSource } : {});
}
