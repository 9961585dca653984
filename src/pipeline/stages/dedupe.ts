import { z } from 'zod';
import { positiveDuration } from '../../core/duration.js';
import { dedupe } from '../../operators/dedupe.js';
import { eventKeyOf } from '../fields.js';
import { defineStage, operatorState } from '../stage.js';
import { keyFields, stateOptions } from '../stage-options.js';

export const dedupeStage = defineStage({
  type: 'dedupe',
  summary:
    'Lets the first event of a key through and suppresses repeats for `window`; the next one after the window carries dedupe.suppressed (how many were dropped).',
  accepts: ['KubeEvent'],
  shorthand: true,
  options: z.strictObject({
    window: positiveDuration().prefault('5m').describe('Suppression window (event time).'),
    by: keyFields(['cluster', 'object', 'reason'], 'What makes events "the same": their values of these fields.'),
    extendOnRepeat: z.boolean().default(false).describe('Extend the window on every suppressed repeat (suppress until a quiet gap of `window`).'),
    ...stateOptions(50_000, '1h'),
  }),
  state: { idleTtl: () => 60 * 60_000 },
  check: (o, checks, path) => checks.keyFields(o.by, [...path, 'by']),
  build: (o, context) => dedupe({ ...operatorState(context), window: o.window, extendOnRepeat: o.extendOnRepeat, key: eventKeyOf(o.by) }),
});
