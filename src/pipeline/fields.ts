/**
 * Record fields as pipeline files name them: for filter conditions, keys (`by`), templates
 * (`{reason}`) and `map`. Each record kind (events, alerts, incidents, event windows) has its own
 * table; the graph checks at load time that a pipeline only uses fields of the kind flowing at
 * that point.
 */
import type { Alert } from '../model/alert.js';
import type { EventWindow } from '../model/event-window.js';
import type { Incident } from '../model/incident.js';
import type { KubeEvent } from '../model/kube-event.js';
import { nodeOf, objectNamespace } from '../operators/alert-builder.js';
import type { StreamKind } from './record-kinds.js';

export type Getter<T> = (record: T) => string | null;

const workloadOf = (w: { kind: string; name: string } | null | undefined): string | null => (w ? `${w.kind}/${w.name}` : null);

export const EVENT_FIELDS: Record<string, Getter<KubeEvent>> = {
  cluster: (e) => e.cluster,
  namespace: (e) => objectNamespace(e),
  kind: (e) => e.regarding.kind,
  name: (e) => e.regarding.name,
  uid: (e) => e.regarding.uid,
  object: (e) => e.regarding.uid ?? `${e.regarding.kind ?? ''}/${e.regarding.namespace ?? e.namespace ?? ''}/${e.regarding.name ?? ''}`,
  fieldPath: (e) => e.regarding.fieldPath,
  reason: (e) => e.reason,
  type: (e) => e.type,
  message: (e) => e.message,
  count: (e) => String(e.count),
  category: (e) => e.classification?.category ?? null,
  severity: (e) => e.classification?.severity ?? null,
  rule: (e) => e.classification?.rule ?? null,
  workload: (e) => workloadOf(e.enrichment?.workload),
  workloadKind: (e) => e.enrichment?.workload?.kind ?? null,
  workloadName: (e) => e.enrichment?.workload?.name ?? null,
  node: (e) => nodeOf(e),
  podPhase: (e) => e.enrichment?.podPhase ?? null,
  reportingController: (e) => e.reportingController,
  reportingInstance: (e) => e.reportingInstance,
  eventName: (e) => e.name,
  idempotencyKey: (e) => e.idempotencyKey,
};

export const ALERT_FIELDS: Record<string, Getter<Alert>> = {
  alertname: (a) => a.labels['alertname'] ?? null,
  status: (a) => a.status,
  severity: (a) => a.severity,
  category: (a) => a.category,
  cluster: (a) => a.cluster,
  namespace: (a) => a.namespace,
  reason: (a) => a.labels['reason'] ?? null,
  kind: (a) => a.labels['kind'] ?? null,
  name: (a) => a.labels['name'] ?? null,
  summary: (a) => a.summary,
  message: (a) => a.summary,
  node: (a) => a.node,
  workload: (a) => workloadOf(a.workload),
  count: (a) => String(a.count),
  alertId: (a) => a.alertId,
};

export const INCIDENT_FIELDS: Record<string, Getter<Incident>> = {
  status: (i) => i.status,
  severity: (i) => i.severity,
  category: (i) => i.category,
  cluster: (i) => i.cluster,
  namespace: (i) => i.namespace,
  correlation: (i) => i.correlation,
  subject: (i) => i.subject,
  reason: (i) => i.rootReason,
  message: (i) => i.rootCause,
  rootCause: (i) => i.rootCause,
  node: (i) => i.node,
  workload: (i) => workloadOf(i.workload),
  count: (i) => String(i.memberCount),
  incidentId: (i) => i.incidentId,
};

export const EVENT_WINDOW_FIELDS: Record<string, Getter<EventWindow>> = {
  cluster: (w) => w.cluster,
  namespace: (w) => w.labels['namespace'] ?? null,
  reason: (w) => w.topReasons[0]?.reason ?? null,
  count: (w) => String(w.count),
  warnings: (w) => String(w.warnings),
  distinctObjects: (w) => String(w.distinctObjects),
  stage: (w) => w.stage,
  windowId: (w) => w.windowId,
};

const TABLES: Record<Exclude<StreamKind, 'Projection'>, Record<string, Getter<any>>> = {
  KubeEvent: EVENT_FIELDS,
  Alert: ALERT_FIELDS,
  Incident: INCIDENT_FIELDS,
  EventWindow: EVENT_WINDOW_FIELDS,
};

/** Prefixes of map-valued fields: `labels.app`, `annotations.runbook`. */
const MAP_FIELDS: Record<Exclude<StreamKind, 'Projection'>, Record<string, (record: any, key: string) => string | null>> = {
  KubeEvent: { labels: (e: KubeEvent, k) => e.enrichment?.labels[k] ?? null },
  Alert: { labels: (a: Alert, k) => a.labels[k] ?? null, annotations: (a: Alert, k) => a.annotations[k] ?? null },
  Incident: {},
  EventWindow: { labels: (w: EventWindow, k) => w.labels[k] ?? null },
};

/** Field names usable for `kind` records (map fields as `labels.<name>`). */
export function fieldNames(kind: StreamKind): string[] {
  if (kind === 'Projection') return [];
  return [...Object.keys(TABLES[kind]), ...Object.keys(MAP_FIELDS[kind]).map((m) => `${m}.<name>`)];
}

/** The getter of a field of `kind` records, or undefined when there is no such field. */
export function fieldGetter(kind: StreamKind, field: string): Getter<any> | undefined {
  if (kind === 'Projection') return undefined;
  const direct = TABLES[kind][field];
  if (direct) return direct;
  const dot = field.indexOf('.');
  if (dot > 0) {
    const map = MAP_FIELDS[kind][field.slice(0, dot)];
    const key = field.slice(dot + 1);
    if (map && key) return (r) => map(r, key);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Templates

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_./-]+)?)\}/g;

/** Placeholder names used by a template (`{reason} on {labels.app}` -> [reason, labels.app]). */
export function templateFields(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/**
 * Compiles a `{field}` template for `kind` records; `extra` supplies additional placeholders
 * (e.g. {count} and {threshold} of a rate summary). Unknown fields are rejected by graph.ts first;
 * a field without a value renders as an empty string.
 */
export function compileTemplate<T>(template: string, kind: StreamKind, extra: readonly string[] = []): (record: T, values?: Record<string, string>) => string {
  const parts: Array<string | ((record: T, values?: Record<string, string>) => string)> = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, m.index));
    const name = m[1]!;
    if (extra.includes(name)) parts.push((_r, values) => values?.[name] ?? '');
    else {
      const get = fieldGetter(kind, name) ?? (() => null);
      parts.push((r) => get(r) ?? '');
    }
    last = m.index! + m[0].length;
  }
  parts.push(template.slice(last));
  return (record, values) => parts.map((p) => (typeof p === 'string' ? p : p(record, values))).join('');
}

// ---------------------------------------------------------------------------------------------
// Field selectors (source.fieldSelector), evaluated on KubeEvents

/** Event field selector keys understood client-side (both Event APIs' names). */
export const FIELD_SELECTOR_FIELDS: Record<string, Getter<KubeEvent>> = {
  type: (e) => e.type,
  reason: (e) => e.reason,
  'metadata.name': (e) => e.name,
  'metadata.namespace': (e) => e.namespace,
  'involvedObject.kind': (e) => e.regarding.kind,
  'involvedObject.name': (e) => e.regarding.name,
  'involvedObject.namespace': (e) => e.regarding.namespace,
  'involvedObject.uid': (e) => e.regarding.uid,
  'involvedObject.apiVersion': (e) => e.regarding.apiVersion,
  'involvedObject.fieldPath': (e) => e.regarding.fieldPath,
  'involvedObject.resourceVersion': () => null,
  'regarding.kind': (e) => e.regarding.kind,
  'regarding.name': (e) => e.regarding.name,
  'regarding.namespace': (e) => e.regarding.namespace,
  'regarding.uid': (e) => e.regarding.uid,
  'regarding.apiVersion': (e) => e.regarding.apiVersion,
  'regarding.fieldPath': (e) => e.regarding.fieldPath,
  source: (e) => e.reportingController,
  'deprecatedSource.component': (e) => e.reportingController,
  reportingComponent: (e) => e.reportingController,
  reportingController: (e) => e.reportingController,
};

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** Parses `a=b,c!=d` (also `==`). Returns an error message instead when it cannot. */
export function parseFieldSelector(selector: string): FieldRequirement[] | string {
  const out: FieldRequirement[] = [];
  for (const raw of selector.split(',')) {
    const term = raw.trim();
    if (term === '') return `empty term in field selector "${selector}"`;
    const m = /^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$/.exec(term);
    if (!m) return `cannot read "${term}": write field=value, field==value or field!=value`;
    out.push({ field: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]!.trim() });
  }
  return out;
}

/** A predicate for parsed field selector requirements (all must hold). Empty values match null fields. */
export function fieldSelectorPredicate(requirements: readonly FieldRequirement[]): (e: KubeEvent) => boolean {
  const tests = requirements.map(({ field, op, value }) => {
    const get = FIELD_SELECTOR_FIELDS[field] ?? (() => null);
    return (e: KubeEvent) => ((get(e) ?? '') === value) === (op === '=');
  });
  return (e) => tests.every((t) => t(e));
}

// ---------------------------------------------------------------------------------------------
// Keys and labels made of event fields (the `by` option of the stateful stages)

const eventField = (name: string): Getter<KubeEvent> => EVENT_FIELDS[name] ?? (() => null);

/** The key of an event: its values of `by`, joined. */
export function eventKeyOf(by: readonly string[]): (e: KubeEvent) => string {
  const getters = by.map(eventField);
  return (e) => getters.map((g) => g(e) ?? '').join('/');
}

/** Labels of an event: `fixed` plus its values of `by`. */
export function eventLabelsOf(by: readonly string[], fixed: Record<string, string>): (e: KubeEvent) => Record<string, string | null> {
  const getters = by.map((f) => [f, eventField(f)] as const);
  return (e) => {
    const out: Record<string, string | null> = { ...fixed };
    for (const [name, get] of getters) out[name] = get(e);
    return out;
  };
}

/** Event types the API accepts (events.k8s.io/v1 and core/v1 validation). */
export const EVENT_TYPES: readonly string[] = ['Normal', 'Warning'];
