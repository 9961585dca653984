/**
 * What an alert receiver is: one self-contained component, defined in one file of this folder and
 * listed once in registry.ts. It holds its type name, its options (a zod schema with a `type`
 * literal: the alerts configuration is their discriminated union), whether its URL is itself a
 * secret, its default rate limit, how its resolved configuration is made from the options
 * (templates compiled, secrets read) and its constructor. docs/alerting.md shows its options from
 * the schema (`npm run gen`).
 */
import type { z } from 'zod';
import type { PathSegment } from '../../core/yaml-locator.js';
import type { RateLimit } from '../rate-limit.js';
import type { Template } from '../template.js';
import type { Receiver, ReceiverCommonConfig } from './types.js';

/** What the configuration loader offers a receiver's `resolve`; every problem is reported at `path` + the key. */
export interface ReceiverResolveContext {
  /** Name, url (read and checked), timeout, retry and rate limit: resolved by the loader. */
  common: ReceiverCommonConfig;
  /** A template option: compiled and checked against the notification names; `fallback` when not set; null on error (reported). */
  template(key: string, source: string | undefined, fallback: string | null): Template | null;
  /** A secret option with a file twin (`secret` / `secretFile`): read, never echoed; null when absent or on error (reported). */
  secret(spec: { key: string; fileKey: string; value: string | undefined; fileValue: string | undefined; what: string; inlineRefusal: string }): string | null;
  /** HTTP headers: credentials must be references; names lower-cased. */
  headers(key: string, headers: Record<string, string>): Record<string, string>;
  report(path: PathSegment[], message: string, hint?: string): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry lists definitions of every options type
export interface ReceiverDefinition<D = any, C extends ReceiverCommonConfig = any> {
  /** The `type` in the alerts configuration. */
  type: string;
  /** What it notifies, one line; the docs heading. */
  summary: string;
  /** Its options (with `type: z.literal(type)`). */
  options: z.ZodObject;
  /** The URL carries a credential itself (the chat platforms' webhooks): never inline, never logged. */
  secretUrl: { what: string } | null;
  defaultRateLimit: RateLimit | null;
  /** The resolved configuration, or null when a problem was reported. */
  resolve(options: D, context: ReceiverResolveContext): C | null;
  create(config: C, options: { externalUrl: string | null }): Receiver;
}

export function defineReceiver<S extends z.ZodObject, C extends ReceiverCommonConfig>(
  definition: ReceiverDefinition<z.output<S>, C> & { options: S },
): ReceiverDefinition<z.output<S>, C> {
  return definition;
}
