/**
 * Option schemas every receiver shares (name, retries, rate limit, timeout, URL), for the receiver
 * definitions of this folder to build their own from.
 */
import { z } from 'zod';
import { timerDuration } from '../../core/duration.js';
import type { RateLimit } from '../rate-limit.js';

export const positiveInt = () => z.number().int().min(1);
export const secretNote = 'A reference ${env:NAME} or ${file:PATH}; never written inline.';
const NAME = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { error: 'a receiver name: letters, digits, ".", "_" and "-", at most 63, starting with a letter or digit' });

export const RetrySchema = z
  .strictObject({
    maxAttempts: positiveInt().max(100).optional().describe('Attempts in total, the first included. Default 6.'),
    initialBackoff: timerDuration().optional().describe('Wait before the first retry, doubled for each further one (with jitter). Default 1s.'),
    maxBackoff: timerDuration().optional().describe('Cap of the exponential wait. Default 1m.'),
    maxRetryAfter: timerDuration().optional().describe("Cap applied to a server's Retry-After. Default 5m."),
    throttleBackoff: timerDuration()
      .optional()
      .describe('Least wait after DingTalk/WeCom say "too many messages" (errcodes 130101, 410100, 45009, 45033). Default 30s.'),
  })
  .describe('Retries on 5xx, 429, 408, network errors, timeouts and throttling errcodes. Other 4xx and errcodes are permanent: dead-lettered at once.');

export const RateLimitSchema = z.strictObject({
  messages: positiveInt().describe('At most this many messages (attempts) ...'),
  per: timerDuration().describe('... in any window of this length.'),
  burst: positiveInt()
    .optional()
    .describe('Token bucket capacity. Default messages/10 (at least 1); the refill is messages - burst per window, so no window sees more than `messages`.'),
});

const showLimit = (limit: RateLimit | null): string =>
  limit === null ? 'none' : `${limit.messages} per ${limit.perMs % 60_000 === 0 ? `${limit.perMs / 60_000}m` : `${limit.perMs / 1000}s`}`;

/** The options every receiver has; `rateLimit` documents the receiver type's own default. */
export const commonOptions = (defaultRateLimit: RateLimit | null) => ({
  name: NAME.describe('Unique name, referred to by routes.'),
  sendResolved: z.boolean().default(true).describe('Also notify resolved alerts and closed incidents.'),
  timeout: timerDuration().optional().describe('Deadline of each request (connect, headers, body). Default: defaults.timeout (5s).'),
  retry: RetrySchema.optional(),
  rateLimit: RateLimitSchema.nullable()
    .optional()
    .describe(`The receiver's rate limit (token bucket); null: none. Default: ${showLimit(defaultRateLimit)}.`),
});

export const urlOptions = (what: string) => ({
  url: z.string().min(1).optional().describe(`${what} ${secretNote}`),
  urlFile: z.string().min(1).optional().describe('File holding the URL (instead of url).'),
});

export const templateOption = (what: string) => z.string().min(1).optional().describe(`${what} (template; see docs/alerting.md for the names).`);

export const headerOptions = (what: string) =>
  z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'an HTTP header name' }), z.string())
    .default({})
    .describe(what);

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- only its type is used
const commonDocument = z.strictObject({ type: z.string(), ...commonOptions(null), ...urlOptions('') });
/** The options every receiver has, parsed. */
export type ReceiverCommonDocument = z.output<typeof commonDocument>;
