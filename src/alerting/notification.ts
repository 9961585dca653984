/**
 * What a receiver is given: one Alert or Incident record read from Kafka, turned into a
 * Notification with the label set the routes match on and the view the message templates render.
 *
 * Incidents are notified like alerts: `open` is firing, `closed` is resolved.
 */
import type { Alert } from '../model/alert.js';
import type { Incident } from '../model/incident.js';
import type { ContainerContext } from '../model/kube-event.js';
import { shorten } from './truncate.js';

export type NotificationKind = 'Alert' | 'Incident';
export type NotificationStatus = 'firing' | 'resolved';

/** Where the record was read from (for dead letters and logs). */
export interface RecordSource {
  topic: string;
  partition: number;
  offset: string;
}

export interface ContainerView {
  name: string;
  ready: boolean;
  restartCount: number;
  waitingReason: string | null;
  waitingMessage: string | null;
  lastTerminationReason: string | null;
  lastExitCode: number | null;
  lastFinishedAt: string | null;
  /** One line: `CrashLoopBackOff, last terminated OOMKilled (exit code 137), 12 restarts, not ready` */
  state: string;
}

export interface MemberView {
  time: string;
  reason: string;
  type: string;
  object: string;
  message: string;
}

export interface NameValue {
  name: string;
  value: string;
}

/**
 * The template context. Every key is always present (null when not applicable), so templates can
 * be checked for misspelt names against a sample.
 */
export interface NotificationView {
  kind: NotificationKind;
  isAlert: boolean;
  isIncident: boolean;
  status: NotificationStatus;
  firing: boolean;
  resolved: boolean;
  /** FIRING / RESOLVED */
  statusText: string;
  /** 🔥 / ✅ */
  icon: string;
  severity: string;
  /** CRITICAL, ERROR, WARNING, INFO */
  severityText: string;
  category: string;
  cluster: string;
  namespace: string | null;
  /** labels.alertname for alerts, `KubeIncident` for incidents */
  alertname: string;
  /** One line naming what happened where, e.g. `PodUnschedulable: Pod shop/web-1` */
  title: string;
  /** The record's summary (alerts) or root cause (incidents) */
  summary: string;
  /** `Pod shop/web-1` (from the kind/namespace/name labels) or the incident subject */
  object: string | null;
  /** `Deployment/web` */
  workload: string | null;
  node: string | null;
  containers: ContainerView[];
  hasContainers: boolean;
  count: number;
  /** The window a firing alert's count fell within, e.g. `3m`; null when not windowed and for resolved alerts (their count is the whole episode, between firstSeen and lastSeen) */
  window: string | null;
  firstSeen: string;
  lastSeen: string;
  startsAt: string;
  endsAt: string | null;
  /** How long the condition lasted (resolved) or has lasted so far (firing), e.g. `12m30s` */
  duration: string;
  samples: string[];
  hasSamples: boolean;
  labels: NameValue[];
  labelMap: Record<string, string>;
  annotations: NameValue[];
  annotationMap: Record<string, string>;
  /** externalUrl from the configuration, or null */
  link: string | null;
  /** alertId or incidentId */
  id: string;
  idempotencyKey: string;
  sequence: number;
  /** incidents: node, owner, object */
  correlation: string | null;
  subject: string | null;
  rootReason: string | null;
  memberCount: number;
  members: MemberView[];
  hasMembers: boolean;
  /** The record as JSON (times as epoch ms, as in the Avro record) */
  json: string;
}

export interface Notification {
  kind: NotificationKind;
  record: Alert | Incident;
  status: NotificationStatus;
  idempotencyKey: string;
  /** alertId / incidentId */
  id: string;
  /** What route matchers see. */
  matchLabels: Record<string, string>;
  view: NotificationView;
  source: RecordSource | null;
}

export interface ViewOptions {
  /** IANA time zone for the times in messages (default UTC). */
  timeZone?: string;
  /** Link shown in messages (a dashboard, a runbook index). */
  externalUrl?: string | null;
  /** Sample messages shown (default 5, newest last). */
  maxSamples?: number;
  /** Characters per sample message (default 300). */
  maxSampleChars?: number;
  /** Incident members listed (default 10). */
  maxMembers?: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** `2025-01-15 08:30:00 UTC` in the given time zone. */
export function formatTime(ms: number, timeZone = 'UTC'): string {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return `${parts['year']}-${parts['month']}-${parts['day']} ${parts['hour']}:${parts['minute']}:${parts['second']} ${parts['timeZoneName'] ?? timeZone}`;
}

/** Throws RangeError for an unknown IANA time zone. */
export function checkTimeZone(timeZone: string): void {
  new Intl.DateTimeFormat('en', { timeZone });
}

/** 90000 -> `1m30s`; 0 -> `0s`. */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${d ? `${d}d` : ''}${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}` || '0s';
}

export function containerState(c: ContainerContext): string {
  const parts: string[] = [];
  if (c.waitingReason) parts.push(c.waitingReason);
  if (c.lastTerminationReason || c.lastExitCode !== null) {
    const exit = c.lastExitCode !== null ? ` (exit code ${c.lastExitCode})` : '';
    parts.push(`last terminated ${c.lastTerminationReason ?? 'with'}${exit}`.replace('with (exit', '(exit'));
  }
  parts.push(`${c.restartCount} restart${c.restartCount === 1 ? '' : 's'}`);
  parts.push(c.ready ? 'ready' : 'not ready');
  return parts.join(', ');
}

function nameValues(map: Readonly<Record<string, string>>): NameValue[] {
  return Object.keys(map)
    .sort()
    .map((name) => ({ name, value: map[name] as string }));
}

const jsonOf = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

function objectOfLabels(labels: Readonly<Record<string, string>>, namespace: string | null): string | null {
  const kind = labels['kind'];
  const name = labels['name'];
  if (!name) return null;
  const ns = labels['namespace'] ?? namespace;
  return `${kind ?? 'object'} ${ns ? `${ns}/` : ''}${name}`;
}

function severityText(severity: string): string {
  return severity.toUpperCase();
}

function statusView(status: NotificationStatus) {
  return {
    status,
    firing: status === 'firing',
    resolved: status === 'resolved',
    statusText: status === 'firing' ? 'FIRING' : 'RESOLVED',
    icon: status === 'firing' ? '🔥' : '✅',
  };
}

function samplesOf(messages: readonly string[], options: ViewOptions): string[] {
  const max = options.maxSamples ?? 5;
  return messages.slice(-max).map((m) => shorten(m, options.maxSampleChars ?? 300));
}

/** The label set route matchers see: the record's labels, then its fields (which win). */
function matchLabelsOf(
  kind: NotificationKind,
  status: NotificationStatus,
  labels: Record<string, string>,
  fields: Record<string, string | null>,
): Record<string, string> {
  const out: Record<string, string> = { ...labels };
  for (const [k, v] of Object.entries(fields)) {
    if (v === null || v === '') delete out[k];
    else out[k] = v;
  }
  out['record'] = kind;
  out['status'] = status;
  return out;
}

export function alertNotification(alert: Alert, options: ViewOptions = {}, source: RecordSource | null = null): Notification {
  const tz = options.timeZone ?? 'UTC';
  const status: NotificationStatus = alert.status;
  const alertname = alert.labels['alertname'] ?? 'KubeventsAlert';
  const object = objectOfLabels(alert.labels, alert.namespace);
  const end = alert.endsAt ?? alert.updatedAt;
  const view: NotificationView = {
    kind: 'Alert',
    isAlert: true,
    isIncident: false,
    ...statusView(status),
    severity: alert.severity,
    severityText: severityText(alert.severity),
    category: alert.category,
    cluster: alert.cluster,
    namespace: alert.namespace,
    alertname,
    title: object ? `${alertname}: ${object}` : alert.namespace ? `${alertname}: namespace ${alert.namespace}` : alertname,
    summary: alert.summary,
    object,
    workload: alert.workload ? `${alert.workload.kind}/${alert.workload.name}` : (alert.annotations['workload'] ?? null),
    node: alert.node ?? alert.annotations['node'] ?? null,
    containers: alert.containers.map((c) => ({
      name: c.name,
      ready: c.ready,
      restartCount: c.restartCount,
      waitingReason: c.waitingReason,
      waitingMessage: c.waitingMessage,
      lastTerminationReason: c.lastTerminationReason,
      lastExitCode: c.lastExitCode,
      lastFinishedAt: c.lastFinishedAt !== null ? formatTime(c.lastFinishedAt, tz) : null,
      state: containerState(c),
    })),
    hasContainers: alert.containers.length > 0,
    count: alert.count,
    // a resolved alert counts its whole episode, not one window
    window: alert.windowMs !== null && status === 'firing' ? humanDuration(alert.windowMs) : null,
    firstSeen: formatTime(alert.firstSeen, tz),
    lastSeen: formatTime(alert.lastSeen, tz),
    startsAt: formatTime(alert.startsAt, tz),
    endsAt: alert.endsAt !== null ? formatTime(alert.endsAt, tz) : null,
    duration: humanDuration((status === 'resolved' ? end : alert.updatedAt) - alert.startsAt),
    samples: samplesOf(alert.sampleMessages, options),
    hasSamples: alert.sampleMessages.length > 0,
    labels: nameValues(alert.labels),
    labelMap: { ...alert.labels },
    annotations: nameValues(alert.annotations),
    annotationMap: { ...alert.annotations },
    link: options.externalUrl ?? null,
    id: alert.alertId,
    idempotencyKey: alert.idempotencyKey,
    sequence: alert.sequence,
    correlation: null,
    subject: null,
    rootReason: null,
    memberCount: alert.memberKeys.length,
    members: [],
    hasMembers: false,
    json: jsonOf(alert),
  };
  return {
    kind: 'Alert',
    record: alert,
    status,
    idempotencyKey: alert.idempotencyKey,
    id: alert.alertId,
    matchLabels: matchLabelsOf('Alert', status, alert.labels, {
      alertname,
      severity: alert.severity,
      category: alert.category,
      cluster: alert.cluster,
      namespace: alert.namespace,
    }),
    view,
    source,
  };
}

export const INCIDENT_ALERTNAME = 'KubeIncident';

export function incidentNotification(incident: Incident, options: ViewOptions = {}, source: RecordSource | null = null): Notification {
  const tz = options.timeZone ?? 'UTC';
  const status: NotificationStatus = incident.status === 'open' ? 'firing' : 'resolved';
  const maxMembers = options.maxMembers ?? 10;
  const members = incident.members.slice(-maxMembers).map((m) => ({
    time: formatTime(m.time, tz),
    reason: m.reason,
    type: m.type,
    object: `${m.kind ?? 'object'} ${m.namespace ? `${m.namespace}/` : ''}${m.name ?? '?'}`,
    message: shorten(m.message, options.maxSampleChars ?? 300),
  }));
  const labels: Record<string, string> = {
    alertname: INCIDENT_ALERTNAME,
    correlation: incident.correlation,
    subject: incident.subject,
    reason: incident.rootReason,
    cluster: incident.cluster,
    ...(incident.namespace ? { namespace: incident.namespace } : {}),
    ...(incident.node ? { node: incident.node } : {}),
  };
  const view: NotificationView = {
    kind: 'Incident',
    isAlert: false,
    isIncident: true,
    ...statusView(status),
    severity: incident.severity,
    severityText: severityText(incident.severity),
    category: incident.category,
    cluster: incident.cluster,
    namespace: incident.namespace,
    alertname: INCIDENT_ALERTNAME,
    title: `Incident on ${incident.subject}: ${incident.rootReason || incident.category}`,
    summary: incident.rootCause,
    object: incident.subject,
    workload: incident.workload ? `${incident.workload.kind}/${incident.workload.name}` : null,
    node: incident.node,
    containers: [],
    hasContainers: false,
    count: incident.memberCount,
    window: null,
    firstSeen: formatTime(incident.firstTime, tz),
    lastSeen: formatTime(incident.lastTime, tz),
    startsAt: formatTime(incident.firstTime, tz),
    endsAt: status === 'resolved' ? formatTime(incident.updatedAt, tz) : null,
    duration: humanDuration((status === 'resolved' ? incident.updatedAt : incident.lastTime) - incident.firstTime),
    samples: samplesOf(
      incident.members.map((m) => `${m.reason} ${m.kind ?? ''} ${m.namespace ? `${m.namespace}/` : ''}${m.name ?? ''}: ${m.message}`.replace(/\s+:/, ':')),
      options,
    ),
    hasSamples: incident.members.length > 0,
    labels: nameValues(labels),
    labelMap: labels,
    annotations: [],
    annotationMap: {},
    link: options.externalUrl ?? null,
    id: incident.incidentId,
    idempotencyKey: incident.idempotencyKey,
    sequence: 0,
    correlation: incident.correlation,
    subject: incident.subject,
    rootReason: incident.rootReason,
    memberCount: incident.memberCount,
    members,
    hasMembers: members.length > 0,
    json: jsonOf(incident),
  };
  return {
    kind: 'Incident',
    record: incident,
    status,
    idempotencyKey: incident.idempotencyKey,
    id: incident.incidentId,
    matchLabels: matchLabelsOf('Incident', status, labels, {
      severity: incident.severity,
      category: incident.category,
      cluster: incident.cluster,
      namespace: incident.namespace,
    }),
    view,
    source,
  };
}

/** A Notification from a decoded record of kind Alert or Incident; null for other kinds. */
export function notificationOf(kind: string, record: unknown, options: ViewOptions = {}, source: RecordSource | null = null): Notification | null {
  if (kind === 'Alert') return alertNotification(record as Alert, options, source);
  if (kind === 'Incident') return incidentNotification(record as Incident, options, source);
  return null;
}
