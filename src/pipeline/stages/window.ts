import { z } from 'zod';
import { positiveDuration } from '../../core/duration.js';
import { eventWindows } from '../../operators/window.js';
import { eventLabelsOf } from '../fields.js';
import { defineStage, operatorState } from '../stage.js';
import { keyFields, positiveInt, stateOptions, staticLabels } from '../stage-options.js';

export const windowStage = defineStage({
  type: 'window',
  summary:
    'Counts events per key in event-time windows, tumbling (slide = size, aligned to the epoch) or sliding (slide < size), and emits one EventWindow record per key and window once the window has passed: count, Warnings, first and last time, distinct objects, top reasons. For data teams that want counts rather than raw events.',
  accepts: ['KubeEvent'],
  emits: () => 'EventWindow',
  options: z
    .strictObject({
      size: positiveDuration().prefault('1m').describe('Window length (event time).'),
      slide: positiveDuration().optional().describe('Distance between window starts. Default: size (tumbling windows); shorter: sliding windows.'),
      by: keyFields(['cluster', 'namespace'], 'One count per distinct value of these fields; they become the record labels.'),
      labels: staticLabels(),
      topReasons: z.number().int().min(0).max(100).default(5).describe('Reasons listed per window, most frequent first.'),
      maxObjects: positiveInt()
        .default(1000)
        .describe('Distinct objects remembered per window; beyond it distinctObjects is a lower bound (distinctObjectsCapped).'),
      ...stateOptions(10_000, 'size + 1h'),
    })
    .refine((o) => o.slide === undefined || o.slide <= o.size, { error: 'slide must not be longer than size', path: ['slide'] }),
  state: { idleTtl: (o) => o.size + 60 * 60_000 },
  check: (o, checks, path) => checks.keyFields(o.by, [...path, 'by']),
  build: (o, context) =>
    eventWindows({
      ...operatorState(context),
      size: o.size,
      ...(o.slide !== undefined ? { slide: o.slide } : {}),
      labels: eventLabelsOf(o.by, o.labels),
      topReasons: o.topReasons,
      maxObjects: o.maxObjects,
    }),
});
