/**
 * `kubevents run --source kube`: the production run mode. Watches a live cluster's Events (plus the
 * object caches for enrichment), applies the processing and publishes events, alerts, incidents,
 * gaps and dead letters to Kafka with checkpoints after acknowledgement (src/runtime/kube-job.ts);
 * without Kafka brokers, writes Avro container files under --out with a file checkpoint.
 *
 * Settings: the runtime configuration (src/config/runtime-config.ts: `--config FILE` or
 * $KUBEVENTS_CONFIG, then KUBEVENTS_* environment overrides) gives the Kafka connection (brokers,
 * TLS, SASL), topics, encoding, Schema Registry and checkpoint store; these command-line options
 * override it: --kafka-brokers, --encoding, --schema-registry, --checkpoint-file. --cluster,
 * --kubeconfig, --context and --namespace override the file's `cluster` and `source.kube`.
 *
 * Exit: 0 after a clean SIGTERM/SIGINT shutdown (watch stopped, sink flushed, checkpoint saved
 * within --shutdown-timeout); 1 when the job fails; 2 for bad settings (nothing started); 130 on a
 * second signal, or when the shutdown could not flush and save in time (what was not acknowledged
 * is replayed from the checkpoint on the next start).
 */
import { join } from 'node:path';
import { ConfigError, formatIssues, kafkaClientConfigOf, loadRuntimeConfig, schemaRegistryConfigOf, sinkTopicsOf, type ConfigIssue, type LoadedConfig } from '../config/runtime-config.js';
import type { Logger } from '../runtime/logger.js';
import { runKubeJob, type KubeJobCheckpointStore, type KubeJobOptions, type KubeJobOutput } from '../runtime/kube-job.js';
import { onShutdownSignals } from '../runtime/shutdown.js';
import { formatAlertLine } from '../sinks/alert-line.js';
import { formatEventLine, StdoutSink } from '../sinks/stdout-sink.js';
import { KubeConfigError, loadKubeConfig } from '../sources/kubeconfig.js';
import type { KubeEvent } from '../model/kube-event.js';
import { CliError, EXIT } from './exit-codes.js';
import type { RunOptions } from './run-command.js';

/** The checkpoint file inside `checkpoint.path` (a directory) or --out. */
export const CHECKPOINT_FILE_NAME = 'checkpoints.json';

/** Command-line options that override a configuration setting, as the variable carrying them. */
const FLAG_ENV: Record<string, string> = {
  KUBEVENTS_KAFKA_BROKERS: '--kafka-brokers',
  KUBEVENTS_ENCODING: '--encoding',
  KUBEVENTS_SCHEMA_REGISTRY_URL: '--schema-registry',
};

export function parseShutdownTimeout(text: string | undefined): number {
  if (text === undefined) return 10_000;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(`--shutdown-timeout "${text}" must be a number of seconds > 0`);
  return Math.round(seconds * 1000);
}

function namespacesOf(list: readonly string[] | undefined): string[] | undefined {
  if (!list) return undefined;
  return list.flatMap((n) => n.split(',')).map((n) => n.trim()).filter((n) => n.length > 0);
}

/** The runtime configuration with the command-line overrides applied; CliError (exit 2) when invalid. */
export function loadKubeRunConfig(options: RunOptions, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const overrides: Record<string, string> = {};
  if (options.kafkaBrokers !== undefined) overrides['KUBEVENTS_KAFKA_BROKERS'] = options.kafkaBrokers;
  if (options.encoding !== undefined) overrides['KUBEVENTS_ENCODING'] = options.encoding;
  if (options.schemaRegistry !== undefined) overrides['KUBEVENTS_SCHEMA_REGISTRY_URL'] = options.schemaRegistry;
  try {
    return loadRuntimeConfig({ file: options.config ?? null, env: { ...env, ...overrides } });
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
export function kubeJobOptionsOf(options: RunOptions, loaded: LoadedConfig): Omit<KubeJobOptions, 'logger'> {
  const config = loaded.config;
  const kafka = kafkaClientConfigOf(config);
  const topics = sinkTopicsOf(config);
  const output: KubeJobOutput = kafka
    ? {
        type: 'kafka',
        sink: {
          kafka,
          encoding: config.encoding,
          schemaRegistry: schemaRegistryConfigOf(config),
          topics,
          createTopics: options.createTopics ? {} : false,
        },
      }
    : { type: 'files', outDir: options.out, topics };

  let checkpoint: KubeJobCheckpointStore;
  if (options.checkpointFile) {
    checkpoint = { type: 'file', path: options.checkpointFile };
  } else if (config.checkpoint.store === 'kafka' && kafka) {
    checkpoint = { type: 'kafka', kafka, topic: config.checkpoint.topic };
  } else {
    // a checkpoint directory set in a file or the environment; else next to the Avro files
    const explicit = loaded.file !== null || loaded.envApplied.some((e) => e.env === 'KUBEVENTS_CHECKPOINT_PATH');
    checkpoint = { type: 'file', path: join(explicit ? config.checkpoint.path : options.out, CHECKPOINT_FILE_NAME) };
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
    },
    output,
    checkpoint,
    checkpointIntervalMs: config.checkpoint.intervalMs,
    shutdownTimeoutMs: parseShutdownTimeout(options.shutdownTimeout),
  };
}

export async function runKubeCommand(options: RunOptions, logger: Logger): Promise<number> {
  const loaded = loadKubeRunConfig(options);
  for (const warning of loaded.warnings) logger.warn(warning);
  // settings this mode does not apply yet: say so rather than ignore them silently
  if (options.pipelines && options.pipelines.length > 0) logger.warn('--pipelines is not applied to --source kube yet: the default processing runs');
  if (loaded.config.leaderElection.enabled) logger.warn('leaderElection is not implemented for --source kube yet: every replica publishes (duplicates by idempotencyKey); run one replica');
  const jobOptions = kubeJobOptionsOf(options, loaded);
  try {
    // checked before anything starts: a bad kubeconfig is bad usage (exit 2)
    jobOptions.kube.kubeConfig = loadKubeConfig(jobOptions.kube);
  } catch (error) {
    if (error instanceof KubeConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
  const printer = options.printEvents ? new StdoutSink<KubeEvent>(formatEventLine) : null;

  const job = runKubeJob({
    ...jobOptions,
    logger,
    ...(printer ? { onEvent: (e: KubeEvent) => void printer.write(e) } : {}),
    onAlert: (a) => logger.info({ alertId: a.alertId, status: a.status }, formatAlertLine(a)),
    onIncident: (i) => logger.info({ incidentId: i.incidentId, status: i.status }, `INCIDENT ${i.status} [${i.severity}] ${i.subject}: ${i.rootCause} (${i.memberCount} events)`),
  });

  const code = await new Promise<number>((resolve) => {
    const removeSignals = onShutdownSignals(() => job.stop(), {
      logger,
      exit: (exitCode) => {
        // a second signal: at once; whatever is still in flight is replayed from the checkpoint
        if (exitCode === EXIT.interrupted) process.exit(EXIT.interrupted);
        // the shutdown did not finish cleanly (deadline): "interrupted before a clean shutdown finished";
        // a job that had already failed when the signal came stays a failure
        job.done.then(
          () => resolve(exitCode === EXIT.ok ? EXIT.ok : EXIT.interrupted),
          () => resolve(EXIT.failure),
        );
      },
    });
    job.done.then(
      () => undefined, // stopped by a signal: onShutdownSignals resolves with the report's verdict
      (error: unknown) => {
        removeSignals();
        logger.error({ reason: error instanceof Error ? error.message : String(error) }, 'run failed (the job logged the details above)');
        resolve(EXIT.failure);
      },
    );
  });
  // everything was stopped and closed; should a library still hold the event loop, do not hang
  setTimeout(() => process.exit(code), 3_000).unref();
  return code;
}
