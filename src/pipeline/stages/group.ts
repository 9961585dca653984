import { z } from 'zod';
import { nonNegativeDuration, positiveDuration } from '../../core/duration.js';
import { group } from '../../operators/group.js';
import { defineStage, operatorState } from '../stage.js';
import { positiveInt, stateOptions } from '../stage-options.js';

export const groupStage = defineStage({
  type: 'group',
  summary:
    "Groups alerts and decides when to notify, with Alertmanager's semantics (group_by, group_wait, group_interval, repeat_interval, resolve). Emits one Alert per notification.",
  accepts: ['Alert'],
  shorthand: true,
  kindHint: (kind) => (kind === 'KubeEvent' ? 'group takes the alerts of a rate or spike stage: put it after one' : undefined),
  options: z.strictObject({
    groupBy: z.array(z.string().min(1)).min(1).default(['alertname']).describe('Label names an alert group is made of; ["..."] = every label (no grouping).'),
    groupWait: nonNegativeDuration().prefault('30s').describe('Wait before the first notification of a new group.'),
    groupInterval: positiveDuration().prefault('5m').describe('Wait between notifications of a group about changes.'),
    repeatInterval: positiveDuration().prefault('4h').describe('Re-send an unchanged firing notification this long after the last one.'),
    resolveTimeout: positiveDuration()
      .nullable()
      .default(null)
      .describe('A firing alert not updated for this long is considered resolved. null: alerts resolve only by a resolved record.'),
    sendResolved: z.boolean().default(true).describe('Notify when every alert of a group has resolved.'),
    maxAlertsPerGroup: positiveInt().default(1000).describe('Alerts held per group.'),
    ...stateOptions(10_000, 'repeatInterval + groupInterval'),
  }),
  state: { idleTtl: (o) => o.repeatInterval + o.groupInterval },
  build: (o, context) =>
    group({
      ...operatorState(context),
      groupBy: o.groupBy,
      groupWait: o.groupWait,
      groupInterval: o.groupInterval,
      repeatInterval: o.repeatInterval,
      resolveTimeout: o.resolveTimeout,
      sendResolved: o.sendResolved,
      maxAlertsPerGroup: o.maxAlertsPerGroup,
    }),
});
