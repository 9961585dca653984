import { map, type OperatorFunction } from 'rxjs';
import { CATEGORIES, eventContainers, SEVERITIES, type Category, type Classification, type KubeEvent, type Severity } from '../model/kube-event.js';
import { BUILT_IN_RULES, type ClassificationRule } from './classify-rules.js';

export { BUILT_IN_RULES, type ClassificationRule } from './classify-rules.js';

export interface ClassifyFallback {
  /** Category of events no rule matches. Default Other. */
  category?: Category;
  /** Severity of unmatched Warning events. Default warning. */
  warningSeverity?: Severity;
  /** Severity of unmatched events of any other type. Default info. */
  normalSeverity?: Severity;
}

export interface ClassifyOptions {
  /**
   * Extra rules. A rule named like a built-in rule replaces it in place; the others are tried
   * before the built-in rules, in the order given.
   */
  rules?: readonly ClassificationRule[];
  /** Use BUILT_IN_RULES (after `rules`). Default true. */
  builtIn?: boolean;
  fallback?: ClassifyFallback;
}

/** Thrown for a malformed rule; names the rule and what is wrong. */
export class RuleError extends Error {
  constructor(
    message: string,
    readonly rule: string,
  ) {
    super(message);
    this.name = 'RuleError';
  }
}

type Test = (event: KubeEvent) => boolean;

export interface CompiledRule {
  rule: ClassificationRule;
  test: Test;
  /** the reasons the rule is limited to (its `reason`), null when any reason may match */
  reasons: readonly string[] | null;
}

export interface CompiledRules {
  rules: readonly CompiledRule[];
  fallback: Required<ClassifyFallback>;
}

/** Distinct reasons whose candidate rules are remembered; past it they are computed per event. */
const MAX_INDEXED_REASONS = 4096;

/**
 * The rules that may match an event of one reason, in rule order: most rules name their reasons,
 * so an event is tested against a few rules instead of all of them. Cached per reason, capped.
 */
function rulesByReason(compiled: CompiledRules): (reason: string) => readonly CompiledRule[] {
  const byReason = new Map<string, readonly CompiledRule[]>();
  const candidatesOf = (reason: string): readonly CompiledRule[] => compiled.rules.filter((r) => r.reasons === null || r.reasons.includes(reason));
  return (reason) => {
    let candidates = byReason.get(reason);
    if (candidates === undefined) {
      candidates = candidatesOf(reason);
      if (byReason.size < MAX_INDEXED_REASONS) byReason.set(reason, candidates);
    }
    return candidates;
  };
}

const indexes = new WeakMap<CompiledRules, (reason: string) => readonly CompiledRule[]>();

function candidateRules(compiled: CompiledRules, reason: string): readonly CompiledRule[] {
  let index = indexes.get(compiled);
  if (index === undefined) {
    index = rulesByReason(compiled);
    indexes.set(compiled, index);
  }
  return index(reason);
}

const list = (v: string | string[] | undefined): string[] | null => (v === undefined ? null : Array.isArray(v) ? v : [v]);

function regex(rule: ClassificationRule, field: string, source: string | undefined): RegExp | null {
  if (source === undefined) return null;
  if (typeof source !== 'string') throw new RuleError(`rule ${rule.name}: ${field} must be a string`, rule.name);
  try {
    return new RegExp(source, 'i');
  } catch (error) {
    throw new RuleError(`rule ${rule.name}: ${field} is not a valid regular expression: ${(error as Error).message}`, rule.name);
  }
}

/** Checks one rule and turns it into a predicate. Throws RuleError when malformed. */
export function compileRule(rule: ClassificationRule): CompiledRule {
  if (!rule || typeof rule.name !== 'string' || rule.name === '') throw new RuleError('rule without a name', String(rule?.name));
  if (!(CATEGORIES as readonly string[]).includes(rule.category)) {
    throw new RuleError(`rule ${rule.name}: category must be one of ${CATEGORIES.join(', ')}, got ${String(rule.category)}`, rule.name);
  }
  if (!(SEVERITIES as readonly string[]).includes(rule.severity)) {
    throw new RuleError(`rule ${rule.name}: severity must be one of ${SEVERITIES.join(', ')}, got ${String(rule.severity)}`, rule.name);
  }
  const reasons = list(rule.reason);
  const kinds = list(rule.kind);
  const types = list(rule.type);
  const controllers = list(rule.reportingController);
  const containerReasons = list(rule.containerReason);
  const reasonRe = regex(rule, 'reasonPattern', rule.reasonPattern);
  const messageRe = regex(rule, 'messagePattern', rule.messagePattern);
  const tests: Test[] = [];
  if (reasons) tests.push((e) => reasons.includes(e.reason));
  if (reasonRe) tests.push((e) => reasonRe.test(e.reason));
  if (kinds) tests.push((e) => e.regarding.kind !== null && kinds.includes(e.regarding.kind));
  if (types) tests.push((e) => types.includes(e.type));
  if (controllers) tests.push((e) => e.reportingController !== null && controllers.includes(e.reportingController));
  if (messageRe) tests.push((e) => messageRe.test(e.message));
  if (containerReasons) {
    tests.push((e) =>
      eventContainers(e).some(
        (c) =>
          (c.lastTerminationReason !== null && containerReasons.includes(c.lastTerminationReason)) ||
          (c.waitingReason !== null && containerReasons.includes(c.waitingReason)),
      ),
    );
  }
  const test: Test = (e) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(e)) return false;
    return true;
  };
  return { rule, test, reasons };
}

/** The effective, ordered rule list for these options, compiled. Throws RuleError on a malformed or duplicate rule. */
export function compileRules(options: ClassifyOptions = {}): CompiledRules {
  const user = options.rules ?? [];
  const builtIn = options.builtIn === false ? [] : BUILT_IN_RULES;
  const seen = new Set<string>();
  for (const r of user) {
    if (seen.has(r.name)) throw new RuleError(`rule ${r.name} is defined twice`, r.name);
    seen.add(r.name);
  }
  const replacing = new Map(user.filter((r) => builtIn.some((b) => b.name === r.name)).map((r) => [r.name, r]));
  const ordered = [...user.filter((r) => !replacing.has(r.name)), ...builtIn.map((b) => replacing.get(b.name) ?? b)];
  const fallback: Required<ClassifyFallback> = {
    category: options.fallback?.category ?? 'Other',
    warningSeverity: options.fallback?.warningSeverity ?? 'warning',
    normalSeverity: options.fallback?.normalSeverity ?? 'info',
  };
  compileRule({ name: 'fallback', category: fallback.category, severity: fallback.warningSeverity });
  compileRule({ name: 'fallback', category: fallback.category, severity: fallback.normalSeverity });
  return { rules: ordered.map(compileRule), fallback };
}

/** Classification of one event by the first matching rule, else the fallback (rule null). */
export function classifyEvent(event: KubeEvent, compiled: CompiledRules): Classification {
  const candidates = candidateRules(compiled, event.reason);
  for (let i = 0; i < candidates.length; i++) {
    const { rule, test } = candidates[i]!;
    if (test(event)) return { category: rule.category, severity: rule.severity, rule: rule.name };
  }
  const f = compiled.fallback;
  return { category: f.category, severity: event.type === 'Warning' ? f.warningSeverity : f.normalSeverity, rule: null };
}

/**
 * Sets `classification` on every event: the category and severity of the first matching rule
 * (user rules, then BUILT_IN_RULES), or the fallback. Stateless; one output per input, at once.
 * Put it after `enrich` so rules on container reasons (e.g. BackOff after OOMKilled) can match.
 *
 * ```
 * source:    --a--b--c--|
 * classify:  --A--B--C--|    A = { ...a, classification: { category, severity, rule } }
 * ```
 *
 * Throws RuleError at construction for a malformed rule (bad category/severity/regex, duplicate name).
 */
export function classify(options: ClassifyOptions = {}): OperatorFunction<KubeEvent, KubeEvent> {
  const compiled = compileRules(options);
  return map((event) => ({ ...event, classification: classifyEvent(event, compiled) }));
}
