import type { Alert } from '../model/alert.js';

function minutes(ms: number | null): string {
  if (ms === null) return '';
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

/** One readable line per alert for the console: status, severity, what, where, and the evidence. */
export function formatAlertLine(alert: Alert): string {
  const status = alert.status === 'firing' ? 'FIRING  ' : 'RESOLVED';
  const where = [alert.namespace, alert.workload ? `${alert.workload.kind}/${alert.workload.name}` : null, alert.node ? `node ${alert.node}` : null]
    .filter((x): x is string => Boolean(x))
    .join(' ');
  const window = alert.windowMs !== null ? ` in ${minutes(alert.windowMs)}` : '';
  const at = new Date(alert.status === 'firing' ? alert.startsAt : (alert.endsAt ?? alert.updatedAt)).toISOString();
  return `${at} ${status} [${alert.severity}] ${alert.labels['alertname'] ?? alert.category} ${where}: ${alert.summary} (${alert.count} events${window})`;
}
