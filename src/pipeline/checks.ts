/**
 * The semantic checks stages share (StageChecks): conditions that do not apply to the records at
 * that point or can never match, key fields that are always empty, unknown template placeholders.
 */
import { closest, type DiagnosticSeverity } from '../core/diagnostics.js';
import type { PathSegment } from '../core/yaml-locator.js';
import { CONTAINER_STATE_REASONS } from '../model/kube-event.js';
import { BUILT_IN_RULES } from '../operators/classify.js';
import { EVENT_TYPES, fieldGetter, fieldNames, templateFields } from './fields.js';
import { MATCHER_CONDITIONS, NEEDS_CLASSIFY, NEEDS_ENRICH, type RecordMatcher } from './matcher.js';
import { kindName, type StreamKind } from './record-kinds.js';
import type { Flow, StageChecks } from './stage.js';

/** Reasons kubevents knows (the built-in classification rules), for "did you mean" on typos. */
const KNOWN_REASONS: readonly string[] = [
  ...new Set(BUILT_IN_RULES.flatMap((r) => (r.reason === undefined ? [] : Array.isArray(r.reason) ? r.reason : [r.reason]))),
];

interface Reporter {
  problem(path: PathSegment[], message: string, hint?: string, severity?: DiagnosticSeverity, key?: boolean): void;
}

/** The shared checks for a stage whose input is `flow`, reporting to `reporter`. */
export function checksAt(reporter: Reporter, flow: Flow): StageChecks {
  const problem: StageChecks['problem'] = (path, message, options = {}) =>
    reporter.problem(path, message, options.hint, options.severity ?? 'error', options.key ?? false);

  const matcher = (m: RecordMatcher, path: PathSegment[], kind: StreamKind, what: string): void => {
    if (kind === 'Projection') return; // the stage itself is reported
    for (const [key, value] of Object.entries(m)) {
      if (value === undefined) continue;
      const kinds = MATCHER_CONDITIONS[key] ?? [];
      if (!kinds.includes(kind)) {
        const usable = Object.keys(MATCHER_CONDITIONS).filter((k) => MATCHER_CONDITIONS[k]!.includes(kind));
        problem([...path, key], `condition "${key}" does not apply to ${kindName(kind)}`, {
          hint: `conditions for ${kindName(kind)}: ${usable.join(', ')}`,
          key: true,
        });
        continue;
      }
      if (kind === 'KubeEvent' && !flow.classified && (NEEDS_CLASSIFY as readonly string[]).includes(key)) {
        problem([...path, key], `${what} on "${key}" before any classify stage: events are not classified yet, so it never matches`, {
          hint: 'add a classify stage before it',
          key: true,
        });
      }
      if (kind === 'KubeEvent' && !flow.enriched && (NEEDS_ENRICH as readonly string[]).includes(key)) {
        problem(
          [...path, key],
          `${what} on "${key}" before any enrich stage: events carry no ${key === 'labels' ? 'labels' : 'container states'} yet, so it never matches`,
          {
            hint: 'add an enrich stage before it',
            key: true,
          },
        );
      }
      const items = (): Array<[string, PathSegment[]]> =>
        Array.isArray(value) ? value.map((v, i) => [String(v), [...path, key, i]]) : [[String(value), [...path, key]]];
      if (key === 'type') {
        for (const [t, at] of items()) {
          if (t.includes('*') || EVENT_TYPES.includes(t)) continue;
          const c = closest(t, EVENT_TYPES);
          problem(at, `event type "${t}" never matches: events are Normal or Warning`, { hint: c ? `did you mean "${c}"?` : undefined });
        }
      }
      if (key === 'reason') {
        for (const [r, at] of items()) {
          if (kind === 'KubeEvent' && CONTAINER_STATE_REASONS.includes(r)) {
            problem(at, `reason "${r}" is a container state, not an Event reason: Kubernetes writes no Event with it, so this never matches`, {
              hint: `match the container instead (after enrich): containerReason: ${r}${r === 'OOMKilled' ? ', with reason: Started to count each restart after an OOM kill once' : ''}`,
              severity: 'warning',
            });
            continue;
          }
          if (r.includes('*') || KNOWN_REASONS.includes(r)) continue;
          const c = closest(r, KNOWN_REASONS);
          if (c) problem(at, `reason "${r}" is not a reason Kubernetes writes`, { hint: `did you mean "${c}"?`, severity: 'warning' });
        }
      }
      if (key === 'status') {
        const allowed = kind === 'Alert' ? ['firing', 'resolved'] : ['open', 'closed'];
        for (const v of Array.isArray(value) ? value : [value]) {
          if (!allowed.includes(String(v)))
            problem([...path, key], `status "${String(v)}" is not a status of ${kindName(kind)}`, { hint: `${kindName(kind)} are ${allowed.join(' or ')}` });
        }
      }
      if (key === 'not') matcher(value as RecordMatcher, [...path, key], kind, what);
      if (key === 'any') (value as RecordMatcher[]).forEach((inner, i) => matcher(inner, [...path, key, i], kind, what));
    }
  };

  return {
    flow,
    problem,
    matcher,
    keyFields(by, path) {
      by.forEach((field, i) => {
        if (!flow.classified && (field === 'category' || field === 'severity')) {
          problem([...path, i], `"${field}" before any classify stage is always empty`, { hint: 'add a classify stage before it', severity: 'warning' });
        }
        if (!flow.enriched && field === 'workload') {
          problem([...path, i], `"workload" before any enrich stage is always empty`, { hint: 'add an enrich stage before it', severity: 'warning' });
        }
      });
    },
    template(template, path, kind, extra = []) {
      for (const field of templateFields(template)) {
        if (extra.includes(field) || fieldGetter(kind, field)) continue;
        const names = [...fieldNames(kind).filter((n) => !n.includes('<')), ...extra];
        const suggestion = closest(field, names);
        problem(path, `unknown placeholder {${field}} for ${kindName(kind)}`, {
          hint: suggestion
            ? `did you mean {${suggestion}}?`
            : `placeholders: ${fieldNames(kind)
                .concat(extra)
                .map((n) => `{${n}}`)
                .join(' ')}`,
        });
      }
    },
  };
}
