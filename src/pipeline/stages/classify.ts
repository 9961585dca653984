import { z } from 'zod';
import { closest } from '../../core/diagnostics.js';
import { CATEGORIES, SEVERITIES } from '../../model/kube-event.js';
import { classify, compileRules, RuleError } from '../../operators/classify.js';
import type { ClassificationRule } from '../../operators/classify-rules.js';
import { EVENT_TYPES } from '../fields.js';
import { oneOrMany, regexString } from '../matcher.js';
import { defineStage } from '../stage.js';

const ClassificationRuleSchema = z
  .strictObject({
    name: z.string().min(1).describe('Unique rule name; a rule named like a built-in rule replaces it in place.'),
    reason: oneOrMany(z.string().min(1)).optional().describe('Exact event reason(s).'),
    reasonPattern: regexString().optional().describe('Regular expression on the reason.'),
    kind: oneOrMany(z.string().min(1)).optional().describe('Kind(s) of the regarding object.'),
    type: oneOrMany(z.string().min(1)).optional().describe('Event type(s): Normal, Warning.'),
    messagePattern: regexString().optional().describe('Regular expression on the message.'),
    reportingController: oneOrMany(z.string().min(1)).optional().describe('Reporting controller(s).'),
    containerReason: oneOrMany(z.string().min(1))
      .optional()
      .describe("Any container's last termination or waiting reason, e.g. OOMKilled (needs enrich before classify)."),
    category: z.enum(CATEGORIES).describe(`Category given to matching events: ${CATEGORIES.join(', ')}.`),
    severity: z.enum(SEVERITIES).describe(`Severity given to matching events: ${SEVERITIES.join(', ')}.`),
  })
  .describe('A classification rule: every condition given must hold; the first matching rule wins. Patterns are case-insensitive.')
  .meta({ id: 'ClassificationRule' });

// the YAML rule type must stay assignable to the operator's rule type
const ruleTypeCheck = (r: z.output<typeof ClassificationRuleSchema>): ClassificationRule => r;
void ruleTypeCheck;

export const classifyStage = defineStage({
  type: 'classify',
  summary:
    'Sets classification (category, severity, rule) on every event: the first matching rule, else the fallback. Put it after enrich so rules on container reasons can match.',
  accepts: ['KubeEvent'],
  marks: 'classified',
  shorthand: true,
  options: z.strictObject({
    rules: z
      .array(ClassificationRuleSchema)
      .default([])
      .describe('Extra rules, tried before the built-in ones in the order given; a rule named like a built-in rule replaces it in place.'),
    builtIn: z.boolean().default(true).describe('Use the built-in rules (after `rules`).'),
    fallback: z
      .strictObject({
        category: z.enum(CATEGORIES).default('Other').describe('Category of events no rule matches.'),
        warningSeverity: z.enum(SEVERITIES).default('warning').describe('Severity of unmatched Warning events.'),
        normalSeverity: z.enum(SEVERITIES).default('info').describe('Severity of unmatched events of other types.'),
      })
      .prefault({})
      .describe('Classification of events no rule matches.'),
  }),
  check(o, checks, path) {
    o.rules.forEach((rule, i) => {
      for (const t of rule.type === undefined ? [] : Array.isArray(rule.type) ? rule.type : [rule.type]) {
        if (EVENT_TYPES.includes(t)) continue;
        const c = closest(t, EVENT_TYPES);
        checks.problem([...path, 'rules', i, 'type'], `event type "${t}" never matches: events are Normal or Warning`, {
          hint: c ? `did you mean "${c}"?` : undefined,
        });
      }
      if (rule.containerReason !== undefined && !checks.flow.enriched) {
        checks.problem(
          [...path, 'rules', i, 'containerReason'],
          `rule "${rule.name}" matches on container reasons, but no enrich stage runs before this classify: it never matches`,
          {
            hint: 'put an enrich stage before classify',
            severity: 'warning',
            key: true,
          },
        );
      }
    });
    try {
      compileRules({ rules: o.rules, builtIn: o.builtIn, fallback: o.fallback });
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      const indexes = o.rules.map((r, i) => (r.name === error.rule ? i : -1)).filter((i) => i >= 0);
      const index = indexes.length > 1 ? indexes[1]! : (indexes[0] ?? -1);
      checks.problem(index >= 0 ? [...path, 'rules', index, 'name'] : [...path, 'rules'], error.message);
    }
  },
  explain: (o, display) => ({ ...display, rules: o.rules.map((r) => r.name), effectiveRules: compileRules(o).rules.length }),
  build: (o) => classify({ rules: o.rules, builtIn: o.builtIn, fallback: o.fallback }),
});
