import { map } from 'rxjs';
import { z } from 'zod';
import { closest } from '../../core/diagnostics.js';
import type { Alert } from '../../model/alert.js';
import { CATEGORIES, SEVERITIES, type KubeEvent } from '../../model/kube-event.js';
import { compileTemplate, templateFields } from '../fields.js';
import { kindName, type StreamKind } from '../record-kinds.js';
import { defineStage } from '../stage.js';

/** Settable fields per record kind (`labels.` / `annotations.` prefixes take a name). */
const TARGETS: Partial<Record<StreamKind, { fields: readonly string[]; prefixes: readonly string[] }>> = {
  KubeEvent: { fields: ['message', 'reason', 'type', 'cluster'], prefixes: ['labels.'] },
  Alert: { fields: ['summary', 'severity', 'category'], prefixes: ['annotations.'] },
};

type Any = any;

export const mapStage = defineStage({
  type: 'map',
  summary: 'Changes fields of every record (the record keeps its schema).',
  accepts: ['KubeEvent', 'Alert'],
  options: z.strictObject({
    set: z
      .record(z.string().min(1), z.string())
      .refine((v) => Object.keys(v).length > 0, { error: 'set needs at least one field' })
      .describe(
        'Fields to set; values are templates with {field} placeholders. Events: message, reason, type, cluster, labels.<name> (enrichment labels). Alerts: summary, severity, category, annotations.<name>.',
      ),
  }),
  check(o, checks, path) {
    const kind = checks.flow.kind;
    const targets = TARGETS[kind];
    if (!targets) return; // the stage itself is reported
    for (const [field, template] of Object.entries(o.set)) {
      const fpath = [...path, 'set', field];
      const prefix = targets.prefixes.find((p) => field.startsWith(p) && field.length > p.length);
      if (!targets.fields.includes(field) && !prefix) {
        const names = [...targets.fields, ...targets.prefixes.map((p) => `${p}<name>`)];
        const c = closest(field, targets.fields);
        checks.problem(fpath, `map cannot set "${field}" on ${kindName(kind)}`, {
          hint: c ? `did you mean "${c}"?` : `settable: ${names.join(', ')}`,
          key: true,
        });
        continue;
      }
      checks.template(template, fpath, kind);
      if (field === 'severity' || field === 'category') {
        const allowed: readonly string[] = field === 'severity' ? SEVERITIES : CATEGORIES;
        const c = closest(template, allowed);
        if (templateFields(template).length > 0) checks.problem(fpath, `${field} must be a fixed value, not a template`);
        else if (!allowed.includes(template))
          checks.problem(fpath, `invalid ${field} "${template}"`, { hint: c ? `did you mean "${c}"?` : `one of ${allowed.join(', ')}` });
      }
    }
  },
  build(o, { input }) {
    const entries = Object.entries(o.set).map(([field, template]) => [field, compileTemplate<Any>(template, input)] as const);
    if (input === 'KubeEvent') {
      return map((e: KubeEvent) => {
        const out: KubeEvent = { ...e };
        let labels: Record<string, string> | null = null;
        for (const [field, render] of entries) {
          const value = render(e);
          if (field.startsWith('labels.')) (labels ??= { ...(e.enrichment?.labels ?? {}) })[field.slice('labels.'.length)] = value;
          else (out as Any)[field] = value;
        }
        if (labels) {
          out.enrichment = e.enrichment ? { ...e.enrichment, labels } : { workload: null, ownerChain: [], node: null, podPhase: null, containers: [], labels };
        }
        return out;
      });
    }
    return map((a: Alert) => {
      const out: Alert = { ...a };
      let annotations: Record<string, string> | null = null;
      for (const [field, render] of entries) {
        const value = render(a);
        if (field.startsWith('annotations.')) (annotations ??= { ...a.annotations })[field.slice('annotations.'.length)] = value;
        else (out as Any)[field] = value;
      }
      if (annotations) out.annotations = annotations;
      return out;
    });
  },
});
