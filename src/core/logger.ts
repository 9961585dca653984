import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Paths that may carry secrets in config objects or errors we log. pino replaces them with
 * "[redacted]"; keep this list in step with the config schema's secret fields.
 */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  '*.password',
  '*.token',
  '*.secret',
  '*.sasl.password',
  'config.kafka.sasl.password',
  'kafka.sasl.password',
  'config.schemaRegistry.password',
  '*.schemaRegistry.password',
  'headers.authorization',
  '*.headers.authorization',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable output (pino-pretty) instead of JSON; default: when stderr is a terminal. */
  pretty?: boolean;
}

/** JSON logs on stderr (stdout carries data), readable when stderr is a terminal. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const pretty = options.pretty ?? Boolean(process.stderr.isTTY);
  const base = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } } as const;
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(base, pino.destination({ dest: 2, sync: false }));
}

export const silentLogger: Logger = pino({ level: 'silent' });
