import { filter } from 'rxjs';
import { compileMatcher, describeMatcher, RecordMatcherSchema } from '../matcher.js';
import { defineStage } from '../stage.js';

export const filterStage = defineStage({
  type: 'filter',
  summary: 'Keeps the records matching these conditions.',
  accepts: ['KubeEvent', 'Alert', 'Incident', 'EventWindow'],
  options: RecordMatcherSchema,
  check: (matcher, checks, path) => checks.matcher(matcher, path, checks.flow.kind, 'filter'),
  explain: (matcher) => ({ match: describeMatcher(matcher) }),
  build: (matcher, { input }) => filter(compileMatcher(matcher, input)),
});
