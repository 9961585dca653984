import type { OperatorFunction } from 'rxjs';
import { labelsFingerprint, type Alert, type AlertStatus } from '../model/alert.js';
import { buildAlert, pushBounded, severityRank } from './alert-builder.js';
import { eventTimeStage, positive, type StageContext, type StageOptions } from './event-time.js';

/** groupBy value meaning "every label" (Alertmanager's `group_by: ['...']`). */
export const GROUP_BY_ALL = '...';

export interface GroupOptions extends StageOptions {
  /** Label names an alert's group is made of; ['...'] = all labels (no grouping). Default ['alertname']. */
  groupBy?: readonly string[];
  /** Wait before the first notification of a new group (to gather more alerts), ms. Default 30s. */
  groupWait?: number;
  /** Wait between notifications of a group about changes (new or resolved alerts), ms. Default 5m. */
  groupInterval?: number;
  /** Re-send an unchanged firing notification this long after the last one, ms. Default 4h. */
  repeatInterval?: number;
  /**
   * A firing alert not updated for this long is considered resolved, ms (Alertmanager's
   * resolve_timeout, 5m there). Default null: alerts resolve only by a resolved record, since
   * rate and spike send each firing alert once rather than re-sending it.
   */
  resolveTimeout?: number | null;
  /** Emit a resolved notification when every alert of a group has resolved. Default true. */
  sendResolved?: boolean;
  /** Alerts held per group; beyond it the least recently updated one is dropped (logged). Default 1,000. */
  maxAlertsPerGroup?: number;
  /** Default 10,000 groups. */
  maxKeys?: number;
  /** Default repeatInterval + groupInterval. Groups with a pending flush are never idle. */
  idleTtl?: number;
}

interface Member {
  alert: Alert;
  /** Effective end: the resolved record's endsAt, updatedAt + resolveTimeout, or null (open-ended). */
  endsAt: number | null;
}

interface GroupState {
  labels: Record<string, string>;
  alertId: string;
  alerts: Map<string, Member>;
  flushed: boolean;
  notifiedFiring: Set<string>;
  notifiedResolved: Set<string>;
  lastNotifyAt: number | null;
  episodeStart: number | null;
  sequence: number;
}

function common(maps: Array<Record<string, string>>): Record<string, string> {
  const [first, ...rest] = maps;
  if (!first) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) if (rest.every((m) => m[k] === v)) out[k] = v;
  return out;
}

function sameOrNull<T>(values: T[]): T | null {
  const [first, ...rest] = values;
  return first !== undefined && rest.every((v) => v === first) ? first : null;
}

/**
 * Groups alerts and decides when to notify, with Alertmanager's semantics: alerts with the same
 * values of the `groupBy` labels form a group; a new group is notified `groupWait` after its
 * first alert (at once if that alert started more than groupWait ago), then checked every
 * `groupInterval`: it notifies when an alert not yet notified is firing, when alerts resolved
 * (if sendResolved), or, unchanged, when `repeatInterval` has passed since the last notification.
 * Resolved alerts are dropped after each check; an empty group disappears.
 *
 * Each notification is one Alert record for the group: alertId = fingerprint of the group labels
 * (stable), status firing while any member fires, else resolved; labels/annotations are those
 * the members share; severity is the highest; count, samples and member keys are merged;
 * memberAlertIds lists the members notified; startsAt is the episode's first notification's
 * earliest member start; sequence numbers the notifications of an episode (so each has its own
 * idempotencyKey; a replay re-sends the same keys).
 *
 * Event time: inputs are placed at their `updatedAt`; timers fire as the watermark passes them,
 * so the output is the same at any replay speed. On completion pending checks run, without
 * repeat notifications.
 *
 * ```
 * groupWait 3, groupInterval 5; A, B firing alerts of one group, a, b their resolved records;
 * drawn in event time (a record is emitted once the watermark passes its time)
 * source:  -A-B--------a----b------|
 * group:   ----F---------F----R----|   4: firing {A,B}; 9: unchanged, nothing; 14: firing {B} (A resolved);
 *                                      19: resolved {B}, the group is gone
 * ```
 */
export function group(options: GroupOptions = {}): OperatorFunction<Alert, Alert> {
  const groupBy = options.groupBy ?? ['alertname'];
  const all = groupBy.includes(GROUP_BY_ALL);
  const groupWait = options.groupWait ?? 30_000;
  if (!(groupWait >= 0)) throw new RangeError(`groupWait must be a non-negative number of ms, got ${String(options.groupWait)}`);
  const groupInterval = positive('groupInterval', options.groupInterval, 5 * 60_000);
  const repeatInterval = positive('repeatInterval', options.repeatInterval, 4 * 60 * 60_000);
  const resolveTimeout = options.resolveTimeout ?? null;
  if (resolveTimeout !== null) positive('resolveTimeout', resolveTimeout);
  const sendResolved = options.sendResolved !== false;
  const maxAlerts = Math.max(1, Math.trunc(options.maxAlertsPerGroup ?? 1000));

  const groupLabels = (a: Alert): Record<string, string> => {
    if (all) return { ...a.labels };
    const out: Record<string, string> = {};
    for (const name of [...groupBy].sort()) {
      const v = a.labels[name];
      if (v !== undefined && v !== '') out[name] = v;
    }
    return out;
  };

  return eventTimeStage<Alert, Alert, GroupState>(
    {
      operator: 'group',
      timestamp: (a) => a.updatedAt,
      options,
      defaultMaxKeys: 10_000,
      defaultIdleTtl: repeatInterval + groupInterval,
    },
    () => {
      const notify = (s: GroupState, status: AlertStatus, members: Member[], resolvedCount: number, ctx: StageContext<Alert, GroupState>): void => {
        const alerts = members.map((m) => m.alert);
        const rep = [...alerts].sort(
          (a, b) => severityRank(b.severity) - severityRank(a.severity) || a.startsAt - b.startsAt || a.alertId.localeCompare(b.alertId),
        )[0]!;
        const samples: string[] = [];
        const keys: string[] = [];
        for (const a of [...alerts].sort((x, y) => x.lastSeen - y.lastSeen)) {
          for (const m of a.sampleMessages) pushBounded(samples, m, 5);
          for (const k of a.memberKeys) pushBounded(keys, k, 50);
        }
        const firingCount = status === 'firing' ? alerts.length : 0;
        const n = alerts.length;
        const ends = members.map((m) => m.endsAt ?? ctx.now);
        ctx.emit(
          buildAlert({
            alertId: s.alertId,
            status,
            labels: { ...common(alerts.map((a) => a.labels)), ...s.labels },
            annotations: { ...common(alerts.map((a) => a.annotations)), alertsFiring: String(firingCount), alertsResolved: String(resolvedCount) },
            severity: rep.severity,
            category: rep.category,
            cluster: rep.cluster,
            namespace: sameOrNull(alerts.map((a) => a.namespace)),
            summary: n === 1 ? rep.summary : `[${n} ${status}] ${rep.summary}`,
            startsAt: s.episodeStart!,
            endsAt: status === 'resolved' ? Math.max(...ends) : null,
            updatedAt: ctx.now,
            count: alerts.reduce((sum, a) => sum + a.count, 0),
            windowMs: sameOrNull(alerts.map((a) => a.windowMs)),
            firstSeen: Math.min(...alerts.map((a) => a.firstSeen)),
            lastSeen: Math.max(...alerts.map((a) => a.lastSeen)),
            workload: rep.workload,
            node: rep.node,
            containers: rep.containers,
            sampleMessages: samples,
            memberKeys: keys,
            memberAlertIds: alerts.map((a) => a.alertId).sort(),
            sequence: s.sequence,
          }),
        );
        s.sequence++;
      };

      const flush = (key: string, s: GroupState, ctx: StageContext<Alert, GroupState>): void => {
        const now = ctx.now;
        s.flushed = true;
        const firing: Member[] = [];
        const resolved: Member[] = [];
        for (const m of s.alerts.values()) (m.endsAt !== null && m.endsAt <= now ? resolved : firing).push(m);
        const firingIds = new Set(firing.map((m) => m.alert.alertId));
        const resolvedIds = new Set(resolved.map((m) => m.alert.alertId));
        const notified = s.lastNotifyAt !== null;
        let needed: boolean;
        if (!notified) needed = firing.length > 0;
        else if ([...firingIds].some((id) => !s.notifiedFiring.has(id))) needed = true;
        else if (firing.length === 0) needed = s.notifiedFiring.size > 0;
        else if (sendResolved && [...resolvedIds].some((id) => !s.notifiedResolved.has(id))) needed = true;
        else needed = !ctx.flushing && s.lastNotifyAt! + repeatInterval < now;

        if (needed) {
          if (firing.length > 0) {
            s.episodeStart ??= Math.min(...firing.map((m) => m.alert.startsAt));
            notify(s, 'firing', firing, resolved.length, ctx);
          } else {
            // every alert notified as firing has resolved: the episode ends
            s.episodeStart ??= Math.min(...resolved.map((m) => m.alert.startsAt));
            const ended = resolved.filter((m) => s.notifiedFiring.has(m.alert.alertId));
            if (sendResolved && resolved.length > 0) notify(s, 'resolved', ended.length > 0 ? ended : resolved, resolved.length, ctx);
            s.episodeStart = null;
            s.sequence = 0;
          }
          s.notifiedFiring = firingIds;
          s.notifiedResolved = resolvedIds;
          s.lastNotifyAt = now;
        }
        for (const m of resolved) s.alerts.delete(m.alert.alertId);
        if (s.alerts.size === 0) {
          ctx.state.delete(key);
          return;
        }
        // after the stream ended, keep checking only while something can still change (a pending resolve timeout)
        if (ctx.flushing && !needed && !firing.some((m) => m.endsAt !== null)) return;
        ctx.setTimer(key, now + groupInterval);
      };

      return {
        onEvent(alert, ctx) {
          const labels = groupLabels(alert);
          const key = labelsFingerprint(labels) + (all ? '/all' : '');
          let s = ctx.state.get(key);
          if (!s) {
            s = {
              labels,
              alertId: labelsFingerprint(labels),
              alerts: new Map(),
              flushed: false,
              notifiedFiring: new Set(),
              notifiedResolved: new Set(),
              lastNotifyAt: null,
              episodeStart: null,
              sequence: 0,
            };
            ctx.setTimer(key, ctx.now + groupWait);
          }
          ctx.state.set(key, s);
          const endsAt = alert.status === 'resolved' ? (alert.endsAt ?? alert.updatedAt) : resolveTimeout !== null ? ctx.now + resolveTimeout : null;
          s.alerts.delete(alert.alertId);
          s.alerts.set(alert.alertId, { alert, endsAt });
          if (s.alerts.size > maxAlerts) {
            const [oldest] = s.alerts.keys();
            s.alerts.delete(oldest!);
            ctx.logger.warn(
              { group: s.labels, alertId: oldest, maxAlertsPerGroup: maxAlerts },
              'group: too many alerts in one group, dropped the least recently updated',
            );
          }
          // Alertmanager: an alert that started more than groupWait ago is notified at once
          if (!s.flushed && alert.startsAt + groupWait < ctx.now) ctx.setTimer(key, ctx.now);
        },
        onTimer(key, ctx) {
          const s = ctx.state.get(key);
          if (s) flush(key, s, ctx);
        },
        onEvict(_key, s, reason, ctx) {
          ctx.logger.warn({ group: s.labels, alerts: s.alerts.size, reason }, 'group: group state evicted; its alerts will not be notified');
        },
      };
    },
  );
}
