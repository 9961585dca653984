/**
 * Building blocks of the stages' option schemas: keys made of event fields, fixed labels, and the
 * event-time and state options every stateful stage has. A default is written once, as the zod
 * default; the docs and the editor schema show it from there.
 */
import { z } from 'zod';
import { nonNegativeDuration, positiveDuration } from '../core/duration.js';
import { LATE_POLICIES } from '../operators/event-time.js';

export const positiveInt = () => z.number().int().min(1);

/** Record fields usable as a key / labels of events (see fields.ts for what each one is). */
export const EVENT_KEY_FIELDS = [
  'cluster',
  'namespace',
  'kind',
  'name',
  'uid',
  'object',
  'reason',
  'type',
  'category',
  'severity',
  'workload',
  'node',
  'reportingController',
] as const;
export type EventKeyField = (typeof EVENT_KEY_FIELDS)[number];

/** A key: a non-empty list of event fields. */
export const keyFields = (def: readonly EventKeyField[], what: string) =>
  z
    .array(z.enum(EVENT_KEY_FIELDS))
    .min(1)
    .default([...def])
    .describe(`${what} Event fields: ${EVENT_KEY_FIELDS.join(', ')}.`);

export const staticLabels = () =>
  z
    .record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'label names are letters, digits and _ (not starting with a digit)' }), z.string())
    .default({})
    .describe('Fixed labels added to every record (they are part of its identity).');

export const EventTimeSchema = z
  .strictObject({
    allowedLateness: nonNegativeDuration().prefault('0s').describe('How far behind the newest event time an event may arrive and still be processed in order.'),
    latePolicy: z
      .enum(LATE_POLICIES)
      .default('clamp')
      .describe('Events older than the watermark: clamp (process them at the watermark; never lose an event) or drop. Both are counted.'),
    idleAdvance: positiveDuration()
      .nullable()
      .default(null)
      .describe(
        'Live streams only: when no event arrived for this long (processing time), advance event time by the time elapsed, so alerts still resolve in quiet periods. null: off. Ignored in replay/embedded mode so a replay gives the same output at any speed.',
      ),
  })
  .describe('Event-time settings of every stateful stage of this pipeline (a stage may override allowedLateness and latePolicy).');

export type EventTimeSpec = z.output<typeof EventTimeSchema>;

/**
 * The state options of a stateful stage. `idleTtl` has no fixed default: the stage computes it
 * from its other options (`idleTtlDefault` says how, for the docs).
 */
export const stateOptions = (maxKeys: number, idleTtlDefault: string) => ({
  allowedLateness: nonNegativeDuration()
    .optional()
    .describe("How far behind the newest event time an event may arrive. Default: the pipeline's spec.eventTime.allowedLateness."),
  latePolicy: z.enum(LATE_POLICIES).optional().describe("Events older than the watermark: clamp or drop. Default: the pipeline's spec.eventTime.latePolicy."),
  maxKeys: positiveInt().default(maxKeys).describe('Most keys held in state; beyond it the least recently used key is evicted (counted and logged).'),
  idleTtl: positiveDuration().optional().describe(`State of a key untouched this long (event time) is dropped. Default: ${idleTtlDefault}.`),
});

/** The state settings a stateful stage runs with: its own overrides, else the pipeline's. */
export interface StateSettings {
  allowedLateness: number;
  latePolicy: 'clamp' | 'drop';
  maxKeys: number;
  idleTtl: number;
}
