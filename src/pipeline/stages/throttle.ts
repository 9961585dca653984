import { z } from 'zod';
import { positiveDuration } from '../../core/duration.js';
import { throttle } from '../../operators/throttle.js';
import { eventKeyOf } from '../fields.js';
import { defineStage, operatorState } from '../stage.js';
import { keyFields, positiveInt, stateOptions } from '../stage-options.js';

export const throttleStage = defineStage({
  type: 'throttle',
  summary:
    "Lets at most `limit` events per key through per `interval` (event time), with RxJS throttle's choice: leading emits the first ones of a period at once, trailing emits the last one held back when the period ends. Emitted events carry throttle.dropped: how many events of their key were dropped since the previous one.",
  accepts: ['KubeEvent'],
  options: z
    .strictObject({
      interval: positiveDuration().describe(
        'Length of a throttle period (event time); a period starts with the first event of a key after the previous one ended.',
      ),
      limit: positiveInt().default(1).describe('Events let through at the start of a period (leading).'),
      leading: z.boolean().default(true).describe('Emit the first `limit` events of a period at once.'),
      trailing: z.boolean().default(false).describe('Emit the last event held back when the period ends.'),
      by: keyFields(['cluster', 'object', 'reason'], 'What makes events "the same": their values of these fields.'),
      ...stateOptions(50_000, 'interval + 1h'),
    })
    .refine((o) => o.leading || o.trailing, { error: 'leading and trailing are both off: nothing would ever be emitted', path: ['leading'] }),
  state: { idleTtl: (o) => o.interval + 60 * 60_000 },
  check: (o, checks, path) => checks.keyFields(o.by, [...path, 'by']),
  build: (o, context) =>
    throttle({ ...operatorState(context), interval: o.interval, limit: o.limit, leading: o.leading, trailing: o.trailing, key: eventKeyOf(o.by) }),
});
