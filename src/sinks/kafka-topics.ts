/**
 * Topic names: each record kind has a default topic, a run configuration may rename them
 * (`topics:`), and a pipeline sink naming a kind's default topic means that kind's configured
 * topic. File sinks name their files the same way.
 */

/** The topic of each record kind. */
export type SinkTopics = Record<'KubeEvent' | 'Alert' | 'Incident' | 'Gap' | 'DeadLetter', string>;

/** A topic a pipeline writes records of one kind to (registered / created / checked at start). */
export interface TopicRoute {
  kind: string;
  topic: string;
}

/**
 * Gaps get their own topic: one record schema per topic keeps the Schema Registry's
 * TopicNameStrategy (`<topic>-value`), ksqlDB streams and Flink's avro-confluent format working
 * unchanged on every topic; gaps are rare, operational and joined by resource and time.
 */
export const DEFAULT_TOPICS: SinkTopics = {
  KubeEvent: 'k8s.events',
  Alert: 'k8s.alerts',
  Incident: 'k8s.incidents',
  Gap: 'k8s.gaps',
  DeadLetter: 'k8s.deadletter',
};

/** A target named like a kind's default topic means that kind's configured topic; any other name is taken as it is. */
export function topicFor(kind: string, named: string, kindTopics: SinkTopics): string {
  const k = kind as keyof SinkTopics;
  return DEFAULT_TOPICS[k] === named ? kindTopics[k] : named;
}
