import { filter, merge, share, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { Alert } from '../src/model/alert.js';
import type { Incident } from '../src/model/incident.js';
import type { KubeEvent } from '../src/model/kube-event.js';
import { classify } from '../src/operators/classify.js';
import { enrich } from '../src/operators/enrich.js';
import { rate } from '../src/operators/rate.js';
import type { ObjectLookup } from '../src/sources/object-lookup.js';

export interface ProcessingOutputs {
  /** Every occurrence, classified and enriched: the events topic. */
  events$: Observable<KubeEvent>;
  alerts$: Observable<Alert>;
  incidents$: Observable<Incident>;
}

export interface DefaultProcessingOptions {
  lookup: ObjectLookup;
  logger?: Logger;
}

const MINUTE = 60_000;

/**
 * The processing `kubevents run` applies when no pipeline files are given: classify and enrich
 * every event for the events topic, and raise alerts for DESIGN.md's stories. Event-time driven,
 * so a replay gives the same records at any speed.
 */
export function defaultProcessing(events$: Observable<KubeEvent>, options: DefaultProcessingOptions): ProcessingOutputs {
  const logger = options.logger;
  const processed$ = events$.pipe(classify(), enrich(options.lookup), share());
  const failedScheduling$ = processed$.pipe(
    filter((e) => e.regarding.kind === 'Pod' && (e.reason === 'FailedScheduling' || e.reason === 'Scheduled')),
    rate({
      name: 'failed-scheduling',
      alertname: 'PodUnschedulable',
      threshold: 5,
      window: 3 * MINUTE,
      hold: 5 * MINUTE,
      ...(logger ? { logger } : {}),
      resolveOn: (e) => e.reason === 'Scheduled' && e.regarding.kind === 'Pod',
    }),
  );
  return {
    events$: processed$,
    alerts$: merge(failedScheduling$),
    incidents$: merge(),
  };
}
