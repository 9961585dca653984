/**
 * `kubevents record`: capture a live cluster into a recording that `kubevents run --source
 * replay:FILE` replays: JSON Lines of watch events with `observedAt`, the Events and the objects
 * enrichment uses (src/jobs/record-job.ts).
 *
 *   kubevents record -o cluster.jsonl --duration 10m [--max-events N] [--namespace NS...]
 *   kubevents record -o - --max-events 100 | gzip > cluster.jsonl.gz
 *
 * Before anything is recorded the output is opened and the API server is asked for one Event
 * (with a timeout), so an unwritable file, an unreachable server or missing RBAC is one line and
 * an exit code instead of an empty recording. Progress goes to stderr every 5 s, the summary at
 * the end. SIGINT/SIGTERM end the recording cleanly (exit 0: the file is complete up to there); a
 * second signal exits at once (130).
 *
 * Exit: 0 recorded (duration, event count, signal, or the reader of stdout went away); 1 the API
 * server could not be reached or refused, or the Event watch or a write failed; 2 bad options, an
 * unloadable kubeconfig or an unwritable output.
 */
import { createWriteStream, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import type { KubeConfig } from '@kubernetes/client-node';
import { formatDuration, parseDuration } from '../core/duration.js';
import { createLogger, LOG_LEVELS, type Logger } from '../core/logger.js';
import type { LevelWithSilent } from 'pino';
import type { SourceApi } from '../model/kube-event.js';
import { runRecordJob, type RecordProgress, type RecordSummary } from '../jobs/record-job.js';
import { getJson, KubeApiError } from '../sources/kube-http.js';
import { describeKubeConfig, KubeConfigError, loadKubeConfig, parseNamespaces } from '../sources/kubeconfig.js';
import { CACHED_KINDS } from '../sources/object-lookup.js';
import { collectionPath, RESOURCES, type ResourceDescriptor } from '../sources/resources.js';
import { CliError, EXIT, settleLogs } from './exit-codes.js';

export interface RecordOptions {
  output?: string;
  duration?: string;
  maxEvents?: string;
  namespace?: string[];
  kubeconfig?: string;
  context?: string;
  eventsOnly: boolean;
  logLevel: LevelWithSilent;
}

/** How long the API server has to answer the first request. */
const PREFLIGHT_TIMEOUT_MS = 15_000;

const FS_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOENT: 'its folder does not exist',
  EISDIR: 'it is a folder',
  ENOSPC: 'no space left on the device',
};

export function parseRecordLimits(options: Pick<RecordOptions, 'duration' | 'maxEvents'>): { durationMs: number | null; maxEvents: number | null } {
  let durationMs: number | null = null;
  if (options.duration !== undefined) {
    durationMs = parseDuration(options.duration);
    if (durationMs === null || durationMs <= 0) {
      throw new CliError(
        `--duration "${options.duration}" is not a duration: write a whole number with a unit (ms, s, m, h, d), largest unit first, e.g. 30s, 10m, 1h30m`,
        EXIT.usage,
      );
    }
  }
  let maxEvents: number | null = null;
  if (options.maxEvents !== undefined) {
    maxEvents = /^\d+$/.test(options.maxEvents) ? Number(options.maxEvents) : Number.NaN;
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) throw new CliError(`--max-events "${options.maxEvents}" must be a whole number >= 1`, EXIT.usage);
  }
  return { durationMs, maxEvents };
}

/** Opens the output now, so that a path that cannot be written is refused before anything starts. */
function openOutput(output: string): Writable {
  if (output === '-') return process.stdout;
  try {
    const fd = openSync(output, 'w');
    return createWriteStream(output, { fd });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new CliError(`cannot write the recording to ${output}: ${FS_REASONS[code] ?? (error as Error).message}${code ? ` (${code})` : ''}`, EXIT.usage);
  }
}

function describeApiError(error: unknown): string {
  if (error instanceof KubeApiError) {
    if (error.kind === 'http') return `${error.statusCode ?? ''}${error.reason ? ` ${error.reason}` : ''}: ${error.message}`.trim();
    const cause = (error.cause as { code?: string; message?: string } | undefined) ?? null;
    return cause?.code ? `${error.message} (${cause.code})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Asks for one Event in each scope the recording watches: the server answers, the credentials
 * are accepted and RBAC lets them list Events. Returns the Event API to record (events.k8s.io/v1,
 * else core/v1 when that is not served).
 */
async function preflight(kc: KubeConfig, namespaces: string[] | null, logger: Logger): Promise<SourceApi> {
  const server = kc.getCurrentCluster()?.server ?? '(no server)';
  const ask = async (resource: ResourceDescriptor): Promise<void> => {
    for (const ns of namespaces ?? [null]) {
      const signal = AbortSignal.timeout(PREFLIGHT_TIMEOUT_MS);
      await getJson(kc, collectionPath(resource, ns), { limit: 1 }, { signal, timeoutMs: PREFLIGHT_TIMEOUT_MS });
    }
  };
  let api: SourceApi = 'events.k8s.io/v1';
  try {
    try {
      await ask(RESOURCES.EventV1);
    } catch (error) {
      if (!(error instanceof KubeApiError && error.statusCode === 404)) throw error;
      logger.info('events.k8s.io/v1 is not served: recording core/v1 Events');
      api = 'core/v1';
      await ask(RESOURCES.CoreEvent);
    }
  } catch (error) {
    const status = error instanceof KubeApiError ? error.statusCode : null;
    const where = namespaces ? `Events in namespace${namespaces.length > 1 ? 's' : ''} ${namespaces.join(', ')}` : 'Events in all namespaces';
    if (status === 401) throw new CliError(`the API server ${server} refused the credentials of the kubeconfig (${describeApiError(error)})`, EXIT.failure);
    if (status === 403) {
      throw new CliError(
        `the API server ${server} does not let this user list ${where} (${describeApiError(error)}): grant get/list/watch on events (and the kinds recorded), or record fewer namespaces with --namespace`,
        EXIT.failure,
      );
    }
    throw new CliError(`cannot reach the API server ${server}: ${describeApiError(error)}`, EXIT.failure);
  }
  return api;
}

function describeObjects(objects: Record<string, number>): string {
  const entries = Object.entries(objects).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const total = entries.reduce((n, [, v]) => n + v, 0);
  return `${total} object change${total === 1 ? '' : 's'}${entries.length ? ` (${entries.map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`;
}

function progressLine(p: RecordProgress, maxEvents: number | null): string {
  const events = `${p.events}${maxEvents !== null ? `/${maxEvents}` : ''} Event change${p.events === 1 ? '' : 's'}`;
  const left = p.remainingMs !== null ? `, ${formatDuration(p.remainingMs)} left` : '';
  return `recording: ${events}, ${describeObjects(p.objects)}, ${formatDuration(p.elapsedMs)} elapsed${left}`;
}

const STOPPED_BY: Record<RecordSummary['stoppedBy'], string> = {
  duration: '--duration reached',
  'max-events': '--max-events reached',
  stopped: 'stopped',
  'reader-gone': 'the reader of stdout went away',
};

function summaryLine(s: RecordSummary, output: string): string {
  const where = output === '-' ? 'stdout' : output;
  const size = s.bytes >= 1024 * 1024 ? `${(s.bytes / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(s.bytes / 1024)} KiB`;
  const gaps = s.gaps > 0 ? `; ${s.gaps} gap${s.gaps === 1 ? '' : 's'} (see the warnings above)` : '';
  const failed = s.failedKinds.length > 0 ? `; left out (their watch failed): ${s.failedKinds.join(', ')}` : '';
  const replay = output === '-' ? '' : `\nreplay it: kubevents run --source replay:${output}`;
  return `recorded ${s.events} Event change${s.events === 1 ? '' : 's'} and ${describeObjects(s.objects)} to ${where} (${size}) in ${formatDuration(s.elapsedMs)}: ${STOPPED_BY[s.stoppedBy]}${gaps}${failed}${replay}`;
}

export async function recordCommand(options: RecordOptions): Promise<number> {
  if (options.output === undefined) throw new CliError('kubevents record needs -o FILE (or -o - for stdout)', EXIT.usage);
  const { durationMs, maxEvents } = parseRecordLimits(options);
  const logger = createLogger({ level: options.logLevel });
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig({ kubeconfig: options.kubeconfig ?? null, context: options.context ?? null });
  } catch (error) {
    if (error instanceof KubeConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
  const namespaces = parseNamespaces(options.namespace);
  const output = options.output;
  const out = openOutput(output);
  logger.info({ kube: describeKubeConfig(kc), output, namespaces, durationMs, maxEvents }, 'recording the cluster');
  let api: SourceApi;
  try {
    api = await preflight(kc, namespaces, logger);
  } catch (error) {
    if (out !== process.stdout) out.destroy();
    await settleLogs(logger);
    throw error;
  }

  const job = runRecordJob({
    kubeConfig: kc,
    out,
    outName: output,
    namespaces,
    kinds: options.eventsOnly ? [] : CACHED_KINDS,
    durationMs,
    maxEvents,
    eventApi: api,
    logger,
    onProgress: (p) => logger.info({ events: p.events, objects: p.objects, elapsedMs: p.elapsedMs, remainingMs: p.remainingMs }, progressLine(p, maxEvents)),
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(EXIT.interrupted);
    logger.info({ signal }, 'stopping: writing what was received (signal again to exit at once)');
    job.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await job.done;
    await settleLogs(logger);
    process.stderr.write(`${summaryLine(summary, output)}\n`);
    return EXIT.ok;
  } catch (error) {
    await settleLogs(logger);
    throw new CliError(`the recording failed: ${describeApiError(error)}`, EXIT.failure);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerRecordCommand(program: Command): void {
  program
    .command('record')
    .description('Record a live cluster (Events and the objects enrichment uses) into a file that `kubevents run --source replay:FILE` replays.')
    .option('-o, --output <file>', 'where to write the recording (JSON Lines of watch events); "-" for stdout')
    .option('--duration <duration>', 'stop after this long, e.g. 30s, 10m, 1h (default: until --max-events or Ctrl-C)')
    .option('--max-events <n>', 'stop after this many Event changes (the initial list of existing Events counts)')
    .option('--namespace <ns...>', 'record only these namespaces (Nodes are cluster-wide; default: all)')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .option('--events-only', 'record only Events, not the Pods, Nodes, ... that enrichment uses', false)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS as string[]).default('info'))
    .addHelpText(
      'after',
      `
The recording holds the initial list of every object and Event, then every change until the end,
each as {"type","object","observedAt"}. Replay it through your pipelines:
  kubevents record -o cluster.jsonl --duration 10m
  kubevents run --source replay:cluster.jsonl --pipelines my-pipelines/ --print-events | jq .`,
    )
    .action(async (options: RecordOptions) => {
      process.exitCode = await recordCommand(options);
    });
}
