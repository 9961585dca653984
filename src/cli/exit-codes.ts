import type { Logger } from '../core/logger.js';

/** Process exit codes, documented in `kubevents --help` and README.md. */
export const EXIT = {
  ok: 0,
  /** The run failed after starting: the source, a sink or the broker failed for good. */
  failure: 1,
  /** Bad usage, invalid configuration or pipeline files, unreadable input: nothing was started. */
  usage: 2,
  /** Stopped by SIGINT/SIGTERM without finishing a clean shutdown in time. */
  interrupted: 130,
} as const;

/** An error that should end the process with a given exit code and a one-line explanation. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * Lets the log lines still on their way out (pino writes asynchronously; its flush() does not wait
 * for a write in progress) reach stderr before a CliError's line, so that line comes last.
 */
export async function settleLogs(logger: Logger, ms = 100): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1_000);
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  await new Promise((resolve) => setTimeout(resolve, ms));
}
