/**
 * Durations, one grammar everywhere a time is configured (pipeline files, the alerts
 * configuration, the run configuration): a whole number with a unit, largest unit first, each unit
 * at most once: `500ms`, `30s`, `5m`, `1h30m`, `2d`. They parse to milliseconds.
 *
 * Two ways back to text: `showDuration` is exact and reads back with parseDuration (`explain`,
 * generated docs); `formatDuration` rounds to whole seconds for people (alert summaries such as
 * "x5 within 3m").
 */
import { z } from 'zod';

/** `1h30m`, `5m`, `30s`, `500ms`, `2d`: units in decreasing order, each at most once. */
export const DURATION_PATTERN = '^(?=\\d)(?:(\\d+)d)?(?:(\\d+)h)?(?:(\\d+)m(?!s))?(?:(\\d+)s)?(?:(\\d+)ms)?$';
const DURATION_RE = new RegExp(DURATION_PATTERN);
const UNIT_MS = [24 * 60 * 60_000, 60 * 60_000, 60_000, 1000, 1];

/** Milliseconds of a duration string (`1h30m` -> 5400000), or null when it is not one. */
export function parseDuration(text: string): number | null {
  const m = DURATION_RE.exec(text);
  if (!m) return null;
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const v = m[i + 1];
    if (v !== undefined) ms += Number(v) * UNIT_MS[i]!;
  }
  return ms;
}

/** Rounded to whole seconds below a day, for people: `3m`, `1h5m`, `500ms`, `48h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${ms}ms`;
  let s = Math.round(ms / 1000);
  const parts: string[] = [];
  const h = Math.floor(s / 3600);
  if (h) parts.push(`${h}h`);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  if (m) parts.push(`${m}m`);
  s -= m * 60;
  if (s) parts.push(`${s}s`);
  return parts.join('');
}

/** Exact: ms as a duration string that parseDuration reads back (`5400000` -> `1h30m`). */
export function showDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 1000 !== 0) {
    const s = Math.floor(ms / 1000);
    return `${s > 0 ? formatDuration(s * 1000) : ''}${ms % 1000}ms`;
  }
  const days = Math.floor(ms / UNIT_MS[0]!);
  const rest = ms - days * UNIT_MS[0]!;
  return `${days > 0 ? `${days}d` : ''}${rest > 0 ? formatDuration(rest) : ''}`;
}

/** How a value that is not what was expected reads in a message: `null`, `a list`, `"5 m"`, `number 30`. */
export function describeInput(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a map';
  if (typeof input === 'string') return JSON.stringify(input);
  return `${typeof input} ${String(input)}`;
}

const toMs = (text: string): number => parseDuration(text) ?? NaN;

function durationSchema(min: 'positive' | 'non-negative') {
  const base = z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? undefined
          : `expected a duration such as 30s, 5m or 1h30m, got ${describeInput(issue.input)}${typeof issue.input === 'number' ? ' (a duration needs a unit: ms, s, m, h or d)' : ''}`,
    })
    .regex(DURATION_RE, {
      error: (issue) =>
        `invalid duration ${describeInput(issue.input)}: write a whole number with a unit (ms, s, m, h, d), largest unit first, e.g. 500ms, 30s, 5m, 1h30m`,
    })
    .transform(toMs);
  const bounded = base.refine((ms) => ms <= MAX_DURATION_MS, { error: `too long: at most ${showDuration(MAX_DURATION_MS)}` });
  return min === 'positive' ? bounded.refine((ms) => ms > 0, { error: 'must be longer than 0s' }) : bounded;
}

/**
 * The longest duration: beyond 2^53 ms a duration is no longer exact (`99999999999999999999d` read
 * as 8.6e27 ms could not be printed back as what was written).
 */
export const MAX_DURATION_MS = Number.MAX_SAFE_INTEGER;

/** The longest wait a Node.js timer takes (2^31-1 ms, 24d20h31m23s647ms); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A duration that is waited for with a timer (a request timeout, a backoff): at most MAX_TIMER_MS,
 * since a longer timeout would fire at once.
 */
export const timerDuration = () =>
  positiveDuration().refine((ms) => ms <= MAX_TIMER_MS, { error: `too long for a timer: at most ${showDuration(MAX_TIMER_MS)}` });

/** A duration string, > 0, parsed to ms. */
export const positiveDuration = () => durationSchema('positive');
/** A duration string, >= 0, parsed to ms. */
export const nonNegativeDuration = () => durationSchema('non-negative');

/**
 * A duration string, or a plain whole number in `unit` (for settings that were numbers of seconds
 * or milliseconds before durations were accepted there): `15s` and `15` both give 15000 with
 * unit 's'. Parsed to ms, > 0.
 */
export function durationOrNumber(unit: 's' | 'ms') {
  const factor = unit === 's' ? 1000 : 1;
  return z.union([
    z
      .number({
        error: (issue) =>
          issue.input === undefined
            ? undefined
            : `expected a duration such as 30s or 5m, or a whole number of ${unit === 's' ? 'seconds' : 'milliseconds'}, got ${describeInput(issue.input)}`,
      })
      .int(`a number here is whole ${unit === 's' ? 'seconds' : 'milliseconds'}; or write a duration such as 30s`)
      .positive('must be > 0')
      .max(Math.floor(MAX_TIMER_MS / factor), `too long for a timer: at most ${Math.floor(MAX_TIMER_MS / factor)}`)
      .transform((n) => n * factor),
    timerDuration(),
  ]);
}

/** Whether a (possibly wrapped) schema is one of the duration schemas above. */
export function isDurationSchema(schema: z.ZodType): boolean {
  let s: z.ZodType | undefined = schema;
  for (let depth = 0; s && depth < 10; depth++) {
    const def = s.def as { type: string; in?: z.ZodType; out?: z.ZodType; innerType?: z.ZodType; transform?: unknown };
    if (def.type === 'transform') return def.transform === toMs;
    if (def.type === 'pipe') {
      const out = def.out!.def as { type: string; transform?: unknown };
      if (out.type === 'transform' && out.transform === toMs) return true;
      s = def.in;
      continue;
    }
    if (def.innerType) {
      s = def.innerType;
      continue;
    }
    return false;
  }
  return false;
}
