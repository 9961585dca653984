/**
 * Conditions on records, as pipeline files write them (`filter`, `rate.resolveOn`,
 * `correlate.match`): the schema, the record kinds each condition applies to, the compiled
 * predicate, and a one-line rendering for `explain`.
 */
import { z } from 'zod';
import { CATEGORIES, eventContainers, SEVERITIES, type KubeEvent, type Severity } from '../model/kube-event.js';
import { CORRELATION_KINDS } from '../model/incident.js';
import { severityRank } from '../operators/alert-builder.js';
import { fieldGetter, type Getter } from './fields.js';
import type { StreamKind } from './record-kinds.js';

/** A value or a non-empty list of values (any of them matches). */
export const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

export const regexString = () =>
  z.string().superRefine((source, ctx) => {
    try {
      new RegExp(source, 'i');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}`, input: source });
    }
  });

export const ALERT_STATUS_VALUES = ['firing', 'resolved', 'open', 'closed'] as const;

export interface RecordMatcherInput {
  type?: string | string[];
  reason?: string | string[];
  reasonPattern?: string;
  kind?: string | string[];
  namespace?: string | string[];
  name?: string | string[];
  category?: (typeof CATEGORIES)[number] | Array<(typeof CATEGORIES)[number]>;
  severity?: (typeof SEVERITIES)[number] | Array<(typeof SEVERITIES)[number]>;
  minSeverity?: (typeof SEVERITIES)[number];
  message?: string;
  reportingController?: string | string[];
  node?: string | string[];
  labels?: Record<string, string>;
  containerReason?: string | string[];
  exitCode?: number | number[];
  alertname?: string | string[];
  status?: (typeof ALERT_STATUS_VALUES)[number] | Array<(typeof ALERT_STATUS_VALUES)[number]>;
  correlation?: (typeof CORRELATION_KINDS)[number] | Array<(typeof CORRELATION_KINDS)[number]>;
  not?: RecordMatcherInput;
  any?: RecordMatcherInput[];
}

const names = (what: string) => oneOrMany(z.string().min(1)).optional().describe(what);

export const RecordMatcherSchema: z.ZodType<RecordMatcherInput> = z
  .strictObject({
    type: names('Event type(s): Normal, Warning. Events only.'),
    reason: names('Reason(s), e.g. FailedScheduling (events), the reason label (alerts), the root reason (incidents). A * in a value is a wildcard.'),
    reasonPattern: regexString().optional().describe('Regular expression (case-insensitive) on the reason.'),
    kind: names('Kind(s) of the regarding object (events) or the kind label (alerts), e.g. Pod, Node. A * is a wildcard.'),
    namespace: names("Namespace(s) of the regarding object (events) or the record's namespace. A * is a wildcard, e.g. kube-*."),
    name: names('Name(s) of the regarding object (events) or the name label (alerts). A * is a wildcard.'),
    category: oneOrMany(z.enum(CATEGORIES))
      .optional()
      .describe(`Category(ies): ${CATEGORIES.join(', ')}. Events need a classify stage before.`),
    severity: oneOrMany(z.enum(SEVERITIES))
      .optional()
      .describe(`Severity(ies): ${SEVERITIES.join(', ')}. Events need a classify stage before.`),
    minSeverity: z.enum(SEVERITIES).optional().describe('At least this severity (info < warning < error < critical). Events need a classify stage before.'),
    message: regexString().optional().describe('Regular expression (case-insensitive) on the message (events), summary (alerts) or root cause (incidents).'),
    reportingController: names('Reporting controller(s), e.g. kubelet, default-scheduler. Events only.'),
    node: names('Node name(s): the enriched node, the Node itself, the related Node or the reporting kubelet. A * is a wildcard.'),
    labels: z
      .record(z.string(), z.string())
      .optional()
      .describe('Label values that must all be equal: the enriched labels of the regarding object (events, needs enrich before) or the alert labels.'),
    containerReason: names(
      'A container state reason, e.g. OOMKilled, CrashLoopBackOff: the last termination or the waiting reason of the container the event is about (its fieldPath, e.g. spec.containers{app}; any container of the Pod when it names none). Events only, after enrich. Kubernetes writes no Event with reason OOMKilled: match reason Started and containerReason OOMKilled to count restarts after OOM kills.',
    ),
    exitCode: oneOrMany(z.number().int())
      .optional()
      .describe('Last exit code(s) of the container the event is about (as containerReason), e.g. 137. Events only, after enrich.'),
    alertname: names('alertname label(s). Alerts only.'),
    status: oneOrMany(z.enum(ALERT_STATUS_VALUES)).optional().describe('firing, resolved (alerts); open, closed (incidents).'),
    correlation: oneOrMany(z.enum(CORRELATION_KINDS)).optional().describe('Correlation kind(s) of incidents: node, owner, object.'),
    get not() {
      return RecordMatcherSchema.optional().describe('Matches when this matcher does not.');
    },
    get any() {
      return z.array(RecordMatcherSchema).min(1).optional().describe('Matches when at least one of these matchers does.');
    },
  })
  .describe(
    'Conditions on a record. Every condition given must hold (AND); a list matches any of its values (OR). Exact, case-sensitive values unless a * wildcard is used; patterns are case-insensitive regular expressions. Use not and any for negation and alternatives.',
  )
  .meta({ id: 'Matcher' });

export type RecordMatcher = z.output<typeof RecordMatcherSchema>;

/** RecordMatcher conditions and the record kinds they apply to. */
export const MATCHER_CONDITIONS: Record<string, readonly StreamKind[]> = {
  type: ['KubeEvent'],
  reason: ['KubeEvent', 'Alert', 'Incident', 'EventWindow'],
  reasonPattern: ['KubeEvent', 'Alert', 'Incident'],
  kind: ['KubeEvent', 'Alert'],
  namespace: ['KubeEvent', 'Alert', 'Incident', 'EventWindow'],
  name: ['KubeEvent', 'Alert'],
  category: ['KubeEvent', 'Alert', 'Incident'],
  severity: ['KubeEvent', 'Alert', 'Incident'],
  minSeverity: ['KubeEvent', 'Alert', 'Incident'],
  message: ['KubeEvent', 'Alert', 'Incident'],
  reportingController: ['KubeEvent'],
  node: ['KubeEvent', 'Alert', 'Incident'],
  labels: ['KubeEvent', 'Alert', 'EventWindow'],
  containerReason: ['KubeEvent'],
  exitCode: ['KubeEvent'],
  alertname: ['Alert'],
  status: ['Alert', 'Incident'],
  correlation: ['Incident'],
  not: ['KubeEvent', 'Alert', 'Incident', 'EventWindow'],
  any: ['KubeEvent', 'Alert', 'Incident', 'EventWindow'],
};

/** Conditions on events that only mean something after a classify / enrich stage. */
export const NEEDS_CLASSIFY = ['category', 'severity', 'minSeverity'] as const;
export const NEEDS_ENRICH = ['labels', 'containerReason', 'exitCode'] as const;

const asList = <T>(v: T | T[] | undefined): T[] | null => (v === undefined ? null : Array.isArray(v) ? v : [v]);

function valueTest(values: readonly string[]): (v: string | null) => boolean {
  const exact = new Set(values.filter((v) => !v.includes('*')));
  const globs = values
    .filter((v) => v.includes('*'))
    .map(
      (v) =>
        new RegExp(
          `^${v
            .split('*')
            .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
        ),
    );
  return (v) => v !== null && (exact.has(v) || globs.some((g) => g.test(v)));
}

type Predicate = (record: any) => boolean;

/** Compiles a matcher for records of `kind`. Conditions that do not apply to the kind are rejected by graph.ts first. */
export function compileMatcher(matcher: RecordMatcher, kind: StreamKind): Predicate {
  const tests: Predicate[] = [];
  const field = (name: string): Getter<any> => fieldGetter(kind, name) ?? (() => null);
  const onList = (name: string, values: string | string[] | undefined): void => {
    const list = asList(values);
    if (!list) return;
    const get = field(name);
    const test = valueTest(list);
    tests.push((r) => test(get(r)));
  };
  const onPattern = (name: string, source: string | undefined): void => {
    if (source === undefined) return;
    const re = new RegExp(source, 'i');
    const get = field(name);
    tests.push((r) => {
      const v = get(r);
      return v !== null && re.test(v);
    });
  };
  onList('type', matcher.type);
  onList('reason', matcher.reason);
  onPattern('reason', matcher.reasonPattern);
  onList('kind', matcher.kind);
  onList('namespace', matcher.namespace);
  onList('name', matcher.name);
  onList('category', matcher.category);
  onList('severity', matcher.severity);
  if (matcher.minSeverity !== undefined) {
    const min = severityRank(matcher.minSeverity);
    const get = field('severity');
    tests.push((r) => {
      const s = get(r);
      return s !== null && (SEVERITIES as readonly string[]).includes(s) && severityRank(s as Severity) >= min;
    });
  }
  onPattern('message', matcher.message);
  onList('reportingController', matcher.reportingController);
  onList('node', matcher.node);
  if (matcher.labels) {
    const wanted = Object.entries(matcher.labels).map(([k, v]) => [field(`labels.${k}`), v] as const);
    tests.push((r) => wanted.every(([get, v]) => get(r) === v));
  }
  if (matcher.containerReason !== undefined && kind === 'KubeEvent') {
    const test = valueTest(asList(matcher.containerReason)!);
    tests.push((e: KubeEvent) => eventContainers(e).some((c) => test(c.lastTerminationReason) || test(c.waitingReason)));
  }
  if (matcher.exitCode !== undefined && kind === 'KubeEvent') {
    const codes = new Set(asList(matcher.exitCode));
    tests.push((e: KubeEvent) => eventContainers(e).some((c) => c.lastExitCode !== null && codes.has(c.lastExitCode)));
  }
  onList('alertname', matcher.alertname);
  onList('status', matcher.status);
  onList('correlation', matcher.correlation);
  if (matcher.not) {
    const inner = compileMatcher(matcher.not, kind);
    tests.push((r) => !inner(r));
  }
  if (matcher.any) {
    const alternatives = matcher.any.map((m) => compileMatcher(m, kind));
    tests.push((r) => alternatives.some((t) => t(r)));
  }
  return (r) => tests.every((t) => t(r));
}

/** A one-line rendering of a matcher for `explain`: `kind = Pod and reason in (A, B) and not (...)`. */
export function describeMatcher(matcher: RecordMatcher): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(matcher)) {
    if (value === undefined) continue;
    if (key === 'not') parts.push(`not (${describeMatcher(value as RecordMatcher)})`);
    else if (key === 'any') parts.push(`(${(value as RecordMatcher[]).map(describeMatcher).join(') or (')})`);
    else if (key === 'labels') parts.push(...Object.entries(value as Record<string, string>).map(([k, v]) => `labels.${k} = ${v}`));
    else if (key === 'reasonPattern') parts.push(`reason ~ /${String(value)}/i`);
    else if (key === 'message') parts.push(`message ~ /${String(value)}/i`);
    else if (key === 'minSeverity') parts.push(`severity >= ${String(value)}`);
    else if (Array.isArray(value)) parts.push(value.length === 1 ? `${key} = ${String(value[0])}` : `${key} in (${value.join(', ')})`);
    else parts.push(`${key} = ${String(value)}`);
  }
  return parts.length ? parts.join(' and ') : 'everything';
}
