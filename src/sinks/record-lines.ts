/**
 * Records as one readable line each, for terminals and the console: events, alerts, incidents
 * and event windows the way kubevents prints them; other records as JSON.
 */
import { formatDuration } from '../core/duration.js';
import type { Alert } from '../model/alert.js';
import type { EventWindow } from '../model/event-window.js';
import type { Incident } from '../model/incident.js';
import type { KubeEvent } from '../model/kube-event.js';

function compactTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** `2026-11-01 10:02:24Z Warning FailedScheduling (x5) [Scheduling/warning] Pod/payments/api-1: message`. */
export function formatEventLine(event: KubeEvent): string {
  const r = event.regarding;
  const object = `${r.kind ?? '?'}/${r.namespace ? `${r.namespace}/` : ''}${r.name ?? '?'}`;
  const count = event.count > 1 ? ` (x${event.count})` : '';
  const category = event.classification ? ` [${event.classification.category}/${event.classification.severity}]` : '';
  const message = event.message.replace(/\s+/g, ' ').trim();
  return `${compactTime(event.lastTimestamp)} ${event.type.padEnd(7)} ${event.reason}${count}${category} ${object}: ${message}`;
}

function minutes(ms: number | null): string {
  if (ms === null) return '';
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

/** One line per alert: status, severity, what, where, and the evidence. */
export function formatAlertLine(alert: Alert): string {
  const status = alert.status === 'firing' ? 'FIRING  ' : 'RESOLVED';
  const where = [alert.namespace, alert.workload ? `${alert.workload.kind}/${alert.workload.name}` : null, alert.node ? `node ${alert.node}` : null]
    .filter((x): x is string => Boolean(x))
    .join(' ');
  // firing: the count that crossed the threshold within the window; resolved: the whole episode
  const window =
    alert.status === 'resolved'
      ? ` over ${formatDuration(Math.max(0, alert.lastSeen - alert.firstSeen))}`
      : alert.windowMs !== null
        ? ` in ${minutes(alert.windowMs)}`
        : '';
  const at = new Date(alert.status === 'firing' ? alert.startsAt : (alert.endsAt ?? alert.updatedAt)).toISOString();
  return `${at} ${status} [${alert.severity}] ${alert.labels['alertname'] ?? alert.category} ${where}: ${alert.summary} (${alert.count} events${window})`;
}

export function formatIncidentLine(i: Incident): string {
  return `${new Date(i.status === 'open' ? i.firstTime : i.lastTime).toISOString()} INCIDENT ${i.status.toUpperCase().padEnd(6)} [${i.severity}] ${i.subject}: ${i.rootCause} (${i.memberCount} events)`;
}

export function formatWindowLine(w: EventWindow): string {
  const key = Object.entries(w.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const reasons = w.topReasons.map((r) => `${r.reason} ${r.count}`).join(', ');
  return `${new Date(w.start).toISOString()} WINDOW   ${key || '(all)'}: ${w.count} events (${w.warnings} warnings) on ${w.distinctObjects}${w.distinctObjectsCapped ? '+' : ''} objects until ${new Date(w.end).toISOString()}${reasons ? `: ${reasons}` : ''}`;
}

/** The time a record's line shows first (event time); null for records without one (selected fields). */
export function recordLineTime(kind: string, value: unknown): number | null {
  switch (kind) {
    case 'KubeEvent':
      return (value as KubeEvent).lastTimestamp;
    case 'Alert': {
      const a = value as Alert;
      return a.status === 'firing' ? a.startsAt : (a.endsAt ?? a.updatedAt);
    }
    case 'Incident': {
      const i = value as Incident;
      return i.status === 'open' ? i.firstTime : i.lastTime;
    }
    case 'EventWindow':
      return (value as EventWindow).start;
    default:
      return null;
  }
}

/** One readable line for a record of `kind`. */
export function formatRecordLine(kind: string, value: unknown): string {
  switch (kind) {
    case 'KubeEvent':
      return formatEventLine(value as KubeEvent);
    case 'Alert':
      return formatAlertLine(value as Alert);
    case 'Incident':
      return formatIncidentLine(value as Incident);
    case 'EventWindow':
      return formatWindowLine(value as EventWindow);
    default:
      return JSON.stringify(value);
  }
}
