/**
 * `kubevents run` with a recording (`--source replay:FILE`, or the bundled one): the pipelines
 * over the recorded stream into Avro files under --out and console lines, with a summary.
 *
 * stdout carries data only: JSON Lines of the `stdout` sinks and --print-events (readable lines on
 * a terminal). Console lines go to stdout only on a terminal that carries no data, else stderr; the
 * summary goes to stderr. When the reader of stdout goes away (`| head -1`) the run ends quietly,
 * exit 0.
 *
 * Options of the live run only (--kafka-brokers, --schema-registry, --encoding, --create-topics,
 * --checkpoint-file, --kubeconfig, --context, --shutdown-timeout) are refused: a replay writes
 * files. --config is read and checked as for the live run; its `cluster`, `pipelines` and
 * `source.kube.namespaces` apply (and the KUBEVENTS_* variables that set them).
 */
import { allSinks } from '../pipeline/graph.js';
import type { Logger } from '../core/logger.js';
import { runReplayJob } from '../jobs/replay-job.js';
import { RunStats } from '../jobs/run-stats.js';
import type { KubeEvent } from '../model/kube-event.js';
import { kubeEventRecord } from '../model/out-record.js';
import { StdoutSink } from '../sinks/stdout.js';
import { describeRecording, RecordingContentError, RecordingReadError, type ReplaySpeed } from '../sources/replay.js';
import { CliError, EXIT } from './exit-codes.js';
import { prepareOutDir } from './out-dir.js';
import { loadPipelinesForRun } from './pipeline-commands.js';
import { loadKubeRunConfig, namespacesOf, pipelinePathsOf } from './run-kube.js';
import type { RunOptions } from './run-options.js';
import { progressReporter } from './progress.js';

/** Flags that mean something to the live run only, as commander names them. */
const LIVE_ONLY: ReadonlyArray<[keyof RunOptions, string]> = [
  ['kafkaBrokers', '--kafka-brokers'],
  ['schemaRegistry', '--schema-registry'],
  ['encoding', '--encoding'],
  ['createTopics', '--create-topics'],
  ['checkpointFile', '--checkpoint-file'],
  ['kubeconfig', '--kubeconfig'],
  ['context', '--context'],
  ['shutdownTimeout', '--shutdown-timeout'],
  ['failAfter', '--fail-after'],
];

export function refuseLiveOnlyOptions(options: RunOptions): void {
  const given = LIVE_ONLY.filter(([key]) => options[key] !== undefined && options[key] !== false).map(([, flag]) => flag);
  if (given.length === 0) return;
  throw new CliError(
    `${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to --source kube only: a replay writes Avro files under --out (to publish a recording to Kafka, replay it into files and load them, see docs/kafka.md)`,
    EXIT.usage,
  );
}

export async function runReplayCommand(options: RunOptions, source: { file: string; bundled: boolean }, speed: ReplaySpeed, logger: Logger): Promise<number> {
  refuseLiveOnlyOptions(options);
  prepareOutDir(options.out);
  // the configuration is checked as for the live run: an invalid one is never ignored
  const loaded = loadKubeRunConfig(options);
  for (const warning of loaded.warnings) logger.warn(warning);
  const config = loaded.config;
  const { pipelines } = await loadPipelinesForRun(pipelinePathsOf(options, config), logger);
  const namespaces = namespacesOf(options.namespace) ?? config.source.kube.namespaces;
  const cluster = options.cluster !== 'default' ? options.cluster : config.cluster;

  const stats = new RunStats();
  let readerGone = false;
  let stopJob = (): void => undefined;
  const stdout = new StdoutSink({
    onReaderGone: () => {
      readerGone = true;
      stopJob();
    },
  });
  const stdoutCarriesData = options.printEvents || pipelines.some((p) => allSinks(p.graph).some(({ sink }) => sink.type === 'stdout'));
  const consoleOut = process.stdout.isTTY && !stdoutCarriesData ? process.stdout : process.stderr;
  logger.info(
    { file: source.file, speed, out: options.out, ...(namespaces.length ? { namespaces } : {}) },
    source.bundled ? 'replaying the bundled recording' : `replaying ${source.file}`,
  );
  const job = runReplayJob({
    file: source.file,
    speed,
    outDir: options.out,
    cluster,
    logger,
    stats,
    pipelines,
    namespaces,
    stdout,
    onProgress: progressReporter(logger),
    onAlert: (line) => consoleOut.write(`${line}\n`),
    ...(options.printEvents ? { onEvent: (e: KubeEvent) => void stdout.write(kubeEventRecord(e)) } : {}),
  });
  stopJob = () => job.stop();

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    logger.warn({ signal }, 'stopping: flushing what was processed so far (signal again to exit at once)');
    job.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await job.done;
  } catch (error) {
    if (error instanceof RecordingReadError || error instanceof RecordingContentError) throw new CliError(error.message, EXIT.usage);
    throw new CliError(`the replay failed: ${error instanceof Error ? error.message : String(error)}`, EXIT.failure);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (readerGone) return EXIT.ok;
  process.stderr.write(`\n${stats.render(job.files.files, { color: Boolean(process.stderr.isTTY) })}\n`);
  process.stderr.write(`${describeRecording(job.recording)}\n`);
  if (stats.malformed > 0) {
    process.stderr.write(`${stats.malformed} malformed record(s) were skipped; see the warnings above for file:line and reason.\n`);
  }
  return interrupted ? EXIT.interrupted : EXIT.ok;
}
