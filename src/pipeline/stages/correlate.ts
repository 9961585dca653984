import { z } from 'zod';
import { positiveDuration } from '../../core/duration.js';
import { CORRELATION_KINDS } from '../../model/incident.js';
import { correlate } from '../../operators/correlate.js';
import { compileMatcher, describeMatcher, RecordMatcherSchema } from '../matcher.js';
import { defineStage, operatorState } from '../stage.js';
import { positiveInt, stateOptions } from '../stage-options.js';

export const correlateStage = defineStage({
  type: 'correlate',
  summary:
    'Gathers problem events of related objects (same node, same owning workload, same object) within a window into one Incident: emitted open when it reaches minMembers and closed when it ends. A node incident stays open while its node is down (a down reason without an up reason since), then for `window`.',
  accepts: ['KubeEvent'],
  emits: () => 'Incident',
  shorthand: true,
  options: z.strictObject({
    window: positiveDuration().prefault('5m').describe('An incident closes when no member arrived for this long (event time).'),
    maxDuration: positiveDuration().prefault('1h').describe('An incident closes at the latest this long after its first member.'),
    minMembers: positiveInt().default(2).describe('Members an incident needs before it is emitted.'),
    maxMembers: positiveInt().default(50).describe('Member events kept in the record (memberCount counts all).'),
    kinds: z
      .array(z.enum(CORRELATION_KINDS))
      .min(1)
      .default([...CORRELATION_KINDS])
      .describe('Correlations to use, tried in the order node, owner, object.'),
    get match() {
      return RecordMatcherSchema.optional().describe('Events taking part. Default: classified severity >= warning, or type Warning when unclassified.');
    },
    nodeDownReasons: z
      .array(z.string().min(1))
      .default(['NodeNotReady', 'NodeNotReachable'])
      .describe('Reasons of Node events that mark the node down: its incident stays open (up to maxDuration) until an up event.'),
    nodeUpReasons: z
      .array(z.string().min(1))
      .default(['NodeReady'])
      .describe(
        'Reasons of Node events that mark the node back: they join its incident even when `match` would skip them; the incident then closes after `window`.',
      ),
    emitOpen: z.boolean().default(true).describe('Emit an `open` record when an incident reaches minMembers (besides `closed`).'),
    ...stateOptions(10_000, 'maxDuration + window'),
  }),
  state: { idleTtl: (o) => o.maxDuration + o.window },
  check(o, checks, path) {
    if (o.match) checks.matcher(o.match, [...path, 'match'], 'KubeEvent', 'match');
  },
  explain: (o, display) => (o.match ? { ...display, match: describeMatcher(o.match) } : display),
  build: (o, context) =>
    correlate({
      ...operatorState(context),
      window: o.window,
      maxDuration: o.maxDuration,
      minMembers: o.minMembers,
      maxMembers: o.maxMembers,
      kinds: o.kinds,
      ...(o.match ? { filter: compileMatcher(o.match, 'KubeEvent') } : {}),
      nodeDownReasons: o.nodeDownReasons,
      nodeUpReasons: o.nodeUpReasons,
      emitOpen: o.emitOpen,
    }),
});
