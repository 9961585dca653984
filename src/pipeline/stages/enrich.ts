import { z } from 'zod';
import { DEFAULT_ENRICH_LABELS, enrich } from '../../operators/enrich.js';
import { defineStage } from '../stage.js';

export const enrichStage = defineStage({
  type: 'enrich',
  summary:
    'Sets enrichment on every event from the watched object caches: owner chain and workload, node, Pod phase, container states, labels. Null when the object is not cached.',
  accepts: ['KubeEvent'],
  marks: 'enriched',
  shorthand: true,
  options: z.strictObject({
    labels: z
      .union([z.literal('*'), z.array(z.string().min(1))])
      .default([...DEFAULT_ENRICH_LABELS])
      .describe('Labels of the regarding object to copy into enrichment.labels; "*" copies all.'),
  }),
  build: (o, { lookup }) => enrich(lookup, { labels: o.labels }),
});
