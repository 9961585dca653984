import { join } from 'node:path';
import { createLogger, type Logger } from '../core/logger.js';
import { packageRoot } from '../core/paths.js';
import { runReplayJob } from '../jobs/replay-job.js';
import { RunStats } from '../jobs/run-stats.js';
import { RecordingReadError, type ReplayProgress, type ReplaySpeed } from '../sources/replay.js';
import { StdoutSink } from '../sinks/stdout.js';
import { kubeEventRecord } from '../model/out-record.js';
import type { KubeEvent } from '../model/kube-event.js';
import { CliError, EXIT } from './exit-codes.js';
import { runKubeCommand } from './run-kube.js';
import type { RunOptions } from './run-options.js';
import { loadPipelinesForRun } from './pipeline-commands.js';

export const BUNDLED_RECORDING = 'recordings/recorded-cluster.jsonl';

export type RunSource = { kind: 'replay'; file: string; bundled: boolean } | { kind: 'kube' };

export function parseSource(spec: string | undefined): RunSource {
  if (spec === undefined) return { kind: 'replay', file: join(packageRoot(), BUNDLED_RECORDING), bundled: true };
  if (spec === 'kube') return { kind: 'kube' };
  if (spec.startsWith('replay:')) {
    const file = spec.slice('replay:'.length);
    if (!file) throw new CliError('--source replay:FILE needs a file, e.g. --source replay:events.jsonl');
    return { kind: 'replay', file, bundled: false };
  }
  throw new CliError(`--source "${spec}" is not understood: use "replay:FILE" or "kube"`);
}

export function parseSpeed(text: string): ReplaySpeed {
  if (text === 'max') return 'max';
  const speed = Number(text);
  if (!Number.isFinite(speed) || speed < 0) throw new CliError(`--speed "${text}" must be a number >= 0 (0 = as fast as possible)`);
  return speed === 0 ? 'max' : speed;
}

/** A progress line on stderr every few seconds of a long replay: count, rate, event time, ETA. */
export function progressReporter(logger: Logger, everyMs = 3000): (p: ReplayProgress) => void {
  const started = Date.now();
  let last = started;
  return (p) => {
    const now = Date.now();
    const finished = p.emitted >= p.total;
    if (!finished && now - last < everyMs) return;
    if (finished && now - started < everyMs) return; // a short replay needs no progress line
    last = now;
    const seconds = (now - started) / 1000;
    const perSecond = seconds > 0 ? p.emitted / seconds : 0;
    const eta = perSecond > 0 ? Math.ceil((p.total - p.emitted) / perSecond) : null;
    const percent = p.total ? ((100 * p.emitted) / p.total).toFixed(1) : '100.0';
    const at = p.eventTimeMs !== null ? ` event time ${new Date(p.eventTimeMs).toISOString()}` : '';
    logger.info(
      { emitted: p.emitted, total: p.total, perSecond: Math.round(perSecond), etaSeconds: eta },
      `replayed ${p.emitted}/${p.total} (${percent}%), ${Math.round(perSecond)}/s,${at}${eta !== null && !finished ? `, ETA ${eta}s` : ''}`,
    );
  };
}

export async function runCommand(options: RunOptions): Promise<number> {
  const logger = createLogger({ level: options.logLevel });
  const source = parseSource(options.source);
  if (source.kind === 'kube') return runKubeCommand(options, logger);

  const speed = parseSpeed(options.speed);
  const { pipelines } = await loadPipelinesForRun(options.pipelines, logger);
  const stats = new RunStats();
  const printer = options.printEvents ? new StdoutSink() : null;
  const alertOut = printer && !printer.readable(undefined) ? process.stderr : process.stdout;
  logger.info({ file: source.file, speed, out: options.out }, source.bundled ? 'replaying the bundled recording' : `replaying ${source.file}`);
  const job = runReplayJob({
    file: source.file,
    speed,
    outDir: options.out,
    cluster: options.cluster,
    logger,
    stats,
    pipelines,
    onProgress: progressReporter(logger),
    onAlert: (line) => alertOut.write(`${line}\n`),
    ...(printer ? { onEvent: (e: KubeEvent) => void printer.write(kubeEventRecord(e)) } : {}),
  });

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
    if (error instanceof RecordingReadError) throw new CliError(error.message, EXIT.usage);
    logger.error({ err: error }, 'run failed');
    return EXIT.failure;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const files = job.files.files;
  process.stdout.write(`\n${stats.render(files, { color: Boolean(process.stdout.isTTY) })}\n`);
  if (stats.malformed > 0) {
    process.stdout.write(`${stats.malformed} malformed record(s) were skipped; see the warnings above for file:line and reason.\n`);
  }
  return interrupted ? EXIT.interrupted : EXIT.ok;
}
