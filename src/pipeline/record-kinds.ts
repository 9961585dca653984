/**
 * What flows between the stages of a pipeline: the Avro record kinds (events, alerts, incidents,
 * event windows) and projected records after `select`. For each: how it is named in messages, its
 * default topic, and its identity on the way out (partition key, idempotency key, event time).
 */
import type { Alert } from '../model/alert.js';
import type { EventWindow } from '../model/event-window.js';
import type { Incident } from '../model/incident.js';
import { objectKey, type KubeEvent } from '../model/kube-event.js';

export const STREAM_KINDS = ['KubeEvent', 'Alert', 'Incident', 'EventWindow', 'Projection'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

export interface RecordIdentity {
  key: string;
  idempotencyKey: string;
  timestamp?: number;
}

interface KindSpec {
  /** How the records are called in messages: `events`, `alerts`. */
  noun: string;
  /** Records follow schemas/<kind>.avsc (Kafka and file sinks take them). */
  avro: boolean;
  /** Topic (and file name) when a sink names none. */
  defaultTopic: string | null;
  identity(record: unknown): RecordIdentity;
}

export const KIND_SPECS: Readonly<Record<StreamKind, KindSpec>> = {
  KubeEvent: {
    noun: 'events',
    avro: true,
    defaultTopic: 'k8s.events',
    identity: (r) => {
      const e = r as KubeEvent;
      return { key: objectKey(e), idempotencyKey: e.idempotencyKey, timestamp: e.lastTimestamp };
    },
  },
  Alert: {
    noun: 'alerts',
    avro: true,
    defaultTopic: 'k8s.alerts',
    identity: (r) => {
      const a = r as Alert;
      return { key: a.alertId, idempotencyKey: a.idempotencyKey, timestamp: a.updatedAt };
    },
  },
  Incident: {
    noun: 'incidents',
    avro: true,
    defaultTopic: 'k8s.incidents',
    identity: (r) => {
      const i = r as Incident;
      return { key: i.incidentId, idempotencyKey: i.idempotencyKey, timestamp: i.updatedAt };
    },
  },
  EventWindow: {
    noun: 'event windows',
    avro: true,
    defaultTopic: 'k8s.event-windows',
    identity: (r) => {
      const w = r as EventWindow;
      return { key: w.windowId, idempotencyKey: w.idempotencyKey, timestamp: w.end };
    },
  },
  Projection: { noun: 'selected fields', avro: false, defaultTopic: null, identity: () => ({ key: '', idempotencyKey: '' }) },
};

export const kindName = (kind: StreamKind): string => KIND_SPECS[kind].noun;
export const isAvroKind = (kind: StreamKind): boolean => KIND_SPECS[kind].avro;
/** The Avro kinds, for messages: `events, alerts, incidents, event windows`. */
export const AVRO_STREAM_KINDS: readonly StreamKind[] = STREAM_KINDS.filter(isAvroKind);
