import { z } from 'zod';
import { positiveDuration } from '../../core/duration.js';
import { CATEGORIES, SEVERITIES } from '../../model/kube-event.js';
import { spike } from '../../operators/spike.js';
import { eventLabelsOf } from '../fields.js';
import { defineStage, operatorState } from '../stage.js';
import { keyFields, stateOptions, staticLabels } from '../stage-options.js';

export const spikeStage = defineStage({
  type: 'spike',
  summary:
    "Compares each key's event count per bucket with its own baseline (EWMA of past buckets) and emits a firing Alert (KubeEventRateSpike) when a bucket is far above it, resolved when the rate comes back down. Filter first, e.g. type: Warning.",
  accepts: ['KubeEvent'],
  emits: () => 'Alert',
  shorthand: true,
  options: z.strictObject({
    interval: positiveDuration().prefault('1m').describe('Bucket length (event time).'),
    factor: z.number().positive().default(5).describe('A bucket is anomalous when its count >= factor x baseline...'),
    minCount: z.number().int().min(0).default(20).describe('...and its count >= minCount.'),
    alpha: z.number().positive().max(1).default(0.3).describe('EWMA smoothing of the baseline (weight of the newest bucket), 0 < alpha <= 1.'),
    minBaseline: z.number().min(0).default(1).describe('The baseline used is at least this (events per bucket).'),
    warmup: z.number().int().min(0).default(5).describe('Buckets a key must have been observed before it can alert.'),
    learnDuringAnomaly: z.boolean().default(false).describe('Update the baseline with anomalous buckets too (false: a sustained storm keeps firing).'),
    by: keyFields(['cluster', 'namespace'], 'One baseline (and one alert) per distinct value of these fields; they become the alert labels.'),
    labels: staticLabels(),
    alertname: z.string().min(1).default('KubeEventRateSpike').describe('alertname label.'),
    severity: z.enum(SEVERITIES).default('warning').describe('Alert severity.'),
    category: z.enum(CATEGORIES).optional().describe('Alert category. Default: the most frequent category in the bucket (Other when unclassified).'),
    maxSamples: z.number().int().min(0).default(3).describe('Distinct sample messages kept per alert.'),
    maxMemberKeys: z.number().int().min(0).default(20).describe('Idempotency keys of contributing events kept per alert.'),
    ...stateOptions(10_000, '24h'),
  }),
  state: { idleTtl: () => 24 * 60 * 60_000 },
  check: (o, checks, path) => checks.keyFields(o.by, [...path, 'by']),
  build: (o, context) =>
    spike({
      ...operatorState(context),
      interval: o.interval,
      factor: o.factor,
      minCount: o.minCount,
      alpha: o.alpha,
      minBaseline: o.minBaseline,
      warmup: o.warmup,
      learnDuringAnomaly: o.learnDuringAnomaly,
      labels: eventLabelsOf(o.by, o.labels),
      alertname: o.alertname,
      severity: o.severity,
      ...(o.category ? { category: o.category } : {}),
      maxSamples: o.maxSamples,
      maxMemberKeys: o.maxMemberKeys,
    }),
});
