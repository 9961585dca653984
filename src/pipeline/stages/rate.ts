import { z } from 'zod';
import { nonNegativeDuration, positiveDuration, showDuration } from '../../core/duration.js';
import { CATEGORIES, SEVERITIES, type KubeEvent } from '../../model/kube-event.js';
import { formatSpan } from '../../operators/alert-builder.js';
import { rate } from '../../operators/rate.js';
import { compileTemplate, eventLabelsOf } from '../fields.js';
import { compileMatcher, describeMatcher, RecordMatcherSchema } from '../matcher.js';
import { defineStage, operatorState } from '../stage.js';
import { keyFields, positiveInt, stateOptions, staticLabels } from '../stage-options.js';

/** Extra placeholders a rate summary template may use. */
export const RATE_SUMMARY_FIELDS = ['count', 'threshold', 'window', 'span', 'status'] as const;

export const rateStage = defineStage({
  type: 'rate',
  summary:
    'Counts events per key in a sliding window and emits a firing Alert when the count reaches the threshold, and a resolved one when it falls back under it (after `hold`). One firing and one resolved record per episode.',
  accepts: ['KubeEvent'],
  emits: () => 'Alert',
  options: z.strictObject({
    threshold: positiveInt().describe('Fire when at least this many events of a key fall within `window`.'),
    window: positiveDuration().describe('Sliding window (event time); an event at t counts in (t - window, t].'),
    hold: nonNegativeDuration().prefault('0s').describe('Resolve only after the count stayed under the threshold this long.'),
    holdUntilQuiet: z
      .boolean()
      .default(false)
      .describe(
        'Restart the hold at every counted event: resolve once the count is under the threshold and no event of the key came for `hold` (for conditions whose events keep trickling in under the threshold, e.g. the scheduler retrying an unschedulable Pod).',
      ),
    by: keyFields(
      ['cluster', 'namespace', 'kind', 'name', 'reason'],
      'One counter (and one alert) per distinct value of these fields; they become the alert labels.',
    ),
    labels: staticLabels(),
    alertname: z.string().min(1).default('KubeEventRate').describe('alertname label.'),
    severity: z
      .enum(SEVERITIES)
      .optional()
      .describe('Alert severity. Default: the highest classified severity of the counted events (warning when unclassified).'),
    category: z.enum(CATEGORIES).optional().describe("Alert category. Default: the last counted event's category (Other when unclassified)."),
    summary: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Summary template: {field} placeholders of the last counted event plus {count} (firing: the events within the window at the crossing; resolved: all events of the episode), {threshold}, {window}, {span} (`between 10:01:30 and 10:12:36 UTC`, the event times of the counted events), {status}. Default firing "<count> <reason> within <window> (<span>) on <object> (<workload>): <message>", resolved "resolved: <count> <reason> <span> on <object> (<workload>)".',
      ),
    annotations: z
      .record(z.string(), z.string())
      .default({})
      .describe('Extra annotations; values are templates with {field} placeholders of the last counted event.'),
    get resolveOn() {
      return RecordMatcherSchema.optional().describe(
        'Events that end the condition for their object at once (e.g. reason Scheduled ends FailedScheduling): not counted; any firing alert about the same object resolves.',
      );
    },
    maxSamples: z.number().int().min(0).default(3).describe('Distinct sample messages kept per alert.'),
    maxMemberKeys: z.number().int().min(0).default(20).describe('Idempotency keys of contributing events kept per alert.'),
    ...stateOptions(20_000, 'window + hold + 1h'),
  }),
  state: { idleTtl: (o) => o.window + o.hold + 60 * 60_000 },
  check(o, checks, path) {
    checks.keyFields(o.by, [...path, 'by']);
    if (o.resolveOn) checks.matcher(o.resolveOn, [...path, 'resolveOn'], 'KubeEvent', 'resolveOn');
    if (o.summary !== undefined) checks.template(o.summary, [...path, 'summary'], 'KubeEvent', RATE_SUMMARY_FIELDS);
    for (const [name, value] of Object.entries(o.annotations)) checks.template(value, [...path, 'annotations', name], 'KubeEvent');
  },
  explain: (o, display) => (o.resolveOn ? { ...display, resolveOn: describeMatcher(o.resolveOn) } : display),
  build(o, context) {
    const summary = o.summary === undefined ? undefined : compileTemplate<KubeEvent>(o.summary, 'KubeEvent', RATE_SUMMARY_FIELDS);
    const annotations = Object.entries(o.annotations).map(([k, t]) => [k, compileTemplate<KubeEvent>(t, 'KubeEvent')] as const);
    const resolveOn = o.resolveOn ? compileMatcher(o.resolveOn, 'KubeEvent') : undefined;
    return rate({
      ...operatorState(context),
      threshold: o.threshold,
      window: o.window,
      hold: o.hold,
      holdUntilQuiet: o.holdUntilQuiet,
      labels: eventLabelsOf(o.by, o.labels),
      alertname: o.alertname,
      ...(o.severity ? { severity: o.severity } : {}),
      ...(o.category ? { category: o.category } : {}),
      ...(summary
        ? {
            summary: (i) =>
              summary(i.event, {
                count: String(i.count),
                threshold: String(i.threshold),
                window: showDuration(i.window),
                span: formatSpan(i.firstSeen, i.lastSeen),
                status: i.status,
              }),
          }
        : {}),
      ...(annotations.length ? { annotations: (e: KubeEvent) => Object.fromEntries(annotations.map(([k, render]) => [k, render(e)])) } : {}),
      ...(resolveOn ? { resolveOn } : {}),
      maxSamples: o.maxSamples,
      maxMemberKeys: o.maxMemberKeys,
    });
  },
});
