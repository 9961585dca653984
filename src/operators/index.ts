/** The stream operators (issue #6): enrich, classify, dedupe, rate, spike, correlate, group. */
export { enrich, enrichmentOf, podContainers, regardingObject, DEFAULT_ENRICH_LABELS, type EnrichOptions } from './enrich.js';
export {
  classify,
  classifyEvent,
  compileRule,
  compileRules,
  BUILT_IN_RULES,
  RuleError,
  type ClassificationRule,
  type ClassifyFallback,
  type ClassifyOptions,
  type CompiledRules,
} from './classify.js';
export { dedupe, dedupeKey, type DedupeInfo, type DedupeOptions, type Deduped } from './dedupe.js';
export { rate, rateLabels, type RateOptions, type RateSummaryInput } from './rate.js';
export { spike, spikeLabels, type SpikeOptions } from './spike.js';
export { correlate, isProblem, type CorrelateOptions } from './correlate.js';
export { group, GROUP_BY_ALL, type GroupOptions } from './group.js';
export {
  eventTimeStage,
  formatDuration,
  isOccurrence,
  LATE_POLICIES,
  type EventTimeOptions,
  type EvictionReason,
  type LatePolicy,
  type StageContext,
  type StageLogic,
  type StageOptions,
  type StateOptions,
} from './event-time.js';
export { defaultOperatorLogger, defaultOperatorRegistry, operatorMetrics, type OperatorMetrics } from './metrics.js';
