import { readFileSync } from 'node:fs';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { parseSchema, schemaPath } from '../../../src/avro/schemas.js';
import { ALERT_STATUSES, labelsFingerprint, type Alert } from '../../../src/model/alert.js';
import { CORRELATION_KINDS, INCIDENT_STATUSES, type Incident } from '../../../src/model/incident.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { correlate } from '../../../src/operators/correlate.js';
import { dedupe } from '../../../src/operators/dedupe.js';
import { group } from '../../../src/operators/group.js';
import { rate } from '../../../src/operators/rate.js';
import { spike } from '../../../src/operators/spike.js';
import { throttle } from '../../../src/operators/throttle.js';
import { eventWindows } from '../../../src/operators/window.js';
import type { EventWindow } from '../../../src/model/event-window.js';
import { MIN, SEC, ev, quiet } from './helpers.js';

const load = (kind: string) => parseSchema(kind, readFileSync(schemaPath(kind), 'utf8'));

function collect<T>(events: KubeEvent[], op: (s: Subject<KubeEvent>) => import('rxjs').Observable<T>): T[] {
  const out: T[] = [];
  const subject = new Subject<KubeEvent>();
  op(subject).subscribe((x) => out.push(x));
  events.forEach((e) => subject.next(e));
  subject.complete();
  return out;
}

const enrichment = {
  workload: { kind: 'Deployment', name: 'web', uid: 'd-web' },
  ownerChain: [
    { kind: 'ReplicaSet', name: 'web-5d8f', uid: 'rs' },
    { kind: 'Deployment', name: 'web', uid: 'd-web' },
  ],
  node: 'n1',
  podPhase: 'Running',
  containers: [
    {
      name: 'app',
      ready: false,
      restartCount: 3,
      waitingReason: 'CrashLoopBackOff',
      waitingMessage: 'back-off',
      lastTerminationReason: 'Error',
      lastExitCode: 1,
      lastFinishedAt: Date.UTC(2024, 4, 1),
    },
  ],
  labels: { app: 'web' },
};
const burst = Array.from({ length: 6 }, (_, i) =>
  ev({ at: i * 10 * SEC, reason: 'BackOff', enrichment, classification: { category: 'CrashLoop', severity: 'error', rule: 'crashloop-backoff' } }),
);
const nodeDown = [
  ev({
    at: 0,
    kind: 'Node',
    name: 'n1',
    namespace: null,
    reason: 'NodeNotReady',
    type: 'Normal',
    classification: { category: 'Node', severity: 'critical', rule: 'node-not-ready' },
  }),
  ...burst,
];

/** Every record field (recursively) is in the schema and vice versa. */
function sameShape(value: unknown, type: import('avsc').Type, path = ''): void {
  const t = type as unknown as {
    typeName: string;
    fields?: Array<{ name: string; type: import('avsc').Type }>;
    types?: import('avsc').Type[];
    itemsType?: import('avsc').Type;
  };
  if (t.typeName === 'record') {
    const fields = t.fields!;
    expect(Object.keys(value as object).sort(), `fields of ${path || 'record'}`).toEqual(fields.map((f) => f.name).sort());
    for (const f of fields) sameShape((value as Record<string, unknown>)[f.name], f.type, `${path}.${f.name}`);
  } else if (t.typeName === 'union:unwrapped' || t.typeName === 'union:wrapped') {
    if (value === null) return;
    const branch = t.types!.find((b) => (b as unknown as { typeName: string }).typeName !== 'null')!;
    sameShape(value, branch, path);
  } else if (t.typeName === 'array') {
    for (const item of value as unknown[]) sameShape(item, t.itemsType!, `${path}[]`);
  }
}

function docs(schema: unknown, path = ''): string[] {
  const missing: string[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}|${i}`));
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    if (o['type'] === 'record') {
      for (const f of o['fields'] as Array<Record<string, unknown>>) {
        if (typeof f['doc'] !== 'string' || f['doc'] === '') missing.push(`${where}.${String(f['name'])}`);
        walk(f['type'], `${where}.${String(f['name'])}`);
      }
    } else if (o['type'] === 'array') walk(o['items'], where);
  };
  walk(schema, path);
  return missing;
}

describe('Alert and Incident records', () => {
  const alertSchema = load('Alert');
  const incidentSchema = load('Incident');
  const alerts: Alert[] = [
    ...collect(burst, (s) => s.pipe(rate({ threshold: 5, window: 3 * MIN, ...quiet() }))),
    ...collect(burst, (s) => s.pipe(rate({ threshold: 5, window: 3 * MIN, ...quiet() }), group({ groupWait: 0, ...quiet() }))),
    ...collect(
      [
        ...Array.from({ length: 6 }, (_, m) => ev({ at: m * MIN, name: `p${m}` })),
        ...Array.from({ length: 30 }, (_, i) => ev({ at: 6 * MIN + i * SEC, name: `q${i}` })),
      ],
      (s) => s.pipe(spike({ warmup: 3, ...quiet() })),
    ),
  ];
  const incidents: Incident[] = collect(nodeDown, (s) => s.pipe(correlate(quiet())));

  it('produces samples of every kind', () => {
    expect(alerts.map((a) => a.status)).toEqual(['firing', 'resolved', 'firing', 'resolved', 'firing', 'resolved']);
    expect(incidents.map((i) => i.status)).toEqual(['open', 'closed']);
  });

  it('encode and decode with avsc to the same values (Alert)', () => {
    for (const a of alerts) {
      expect(alertSchema.type.isValid(a, { errorHook: (p) => expect.fail(`invalid at ${p.join('.')}`) })).toBe(true);
      expect(alertSchema.type.fromBuffer(alertSchema.type.toBuffer(a))).toEqual(a);
      sameShape(a, alertSchema.type);
    }
  });

  it('encode and decode with avsc to the same values (Incident)', () => {
    for (const i of incidents) {
      expect(incidentSchema.type.isValid(i, { errorHook: (p) => expect.fail(`invalid at ${p.join('.')}`) })).toBe(true);
      expect(incidentSchema.type.fromBuffer(incidentSchema.type.toBuffer(i))).toEqual(i);
      sameShape(i, incidentSchema.type);
    }
  });

  it('documents every field, uses the io.kubevents.v1 namespace and the model enums', () => {
    for (const s of [alertSchema, incidentSchema]) {
      expect((s.json as { namespace: string }).namespace).toBe('io.kubevents.v1');
      expect(docs(s.json)).toEqual([]);
    }
    const symbols = (json: unknown, name: string): string[] => {
      const field = (json as { fields: Array<{ name: string; type: { symbols: string[] } }> }).fields.find((f) => f.name === name)!;
      return field.type.symbols;
    };
    expect(symbols(alertSchema.json, 'status')).toEqual([...ALERT_STATUSES]);
    expect(symbols(incidentSchema.json, 'status')).toEqual([...INCIDENT_STATUSES]);
    expect(symbols(incidentSchema.json, 'correlation')).toEqual([...CORRELATION_KINDS]);
  });

  it('alert ids are Alertmanager label fingerprints', () => {
    // prometheus/common model.LabelSet{"alertname":"test"}.Fingerprint() and an empty set
    expect(labelsFingerprint({})).toBe('cbf29ce484222325');
    expect(labelsFingerprint({ alertname: 'test', empty: '' })).toBe(labelsFingerprint({ alertname: 'test' }));
    expect(labelsFingerprint({ b: '2', a: '1' })).toBe(labelsFingerprint({ a: '1', b: '2' }));
    expect(labelsFingerprint({ a: '1b' })).not.toBe(labelsFingerprint({ a1: 'b' }));
  });

  it('a deduped event still encodes as a KubeEvent (the dedupe field is not part of it)', () => {
    const kubeEvent = load('KubeEvent');
    const [deduped] = collect(burst, (s) => s.pipe(dedupe(quiet())));
    const decoded = kubeEvent.type.fromBuffer(kubeEvent.type.toBuffer(deduped)) as KubeEvent;
    expect(decoded.idempotencyKey).toBe(deduped!.idempotencyKey);
  });
});

describe('EventWindow records', () => {
  const schema = load('EventWindow');
  const windows: EventWindow[] = collect(nodeDown, (s) =>
    s.pipe(eventWindows({ size: MIN, slide: 30 * SEC, labels: (e) => ({ namespace: e.regarding.namespace, reason: e.reason }), name: 'p/window', ...quiet() })),
  );

  it('encode and decode with avsc to the same values, every field in the schema and back', () => {
    expect(windows.length).toBeGreaterThan(2);
    for (const w of windows) {
      expect(schema.type.isValid(w, { errorHook: (p) => expect.fail(`invalid at ${p.join('.')}`) })).toBe(true);
      expect(schema.type.fromBuffer(schema.type.toBuffer(w))).toEqual(w);
      sameShape(w, schema.type);
    }
  });

  it('documents every field and uses the io.kubevents.v1 namespace', () => {
    expect((schema.json as { namespace: string }).namespace).toBe('io.kubevents.v1');
    expect(docs(schema.json)).toEqual([]);
  });

  it('a throttled event still encodes as a KubeEvent (the throttle field is not part of it)', () => {
    const kubeEvent = load('KubeEvent');
    const [throttled] = collect(burst, (s) => s.pipe(throttle({ interval: MIN, ...quiet() })));
    expect(throttled!.throttle.dropped).toBe(0);
    const decoded = kubeEvent.type.fromBuffer(kubeEvent.type.toBuffer(throttled)) as KubeEvent;
    expect(decoded.idempotencyKey).toBe(throttled!.idempotencyKey);
  });
});
