/**
 * Prometheus metrics of the alert sinks, per receiver (label `receiver`, and `type`):
 *
 *   kubevents_alert_notifications_sent_total            delivered notifications
 *   kubevents_alert_notifications_failed_total{cause}   notifications given up (dead-lettered): permanent errors, retries exhausted
 *   kubevents_alert_notification_retries_total{cause}   retried attempts (timeout, network, http_5xx, http_429, throttled, errcode)
 *   kubevents_alert_notification_duplicates_total       notifications suppressed by the idempotency-key cache
 *   kubevents_alert_notification_truncated_total        messages cut to fit the platform's limits
 *   kubevents_alert_notification_request_seconds        latency of each HTTP attempt
 *   kubevents_alert_notification_delivery_seconds       from the first attempt to delivery (retries and rate limiting included)
 *   kubevents_alert_notification_rate_limited_seconds_total  time spent waiting for the receiver's rate limit
 *
 * and for the consumer:
 *
 *   kubevents_alert_records_total{topic, outcome}      records read: routed, unrouted, skipped (other kinds), undecodable
 *   kubevents_alert_dead_letters_total{reason}          dead letters written
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { getOrCreateMetric } from '../core/metrics.js';

export interface AlertingMetrics {
  sent: Counter<'receiver' | 'type'>;
  failed: Counter<'receiver' | 'type' | 'cause'>;
  retries: Counter<'receiver' | 'type' | 'cause'>;
  duplicates: Counter<'receiver' | 'type'>;
  truncated: Counter<'receiver' | 'type'>;
  requestSeconds: Histogram<'receiver' | 'type'>;
  deliverySeconds: Histogram<'receiver' | 'type'>;
  rateLimitedSeconds: Counter<'receiver' | 'type'>;
  records: Counter<'topic' | 'outcome'>;
  deadLetters: Counter<'reason'>;
}

const REQUEST_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
const DELIVERY_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800];

export function alertingMetrics(registry: Registry): AlertingMetrics {
  const registers = [registry];
  const rl = ['receiver', 'type'] as const;
  return {
    sent: getOrCreateMetric(
      registry,
      'kubevents_alert_notifications_sent_total',
      () => new Counter({ name: 'kubevents_alert_notifications_sent_total', help: 'Notifications delivered, per receiver.', labelNames: rl, registers }),
    ),
    failed: getOrCreateMetric(
      registry,
      'kubevents_alert_notifications_failed_total',
      () =>
        new Counter({
          name: 'kubevents_alert_notifications_failed_total',
          help: 'Notifications given up and dead-lettered (permanent error or retries exhausted), per receiver and cause.',
          labelNames: [...rl, 'cause'] as const,
          registers,
        }),
    ),
    retries: getOrCreateMetric(
      registry,
      'kubevents_alert_notification_retries_total',
      () =>
        new Counter({
          name: 'kubevents_alert_notification_retries_total',
          help: 'Attempts that failed and were retried, per receiver and cause.',
          labelNames: [...rl, 'cause'] as const,
          registers,
        }),
    ),
    duplicates: getOrCreateMetric(
      registry,
      'kubevents_alert_notification_duplicates_total',
      () =>
        new Counter({
          name: 'kubevents_alert_notification_duplicates_total',
          help: 'Notifications not sent again because their idempotency key was delivered recently by this process.',
          labelNames: rl,
          registers,
        }),
    ),
    truncated: getOrCreateMetric(
      registry,
      'kubevents_alert_notification_truncated_total',
      () =>
        new Counter({
          name: 'kubevents_alert_notification_truncated_total',
          help: "Messages cut to fit the platform's length limits.",
          labelNames: rl,
          registers,
        }),
    ),
    requestSeconds: getOrCreateMetric(
      registry,
      'kubevents_alert_notification_request_seconds',
      () =>
        new Histogram({
          name: 'kubevents_alert_notification_request_seconds',
          help: 'Duration of each HTTP attempt to a receiver.',
          labelNames: rl,
          buckets: REQUEST_BUCKETS,
          registers,
        }),
    ),
    deliverySeconds: getOrCreateMetric(
      registry,
      'kubevents_alert_notification_delivery_seconds',
      () =>
        new Histogram({
          name: 'kubevents_alert_notification_delivery_seconds',
          help: 'Time from the first attempt to the delivery of a notification (retries and rate limiting included).',
          labelNames: rl,
          buckets: DELIVERY_BUCKETS,
          registers,
        }),
    ),
    rateLimitedSeconds: getOrCreateMetric(
      registry,
      'kubevents_alert_notification_rate_limited_seconds_total',
      () =>
        new Counter({
          name: 'kubevents_alert_notification_rate_limited_seconds_total',
          help: "Time spent waiting for a receiver's rate limit.",
          labelNames: rl,
          registers,
        }),
    ),
    records: getOrCreateMetric(
      registry,
      'kubevents_alert_records_total',
      () =>
        new Counter({
          name: 'kubevents_alert_records_total',
          help: 'Records read by the alert sinks, by topic and outcome (routed, unrouted, skipped, undecodable).',
          labelNames: ['topic', 'outcome'] as const,
          registers,
        }),
    ),
    deadLetters: getOrCreateMetric(
      registry,
      'kubevents_alert_dead_letters_total',
      () =>
        new Counter({
          name: 'kubevents_alert_dead_letters_total',
          help: 'Dead letters written by the alert sinks, by reason.',
          labelNames: ['reason'] as const,
          registers,
        }),
    ),
  };
}
