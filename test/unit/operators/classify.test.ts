import { describe, expect, it } from 'vitest';
import { CATEGORIES, SEVERITIES, type Category, type KubeEvent, type Severity } from '../../../src/model/kube-event.js';
import { BUILT_IN_RULES, classify, classifyEvent, compileRules, RuleError, type ClassificationRule } from '../../../src/operators/classify.js';
import { ev, letters, testScheduler, type EvInput } from './helpers.js';

const builtIn = compileRules();
const cls = (i: Partial<EvInput>): [Category, Severity, string | null] => {
  const c = classifyEvent(ev({ at: 0, ...i }), builtIn);
  return [c.category, c.severity, c.rule];
};

describe('classify', () => {
  it.each([
    [{ reason: 'FailedScheduling', message: '0/3 nodes are available: 3 Insufficient cpu.' }, 'Scheduling', 'warning'],
    [{ reason: 'BackOff', message: 'Back-off restarting failed container app in pod web-1' }, 'CrashLoop', 'error'],
    [{ reason: 'BackOff', message: 'Back-off pulling image "nginx:nope"' }, 'Image', 'warning'],
    [{ reason: 'Failed', message: 'Failed to pull image "nginx:nope": rpc error: not found' }, 'Image', 'error'],
    [{ reason: 'Failed', message: 'Error: ErrImagePull' }, 'Image', 'error'],
    [{ reason: 'Failed', message: 'Error: ImagePullBackOff' }, 'Image', 'error'],
    [{ reason: 'ErrImagePull' }, 'Image', 'error'],
    [{ reason: 'ImagePullBackOff' }, 'Image', 'error'],
    [{ reason: 'Failed', message: 'Error: container has runAsNonRoot and image will run as root' }, 'Lifecycle', 'warning'],
    [{ reason: 'Failed', message: 'Error: image shop/web:v9 not present with pull policy of Never' }, 'Image', 'error'],
    [{ reason: 'Failed', message: 'Error: failed to create containerd task: exec: "app": not found' }, 'Lifecycle', 'warning'],
    [{ reason: 'OOMKilling', kind: 'Node', message: 'Memory cgroup out of memory: Killed process 123 (java)' }, 'OOM', 'error'],
    [{ reason: 'FailedMount', message: 'MountVolume.SetUp failed for volume "data"' }, 'Storage', 'warning'],
    [{ reason: 'FailedAttachVolume', message: 'Multi-Attach error for volume "pvc-1"' }, 'Storage', 'warning'],
    [{ reason: 'Unhealthy', message: 'Readiness probe failed: HTTP probe failed with statuscode: 503' }, 'Probe', 'warning'],
    [{ reason: 'Killing', message: 'Container app failed liveness probe, will be restarted' }, 'Probe', 'warning'],
    [{ reason: 'Killing', message: 'Stopping container app' }, 'Lifecycle', 'info'],
    [{ reason: 'Evicted', message: 'The node was low on resource: memory.' }, 'Eviction', 'error'],
    [{ reason: 'TaintManagerEviction', type: 'Normal', message: 'Marking for deletion Pod shop/web-1' }, 'Eviction', 'warning'],
    [{ reason: 'NodeNotReady', kind: 'Node', type: 'Normal', message: 'Node n1 status is now: NodeNotReady' }, 'Node', 'critical'],
    [{ reason: 'NodeHasDiskPressure', kind: 'Node', type: 'Normal' }, 'Node', 'warning'],
    [{ reason: 'NodeHasMemoryPressure', kind: 'Node', type: 'Normal' }, 'Node', 'warning'],
    [{ reason: 'NodeReady', kind: 'Node', type: 'Normal' }, 'Node', 'info'],
    [{ reason: 'FailedCreate', kind: 'ReplicaSet', message: 'Error creating: pods "web-" is forbidden: exceeded quota' }, 'Scaling', 'error'],
    [{ reason: 'ScalingReplicaSet', kind: 'Deployment', type: 'Normal' }, 'Scaling', 'info'],
    [{ reason: 'FailedGetResourceMetric', kind: 'HorizontalPodAutoscaler' }, 'Scaling', 'warning'],
    [
      {
        reason: 'FailedCreatePodSandBox',
        message: 'Failed to create pod sandbox: plugin type="calico" failed (add): error getting ClusterInformation: connection is unauthorized',
      },
      'Network',
      'error',
    ],
    [{ reason: 'Scheduled', type: 'Normal' }, 'Scheduling', 'info'],
    [{ reason: 'Pulled', type: 'Normal' }, 'Image', 'info'],
    [{ reason: 'Started', type: 'Normal' }, 'Lifecycle', 'info'],
    [{ reason: 'BackoffLimitExceeded', kind: 'Job' }, 'Lifecycle', 'error'],
  ] as Array<[Partial<EvInput>, Category, Severity]>)('%o -> %s/%s', (input, category, severity) => {
    const [c, s] = cls(input);
    expect([c, s]).toEqual([category, severity]);
  });

  it('classifies a BackOff after an OOMKilled container as OOM (needs enrich first)', () => {
    const enrichment = {
      workload: null,
      ownerChain: [],
      node: 'n1',
      podPhase: 'Running',
      labels: {},
      containers: [
        {
          name: 'app',
          ready: false,
          restartCount: 4,
          waitingReason: 'CrashLoopBackOff',
          waitingMessage: null,
          lastTerminationReason: 'OOMKilled',
          lastExitCode: 137,
          lastFinishedAt: null,
        },
      ],
    };
    expect(cls({ reason: 'BackOff', message: 'Back-off restarting failed container app', enrichment })).toEqual(['OOM', 'error', 'backoff-after-oom']);
  });

  it('falls back to Other with warning for Warning events and info otherwise', () => {
    expect(cls({ reason: 'SomethingNew' })).toEqual(['Other', 'warning', null]);
    expect(cls({ reason: 'SomethingNew', type: 'Normal' })).toEqual(['Other', 'info', null]);
    const custom = compileRules({ fallback: { category: 'Lifecycle', warningSeverity: 'error' } });
    expect(classifyEvent(ev({ at: 0, reason: 'X' }), custom)).toEqual({ category: 'Lifecycle', severity: 'error', rule: null });
  });

  it('lets user rules override a built-in rule by name and take precedence over the others', () => {
    const rules: ClassificationRule[] = [
      { name: 'failed-scheduling', reason: 'FailedScheduling', category: 'Scheduling', severity: 'error' },
      { name: 'gpu', reason: 'BackOff', messagePattern: 'gpu', category: 'Node', severity: 'critical' },
    ];
    const compiled = compileRules({ rules });
    expect(classifyEvent(ev({ at: 0, reason: 'FailedScheduling' }), compiled)).toEqual({
      category: 'Scheduling',
      severity: 'error',
      rule: 'failed-scheduling',
    });
    expect(classifyEvent(ev({ at: 0, reason: 'BackOff', message: 'Back-off restarting failed container GPU-worker' }), compiled)).toMatchObject({
      category: 'Node',
      rule: 'gpu',
    });
    // replacing keeps the built-in's place: it does not move ahead of earlier built-ins
    expect(compiled.rules.map((r) => r.rule.name)).toEqual(['gpu', ...BUILT_IN_RULES.map((r) => r.name)]);
    expect(compileRules({ rules, builtIn: false }).rules.map((r) => r.rule.name)).toEqual(['failed-scheduling', 'gpu']);
  });

  it('matches all set conditions; list values match any', () => {
    const compiled = compileRules({
      builtIn: false,
      rules: [
        {
          name: 'r',
          reason: ['A', 'B'],
          kind: 'Pod',
          type: 'Warning',
          reportingController: ['kubelet'],
          reasonPattern: '^[AB]$',
          messagePattern: 'disk',
          category: 'Storage',
          severity: 'error',
        },
      ],
    });
    const base = { at: 0, reason: 'A', kind: 'Pod', type: 'Warning', reportingController: 'kubelet', message: 'DISK full' };
    expect(classifyEvent(ev(base), compiled).rule).toBe('r');
    expect(classifyEvent(ev({ ...base, reason: 'B' }), compiled).rule).toBe('r');
    for (const change of [{ reason: 'C' }, { kind: 'Node' }, { type: 'Normal' }, { reportingController: 'scheduler' }, { message: 'cpu' }]) {
      expect(classifyEvent(ev({ ...base, ...change }), compiled).rule).toBeNull();
    }
  });

  it('refuses malformed rules with the rule name', () => {
    const bad =
      (rule: Partial<ClassificationRule>): (() => unknown) =>
      () =>
        compileRules({ rules: [{ name: 'bad', category: 'Other', severity: 'info', ...rule } as ClassificationRule] });
    expect(bad({ category: 'Nope' as Category })).toThrow(/rule bad: category must be one of/);
    expect(bad({ severity: 'fatal' as Severity })).toThrow(/rule bad: severity must be one of/);
    expect(bad({ messagePattern: '(' })).toThrow(/rule bad: messagePattern is not a valid regular expression/);
    expect(bad({})).not.toThrow();
    expect(() =>
      compileRules({
        rules: [
          { name: 'x', category: 'Other', severity: 'info' },
          { name: 'x', category: 'Other', severity: 'info' },
        ],
      }),
    ).toThrow(RuleError);
  });

  it('built-in rules are valid, uniquely named and use the model categories and severities', () => {
    expect(new Set(BUILT_IN_RULES.map((r) => r.name)).size).toBe(BUILT_IN_RULES.length);
    for (const r of BUILT_IN_RULES) {
      expect(CATEGORIES).toContain(r.category);
      expect(SEVERITIES).toContain(r.severity);
    }
  });

  it('sets classification on every event, one output per input (marbles)', () => {
    const events = [ev({ at: 0, reason: 'BackOff', message: 'Back-off restarting failed container' }), ev({ at: 1, reason: 'Scheduled', type: 'Normal' })];
    testScheduler().run(({ cold, expectObservable }) => {
      const with_ = (e: KubeEvent, category: Category, severity: Severity, rule: string): KubeEvent => ({ ...e, classification: { category, severity, rule } });
      expectObservable(cold('a-b|', letters(events)).pipe(classify())).toBe('a-b|', {
        a: with_(events[0]!, 'CrashLoop', 'error', 'crashloop-backoff'),
        b: with_(events[1]!, 'Scheduling', 'info', 'scheduled'),
      });
    });
  });
});
