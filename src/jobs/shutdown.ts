/**
 * Graceful shutdown within a deadline: stop the sources (no new input), flush the sinks (in-flight
 * records acknowledged), then save the checkpoints (what was acknowledged). Whatever misses the
 * deadline is not lost: its positions were never checkpointed, so the next start replays it.
 *
 * The CLI wires SIGTERM/SIGINT to it with `onShutdownSignals`.
 */
import type { Logger } from '../core/logger.js';
import type { CheckpointSaver } from '../checkpoint/checkpointer.js';
import type { CheckpointStore } from '../checkpoint/store.js';

export interface ClosableSink {
  close(deadlineMs: number): Promise<{ flushed: boolean; abandoned: number }>;
}

export interface ShutdownTargets {
  /** Stop taking input, e.g. unsubscribe the pipelines (sync or async). */
  stopSources?: () => void | Promise<void>;
  sinks?: readonly ClosableSink[];
  checkpointers?: readonly CheckpointSaver[];
  stores?: readonly CheckpointStore[];
  /** Anything else to release last (producers, HTTP servers); errors are logged. */
  finally?: () => void | Promise<void>;
}

export interface ShutdownReport {
  /** every sink flushed and every checkpoint saved within the deadline */
  clean: boolean;
  abandonedRecords: number;
  /** resourceVersion saved per checkpoint key resource (null: none) */
  checkpoints: Record<string, string | null>;
  errors: string[];
  elapsedMs: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done within ${Math.round(ms)} ms`)), Math.max(0, ms));
    }),
  ]).finally(() => clearTimeout(timer));
}

export async function gracefulShutdown(
  targets: ShutdownTargets,
  options: { deadlineMs?: number; logger?: Logger; now?: () => number } = {},
): Promise<ShutdownReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const deadlineMs = options.deadlineMs ?? 15_000;
  const remaining = () => Math.max(0, deadlineMs - (now() - started));
  const errors: string[] = [];
  const note = (what: string, error: unknown) => {
    const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    errors.push(message);
    options.logger?.warn({ err: error }, `shutdown: ${what} failed`);
  };
  let clean = true;
  let abandonedRecords = 0;

  if (targets.stopSources) {
    try {
      await withTimeout(Promise.resolve(targets.stopSources()), remaining(), 'stopping sources');
    } catch (error) {
      clean = false;
      note('stopping sources', error);
    }
  }

  // keep a share of the time for the checkpoint saves: they are what makes the flush count
  const flushBudget = () => Math.max(0, remaining() - Math.min(2_000, deadlineMs * 0.2));
  const results = await Promise.allSettled((targets.sinks ?? []).map((sink) => sink.close(flushBudget())));
  for (const r of results) {
    if (r.status === 'rejected') {
      clean = false;
      note('closing a sink', r.reason);
    } else {
      abandonedRecords += r.value.abandoned;
      if (!r.value.flushed) clean = false;
    }
  }

  const checkpoints: Record<string, string | null> = {};
  await Promise.all(
    (targets.checkpointers ?? []).map(async (cp) => {
      try {
        await withTimeout(cp.stop(), remaining(), `saving checkpoint ${cp.name}`);
      } catch (error) {
        clean = false;
        note(`saving checkpoint ${cp.name}`, error);
      }
      Object.assign(checkpoints, cp.saved());
    }),
  );

  for (const store of targets.stores ?? []) {
    try {
      await withTimeout(store.close(), Math.max(remaining(), 1_000), 'closing a checkpoint store');
    } catch (error) {
      note('closing a checkpoint store', error);
    }
  }
  if (targets.finally) {
    try {
      await withTimeout(Promise.resolve(targets.finally()), Math.max(remaining(), 1_000), 'final cleanup');
    } catch (error) {
      note('final cleanup', error);
    }
  }

  const report: ShutdownReport = { clean: clean && errors.length === 0, abandonedRecords, checkpoints, errors, elapsedMs: now() - started };
  options.logger?.info(report, report.clean ? 'shut down cleanly' : 'shut down with records left to replay');
  return report;
}

/**
 * Runs `shutdown` on the first SIGTERM or SIGINT, then exits (code 0 when it resolved with a clean
 * report or nothing, 1 otherwise). A second signal exits at once with 130. Returns a function that
 * removes the handlers.
 */
export function onShutdownSignals(
  shutdown: () => Promise<ShutdownReport | void>,
  options: { logger?: Logger; exit?: (code: number) => void; signals?: NodeJS.Signals[] } = {},
): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let shuttingDown = false;
  const handler = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      options.logger?.warn({ signal }, 'second signal: exiting now');
      exit(130);
      return;
    }
    shuttingDown = true;
    options.logger?.info({ signal }, 'shutting down');
    shutdown().then(
      (report) => exit(report && !report.clean ? 1 : 0),
      (error: unknown) => {
        options.logger?.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
