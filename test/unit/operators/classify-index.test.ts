import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATEGORIES, SEVERITIES, type Classification, type KubeEvent } from '../../../src/model/kube-event.js';
import { BUILT_IN_RULES, classifyEvent, compileRules, type ClassificationRule, type CompiledRules } from '../../../src/operators/classify.js';
import { ev } from './helpers.js';

/** classifyEvent as it was before the reason index: every rule in order, the first match wins. */
function classifyByScan(event: KubeEvent, compiled: CompiledRules): Classification {
  for (const { rule, test } of compiled.rules) {
    if (test(event)) return { category: rule.category, severity: rule.severity, rule: rule.name };
  }
  const f = compiled.fallback;
  return { category: f.category, severity: event.type === 'Warning' ? f.warningSeverity : f.normalSeverity, rule: null };
}

const builtInReasons = [...new Set(BUILT_IN_RULES.flatMap((r) => (r.reason === undefined ? [] : Array.isArray(r.reason) ? r.reason : [r.reason])))];
const reason = fc.oneof(fc.constantFrom(...builtInReasons), fc.constantFrom('BackOff', 'Killing', 'Failed'), fc.string({ maxLength: 12 }));
const message = fc.oneof(
  fc.constantFrom(
    'Back-off restarting failed container app in pod web-1',
    'Back-off pulling image "nginx:nope"',
    'Liveness probe failed: HTTP probe failed with statuscode: 500',
    'Failed to pull image "x": ErrImagePull',
    'failed to setup network for sandbox: plugin type="calico" failed',
    '',
  ),
  fc.string({ maxLength: 40 }),
);
const event = fc
  .record({
    reason,
    message,
    type: fc.constantFrom('Warning', 'Normal'),
    kind: fc.constantFrom('Pod', 'Node', 'ReplicaSet', 'Deployment', 'Job'),
    reportingController: fc.option(fc.constantFrom('kubelet', 'default-scheduler', 'cluster-autoscaler'), { nil: null }),
  })
  .map((i) => ev({ at: 0, ...i }));
const userRule: fc.Arbitrary<ClassificationRule> = fc.record(
  {
    name: fc.constantFrom('u1', 'u2', 'u3', 'backoff', 'failed-scheduling', 'image-pulling'),
    category: fc.constantFrom(...CATEGORIES),
    severity: fc.constantFrom(...SEVERITIES),
    reason: fc.oneof(reason, fc.array(reason, { maxLength: 3 })),
    type: fc.constantFrom('Warning', 'Normal'),
    messagePattern: fc.constantFrom('back-?off', 'probe', 'image'),
  },
  { requiredKeys: ['name', 'category', 'severity'] },
);

describe('classify: the rules indexed by reason', () => {
  it('give the classification of trying every rule in order (built-in rules)', () => {
    const compiled = compileRules();
    fc.assert(
      fc.property(event, (e) => {
        expect(classifyEvent(e, compiled)).toEqual(classifyByScan(e, compiled));
      }),
      { numRuns: 3000 },
    );
  });

  it('give the classification of trying every rule in order (user rules, with and without the built-in ones)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(userRule, { maxLength: 5, selector: (r) => r.name }),
        fc.boolean(),
        fc.array(event, { minLength: 1, maxLength: 20 }),
        (rules, builtIn, events) => {
          const compiled = compileRules({ rules, builtIn });
          for (const e of events) expect(classifyEvent(e, compiled)).toEqual(classifyByScan(e, compiled));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('stay right past the cap of remembered reasons', () => {
    const compiled = compileRules();
    for (let i = 0; i < 5000; i++) classifyEvent(ev({ at: 0, reason: `Unknown${i}` }), compiled);
    for (const r of builtInReasons) {
      const e = ev({ at: 0, reason: r });
      expect(classifyEvent(e, compiled)).toEqual(classifyByScan(e, compiled));
    }
  });
});
