/**
 * The alert sinks against the REAL Kafka broker of the test environment (test/env/kafka.sh), with
 * local HTTP servers standing in for DingTalk, WeCom, Slack, a webhook and Alertmanager.
 *
 * Records are produced as the Kafka sink writes them (Avro: Confluent wire format with the real
 * Schema Registry of the test environment, test/env/registry.sh, or raw Avro with the fingerprint
 * header), the alerts service runs as a consumer group, and the tests check what each platform receives, retries, timeouts, dead letters, committed
 * offsets, and exactly-once notification across a restart and across two group members.
 *
 * Waits are conditions (never fixed sleeps), each bounded; every resource is released in afterEach.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { AvroBinaryEncoder, ConfluentEncoder, HEADERS, RecordDecoder, type RecordEncoder } from '../../src/avro/encodings.js';
import { ConfluentSchemaRegistry } from '../../src/avro/registry.js';
import { loadSchema } from '../../src/avro/schemas.js';
import { ACKS_ALL, createKafka, createProducer, ensureTopics, headersToStrings, type Kafka, type Producer } from '../../src/kafka/client.js';
import { parseAlertsConfig } from '../../src/alerting/load-config.js';
import { startAlertsService, type AlertsService, type RecordEvent } from '../../src/alerting/service.js';
import { formatDiagnostic } from '../../src/core/diagnostics.js';
import type { Alert } from '../../src/model/alert.js';
import type { Incident } from '../../src/model/incident.js';
import type { DeadLetterRecord } from '../../src/model/records.js';
import { resolvedAlert, sampleAlert, sampleIncident } from '../unit/alerting/fixtures.js';

const kafkaEnv = inject('kafkaEnv');
const registry = inject('registryEnv');
const kafka: Kafka = createKafka({
  brokers: kafkaEnv.brokers,
  clientId: 'alert-sinks-test',
  retry: { retries: 10, initialRetryTimeMs: 200, maxRetryTimeMs: 2000 },
});

let producer: Producer;
let encoders: Record<'avro-binary' | 'confluent', RecordEncoder>;

const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  encoders = { 'avro-binary': new AvroBinaryEncoder(), confluent: new ConfluentEncoder(new ConfluentSchemaRegistry({ url: registry.url })) };
  producer = createProducer(kafka);
  await producer.connect();
});

afterEach(async () => {
  // newest first: services before the servers they call
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

afterAll(async () => {
  await producer?.disconnect();
});

const uniq = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------------
// Local HTTP receivers

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: string;
  at: number;
  /** status answered (0: stalled) */
  status: number;
}

type Reply = { status?: number; headers?: Record<string, string>; body?: string; delayMs?: number } | 'stall';
type Behavior = (request: Recorded, index: number) => Reply;

interface ReceiverServer {
  url: string;
  requests: Recorded[];
  json(i: number): any;
}

async function receiverServer(behavior: Behavior = () => ({ status: 200 })): Promise<ReceiverServer> {
  const requests: Recorded[] = [];
  const stalled: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const recorded: Recorded = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        status: 0,
      };
      requests.push(recorded);
      const reply = behavior(recorded, requests.length - 1);
      recorded.status = reply === 'stall' ? 0 : (reply.status ?? 200);
      if (reply === 'stall') {
        stalled.push(res);
        return;
      }
      const send = () => res.writeHead(reply.status ?? 200, reply.headers ?? {}).end(reply.body ?? '');
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const res of stalled) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, json: (i) => JSON.parse((requests[i] as Recorded).body) };
}

const ERRCODE_OK: Reply = { status: 200, headers: { 'content-type': 'application/json' }, body: '{"errcode":0,"errmsg":"ok"}' };

// ---------------------------------------------------------------------------------------------
// Kafka helpers

async function createTopics(...specs: Array<{ topic: string; partitions: number }>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(
      admin,
      specs.map((s) => ({ ...s, replicationFactor: 1 })),
    );
  } finally {
    await admin.disconnect();
  }
}

interface Out {
  kind: 'Alert' | 'Incident';
  value: Alert | Incident;
  encoding: 'avro-binary' | 'confluent';
}

/** Produces records the way the Kafka sink writes them: Avro value, identifying headers, keyed by alert/incident id. */
async function produce(topic: string, records: readonly Out[]): Promise<void> {
  const messages = [];
  for (const r of records) {
    const encoded = await encoders[r.encoding].encode(loadSchema(r.kind), topic, r.value);
    const id = r.kind === 'Alert' ? (r.value as Alert).alertId : (r.value as Incident).incidentId;
    messages.push({
      key: id,
      value: encoded.value,
      headers: { ...encoded.headers, [HEADERS.kind]: r.kind, [HEADERS.cluster]: r.value.cluster, [HEADERS.idempotencyKey]: r.value.idempotencyKey },
    });
  }
  await producer.send({ topic, acks: ACKS_ALL, messages });
}

/** Committed offsets of the group equal the end of every partition. */
async function groupCaughtUp(groupId: string, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
    return ends.every((e) => e.high === '0' || byPartition.get(e.partition) === e.high);
  } finally {
    await admin.disconnect();
  }
}

/** Every record of a topic, decoded (dead letters). */
async function readTopic<T>(topic: string, count: number): Promise<T[]> {
  const decoder = new RecordDecoder({ registry: new ConfluentSchemaRegistry({ url: registry.url }) });
  const out: T[] = [];
  const consumer = kafka.consumer({ groupId: uniq('reader'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        out.push((await decoder.decode<T>(message.value as Buffer, headersToStrings(message.headers))).value);
      },
    });
    await waitFor(`${count} records on ${topic}`, () => out.length >= count);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

interface Harness {
  service: AlertsService;
  events: RecordEvent[];
  metrics: Registry;
}

/** Starts the alerts service from configuration text (env references resolved from `env`). */
async function startService(yaml: string, env: Record<string, string>): Promise<Harness> {
  const result = parseAlertsConfig(yaml, 'alerts-test.yaml', { env });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (!result.config || errors.length) throw new Error(errors.map(formatDiagnostic).join('\n'));
  const events: RecordEvent[] = [];
  const metrics = new Registry();
  const service = await startAlertsService(result.config, { registry: metrics, onRecord: (e) => events.push(e) });
  cleanups.push(() => service.stop());
  await service.whenJoined();
  return { service, events, metrics };
}

function baseYaml(o: { topic: string; groupId: string; deadLetter: string; concurrency?: number }): string {
  return `
kafka:
  brokers: [${kafkaEnv.brokers.join(', ')}]
  clientId: alert-sinks-test
schemaRegistry:
  url: ${registry.url}
consumer:
  groupId: ${o.groupId}
  topics: [${o.topic}]
  fromBeginning: true
  concurrency: ${o.concurrency ?? 4}
  sessionTimeout: 10s
  heartbeatInterval: 1s
  rebalanceTimeout: 20s
deadLetter:
  topic: ${o.deadLetter}
cluster: test-cluster
externalUrl: https://grafana.example.com/d/kubevents
defaults:
  timeout: 2s
  retry: { maxAttempts: 4, initialBackoff: 100ms, maxBackoff: 400ms, throttleBackoff: 300ms }
`;
}

async function counterValue(metrics: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

function alertWith(i: number, labels: Record<string, string> = {}, overrides: Partial<Alert> = {}): Alert {
  return sampleAlert({
    labels: { alertname: 'PodCrashLooping', cluster: 'prod-1', namespace: 'shop', kind: 'Pod', name: `web-${i}`, reason: 'BackOff', ...labels },
    ...overrides,
  });
}

// ---------------------------------------------------------------------------------------------

describe('alert sinks on a real Kafka broker', () => {
  it('delivers Avro records (both encodings) to DingTalk, WeCom, Slack, a webhook and Alertmanager, each in its format', async () => {
    const topic = uniq('alerts-fmt');
    const deadLetter = uniq('dlq-fmt');
    await createTopics({ topic, partitions: 3 }, { topic: deadLetter, partitions: 1 });
    const [dingtalk, wecom, slack, webhook, alertmanager] = await Promise.all([
      receiverServer(() => ERRCODE_OK),
      receiverServer(() => ERRCODE_OK),
      receiverServer(() => ({ status: 200, body: 'ok' })),
      receiverServer(() => ({ status: 204 })),
      receiverServer(() => ({ status: 200 })),
    ]);
    const secret = 'SECtest0123456789abcdef';
    const env = {
      DT_URL: `${dingtalk.url}/robot/send?access_token=dt-token-1`,
      DT_SECRET: secret,
      WECOM_URL: `${wecom.url}/cgi-bin/webhook/send?key=wecom-key-1`,
      SLACK_URL: `${slack.url}/services/T000/B000/slacksecret0123456789`,
    };
    const groupId = uniq('group-fmt');
    const yaml = `${baseYaml({ topic, groupId, deadLetter })}
route:
  receiver: slack
  routes:
    - { matchers: ['record="Alert"'], receiver: dingtalk, continue: true }
    - { matchers: ['namespace="shop"'], receiver: wecom, continue: true }
    - { matchers: ['severity=~"critical|error"'], receiver: slack, continue: true }
    - { matchers: ['cluster=~"prod-.*"'], receiver: alertmanager, continue: true }
    - { matchers: ['record="Incident"'], receiver: webhook }
receivers:
  - { name: dingtalk, type: dingtalk, url: "\${env:DT_URL}", secret: "\${env:DT_SECRET}" }
  - { name: wecom, type: wecom, url: "\${env:WECOM_URL}" }
  - { name: slack, type: slack, url: "\${env:SLACK_URL}" }
  - { name: webhook, type: webhook, url: "${webhook.url}/kubevents" }
  - { name: alertmanager, type: alertmanager, url: "${alertmanager.url}", labels: { source: kubevents } }
`;
    const firing = sampleAlert();
    const resolved = resolvedAlert();
    const quiet = alertWith(2, { namespace: 'dev', cluster: 'dev-1' }, { severity: 'info', namespace: 'dev', cluster: 'dev-1' });
    const incident = sampleIncident();
    const records: Out[] = [
      { kind: 'Alert', value: firing, encoding: 'avro-binary' },
      // the same occurrence again (e.g. a producer retry): the same idempotency key, not notified twice
      { kind: 'Alert', value: firing, encoding: 'confluent' },
      { kind: 'Alert', value: resolved, encoding: 'confluent' },
      { kind: 'Alert', value: quiet, encoding: 'confluent' },
      { kind: 'Incident', value: incident, encoding: 'avro-binary' },
    ];
    await produce(topic, records);
    const { service, metrics } = await startService(yaml, env);
    await waitFor('every record committed', () => service.consumer.committed === records.length);
    expect(await groupCaughtUp(groupId, topic)).toBe(true);

    // routing: firing + resolved alert to dingtalk, wecom, slack, alertmanager; the quiet alert to dingtalk only;
    // the incident to slack, alertmanager and the webhook
    expect([dingtalk, wecom, slack, webhook, alertmanager].map((s) => s.requests.length)).toEqual([3, 2, 3, 1, 3]);
    expect(await counterValue(metrics, 'kubevents_alert_notification_duplicates_total', {})).toBe(4);

    // DingTalk: signed markdown, firing before resolved
    for (const r of dingtalk.requests) {
      expect(r.path).toBe('/robot/send');
      expect(r.query.get('access_token')).toBe('dt-token-1');
      const timestamp = r.query.get('timestamp') as string;
      expect(Math.abs(Number(timestamp) - r.at)).toBeLessThan(60_000);
      expect(r.query.get('sign')).toBe(createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64'));
      expect(r.headers['content-type']).toMatch(/^application\/json/);
    }
    const dtTexts = dingtalk.requests.map((_, i) => dingtalk.json(i));
    expect(dtTexts.every((b) => b.msgtype === 'markdown')).toBe(true);
    const forFiring = dtTexts.filter((b) => b.markdown.title.includes('web-7d9f-abcde')).map((b) => b.markdown.title);
    expect(forFiring).toEqual(['[FIRING] PodCrashLooping: Pod shop/web-7d9f-abcde', '[RESOLVED] PodCrashLooping: Pod shop/web-7d9f-abcde']);
    expect(dtTexts[0].markdown.text).toContain('Container app: CrashLoopBackOff, last terminated OOMKilled (exit code 137), 12 restarts, not ready');

    // WeCom: markdown content within 4096 bytes
    expect(wecom.requests.every((r) => r.path === '/cgi-bin/webhook/send' && r.query.get('key') === 'wecom-key-1')).toBe(true);
    for (let i = 0; i < 2; i++) {
      const body = wecom.json(i);
      expect(Object.keys(body)).toEqual(['msgtype', 'markdown']);
      expect(Buffer.byteLength(body.markdown.content)).toBeLessThanOrEqual(4096);
    }
    expect(wecom.json(0).markdown.content).toMatch(/^<font color="warning">🔥 FIRING<\/font>/);
    expect(wecom.json(1).markdown.content).toMatch(/^<font color="info">✅ RESOLVED<\/font>/);

    // Slack: Block Kit with a fallback text
    expect(slack.requests.every((r) => r.path === '/services/T000/B000/slacksecret0123456789')).toBe(true);
    const slackBodies = slack.requests.map((_, i) => slack.json(i));
    for (const b of slackBodies) {
      expect(typeof b.text).toBe('string');
      expect(b.blocks[0].type).toBe('header');
      expect(b.blocks.at(-1).type).toBe('context');
    }
    expect(slackBodies.map((b) => b.text.slice(0, 12)).sort()).toEqual(['[FIRING] Inc', '[FIRING] Pod', '[RESOLVED] P']);

    // webhook: the incident record as JSON, with identifying headers
    expect(webhook.requests[0]?.path).toBe('/kubevents');
    expect(webhook.json(0)).toEqual(incident);
    expect(webhook.requests[0]?.headers).toMatchObject({
      'x-kubevents-kind': 'Incident',
      'x-kubevents-status': 'firing',
      'x-kubevents-idempotency-key': incident.idempotencyKey,
    });

    // Alertmanager: POST /api/v2/alerts; resolved alerts carry endsAt
    expect(alertmanager.requests.every((r) => r.method === 'POST' && r.path === '/api/v2/alerts')).toBe(true);
    const posted = alertmanager.requests.map((_, i) => alertmanager.json(i)[0]);
    const amFiring = posted.find((a) => a.labels.alertname === 'PodCrashLooping' && !a.endsAt);
    const amResolved = posted.find((a) => a.labels.alertname === 'PodCrashLooping' && a.endsAt);
    expect(amFiring).toMatchObject({
      labels: { severity: 'error', namespace: 'shop', source: 'kubevents' },
      startsAt: new Date(firing.startsAt).toISOString(),
      generatorURL: 'https://grafana.example.com/d/kubevents',
    });
    expect(amResolved.endsAt).toBe(new Date(resolved.endsAt as number).toISOString());
    expect(posted.find((a) => a.labels.alertname === 'KubeIncident')).toMatchObject({ labels: { subject: 'Node/node-3', severity: 'critical' } });

    expect(await counterValue(metrics, 'kubevents_alert_notifications_sent_total', {})).toBe(12);
    expect(await counterValue(metrics, 'kubevents_alert_records_total', { outcome: 'routed' })).toBe(5);
  });

  it('retries 5xx, 429 (Retry-After) and throttling errcodes, times out stalled requests, dead-letters what fails for good', async () => {
    const topic = uniq('alerts-retry');
    const deadLetter = uniq('dlq-retry');
    await createTopics({ topic, partitions: 2 }, { topic: deadLetter, partitions: 1 });
    const flaky = await receiverServer((_, i) => (i < 2 ? { status: 500 + i * 2 } : { status: 200 }));
    const limited = await receiverServer((_, i) =>
      i === 0 ? { status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' } : { status: 200, body: 'ok' },
    );
    const slow = await receiverServer((_, i) => (i === 0 ? 'stall' : { status: 200 }));
    const throttled = await receiverServer((_, i) =>
      i === 0 ? { status: 200, body: '{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}' } : ERRCODE_OK,
    );
    const rejecting = await receiverServer(() => ({ status: 400, body: 'bad request: no such channel' }));
    const down = await receiverServer(() => ({ status: 503, body: 'maintenance' }));
    const groupId = uniq('group-retry');
    const yaml = `${baseYaml({ topic, groupId, deadLetter })}
route:
  receiver: flaky
  routes:
    - { matchers: ['target="limited"'], receiver: limited }
    - { matchers: ['target="slow"'], receiver: slow }
    - { matchers: ['target="throttled"'], receiver: throttled }
    - { matchers: ['target="rejecting"'], receiver: rejecting }
    - { matchers: ['target="down"'], receiver: down }
receivers:
  - { name: flaky, type: webhook, url: "${flaky.url}/hook" }
  - { name: limited, type: slack, url: "\${env:SLACK_URL}" }
  - { name: slow, type: webhook, url: "${slow.url}/hook", timeout: 700ms }
  - { name: throttled, type: dingtalk, url: "\${env:DT_URL}" }
  - { name: rejecting, type: webhook, url: "${rejecting.url}/hook" }
  - { name: down, type: alertmanager, url: "${down.url}", retry: { maxAttempts: 3 } }
`;
    const env = { SLACK_URL: `${limited.url}/services/T/B/limitedsecret000000`, DT_URL: `${throttled.url}/robot/send?access_token=t` };
    const targets = ['flaky', 'limited', 'slow', 'throttled', 'rejecting', 'down'];
    const alerts = targets.map((target, i) => alertWith(i, { target }));
    await produce(
      topic,
      alerts.map((value, i) => ({ kind: 'Alert' as const, value, encoding: i % 2 ? 'confluent' : 'avro-binary' })),
    );
    // a record nobody can decode (no encoding headers, not Avro)
    await producer.send({ topic, acks: ACKS_ALL, messages: [{ key: 'garbage', value: Buffer.from('{"not":"avro"}') }] });

    const { service, metrics } = await startService(yaml, env);
    await waitFor('every record committed', () => service.consumer.committed === alerts.length + 1, 90_000);
    expect(await groupCaughtUp(groupId, topic)).toBe(true);

    expect(flaky.requests).toHaveLength(3);
    expect(limited.requests).toHaveLength(2);
    expect((limited.requests[1]?.at ?? 0) - (limited.requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(950); // Retry-After: 1
    expect(slow.requests).toHaveLength(2);
    expect((slow.requests[1]?.at ?? 0) - (slow.requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(650); // the 700 ms timeout
    expect(throttled.requests).toHaveLength(2);
    expect((throttled.requests[1]?.at ?? 0) - (throttled.requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(280); // throttleBackoff
    expect(rejecting.requests).toHaveLength(1);
    expect(down.requests).toHaveLength(3);

    const letters = await readTopic<DeadLetterRecord>(deadLetter, 3);
    const byReason = Object.fromEntries(letters.map((l) => [l.reason, l]));
    expect(Object.keys(byReason).sort()).toEqual(['NotificationRejected', 'NotificationRetriesExhausted', 'UndecodableRecord']);
    expect(byReason['NotificationRejected']).toMatchObject({ stage: 'alert-sink', error: 'HTTP 400: bad request: no such channel', cluster: 'prod-1' });
    expect(byReason['NotificationRejected']?.source).toMatch(new RegExp(`^${topic}\\[\\d\\]@\\d+ -> webhook "rejecting"$`));
    expect(JSON.parse(byReason['NotificationRejected']?.payload as string)).toEqual(alerts[4]);
    expect(byReason['NotificationRetriesExhausted']?.error).toBe('gave up after 3 attempts; last: HTTP 503: maintenance');
    expect(byReason['UndecodableRecord']).toMatchObject({ cluster: 'test-cluster' });
    expect(JSON.parse(byReason['UndecodableRecord']?.payload as string)).toMatchObject({
      key: 'garbage',
      valueBase64: Buffer.from('{"not":"avro"}').toString('base64'),
    });

    expect(await counterValue(metrics, 'kubevents_alert_notification_retries_total', { receiver: 'flaky', cause: 'http_5xx' })).toBe(2);
    expect(await counterValue(metrics, 'kubevents_alert_notification_retries_total', { receiver: 'limited', cause: 'http_429' })).toBe(1);
    expect(await counterValue(metrics, 'kubevents_alert_notification_retries_total', { receiver: 'slow', cause: 'timeout' })).toBe(1);
    expect(await counterValue(metrics, 'kubevents_alert_notification_retries_total', { receiver: 'throttled', cause: 'throttled' })).toBe(1);
    expect(await counterValue(metrics, 'kubevents_alert_notifications_failed_total', { receiver: 'rejecting', cause: 'http_4xx' })).toBe(1);
    expect(await counterValue(metrics, 'kubevents_alert_notifications_failed_total', { receiver: 'down', cause: 'http_5xx' })).toBe(1);
    expect(await counterValue(metrics, 'kubevents_alert_dead_letters_total', {})).toBe(3);
  }, 120_000);

  it('loses nothing and notifies nothing twice across a consumer restart in the same group', async () => {
    const topic = uniq('alerts-restart');
    const deadLetter = uniq('dlq-restart');
    await createTopics({ topic, partitions: 3 }, { topic: deadLetter, partitions: 1 });
    const total = 45;
    const alerts = Array.from({ length: total }, (_, i) => alertWith(i));
    // one record meets a platform that is down (503, Retry-After 30 s) until the gate opens: at the
    // stop, its partition is waiting in a retry backoff, which must end at once without a commit
    const gated = alerts[7]?.idempotencyKey as string;
    let gateOpen = false;
    // a slow platform, so the stop lands in the middle of the stream
    const hook = await receiverServer((r) =>
      r.headers['x-kubevents-idempotency-key'] === gated && !gateOpen
        ? { status: 503, headers: { 'retry-after': '30' }, body: 'down' }
        : { status: 200, delayMs: 60 },
    );
    const delivered = () => hook.requests.filter((r) => r.status === 200).map((r) => r.headers['x-kubevents-idempotency-key']);
    const groupId = uniq('group-restart');
    const yaml = `${baseYaml({ topic, groupId, deadLetter })}
route: { receiver: hook }
receivers:
  - { name: hook, type: webhook, url: "${hook.url}/hook", retry: { maxAttempts: 10, maxRetryAfter: 1m } }
`;
    await produce(
      topic,
      alerts.map((value, i) => ({ kind: 'Alert' as const, value, encoding: i % 3 === 0 ? 'confluent' : 'avro-binary' })),
    );

    const first = await startService(yaml, {});
    await waitFor(
      'a third of the notifications, and the gated one attempted',
      () => delivered().length >= total / 3 && hook.requests.some((r) => r.status === 503),
    );
    const stopStarted = Date.now();
    await first.service.stop();
    const stopMs = Date.now() - stopStarted;
    const deliveredByFirst = delivered().length;
    expect(stopMs).toBeLessThan(10_000); // the 30 s backoff was interrupted
    expect(deliveredByFirst).toBeLessThan(total); // stopped mid-way
    expect(first.service.consumer.committed).toBe(deliveredByFirst); // what was delivered was committed, nothing else
    expect(first.events.find((e) => e.notification?.idempotencyKey === gated)?.result).toBe('aborted');

    gateOpen = true;
    const second = await startService(yaml, {});
    await waitFor('every notification', () => new Set(delivered()).size >= total);
    await waitFor('the group caught up', () => groupCaughtUp(groupId, topic));

    const keys = delivered();
    expect(keys).toHaveLength(total); // no duplicate
    expect(new Set(keys)).toEqual(new Set(alerts.map((a) => a.idempotencyKey))); // no loss
    expect(first.service.consumer.committed + second.service.consumer.committed).toBe(total);
    expect(second.events.every((e) => e.result === 'done' && Object.values(e.outcomes).every((o) => o.kind === 'delivered'))).toBe(true);
    process.stderr.write(
      `[alert-sinks] restart: first member delivered ${deliveredByFirst}/${total}, stopped in ${stopMs} ms; second delivered ${second.service.consumer.committed}\n`,
    );
  }, 120_000);

  it('keeps a member blocked on a slow platform in the group, and lets a rebalance interrupt its retry wait', async () => {
    const topic = uniq('alerts-slow');
    const deadLetter = uniq('dlq-slow');
    await createTopics({ topic, partitions: 2 }, { topic: deadLetter, partitions: 1 });
    const alerts = Array.from({ length: 10 }, (_, i) => alertWith(i, { slow: 'yes' }));
    const gated = alerts[3]?.idempotencyKey as string;
    let gateOpen = false;
    const hook = await receiverServer((r) =>
      r.headers['x-kubevents-idempotency-key'] === gated && !gateOpen ? { status: 503, headers: { 'retry-after': '30' }, body: 'down' } : { status: 200 },
    );
    const delivered = () => hook.requests.filter((r) => r.status === 200).map((r) => r.headers['x-kubevents-idempotency-key']);
    const groupId = uniq('group-slow');
    // the shortest session the broker allows (group.min.session.timeout.ms = 6 s)
    const yaml = `${baseYaml({ topic, groupId, deadLetter })}
route: { receiver: hook }
receivers:
  - { name: hook, type: webhook, url: "${hook.url}/hook", retry: { maxAttempts: 10, maxRetryAfter: 1m } }
`.replace('sessionTimeout: 10s', 'sessionTimeout: 6s');
    await produce(
      topic,
      alerts.map((value) => ({ kind: 'Alert' as const, value, encoding: 'avro-binary' as const })),
    );

    const a = await startService(yaml, {});
    await waitFor('the gated record attempted', () => hook.requests.some((r) => r.status === 503));
    const blockedSince = Date.now();
    // longer than the session timeout: without heartbeats from inside the handler the broker would drop the member
    await waitFor('the session timeout to pass', () => Date.now() - blockedSince > 7_500, 15_000);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([groupId]);
      expect(groups[0]?.state).toBe('Stable');
      expect(groups[0]?.members).toHaveLength(1);
    } finally {
      await admin.disconnect();
    }
    expect(a.service.consumer.joins).toBe(1);

    // the platform is back, but the first member is waiting out a 30 s Retry-After; a second member
    // joins: the rebalance interrupts the wait (uncommitted), and the record is delivered right after
    gateOpen = true;
    const joinStarted = Date.now();
    const b = await startService(yaml, {});
    await waitFor(
      'both members assigned',
      () => (a.service.consumer.assignment?.[topic]?.length ?? 0) === 1 && (b.service.consumer.assignment?.[topic]?.length ?? 0) === 1,
      30_000,
    );
    const rebalanceMs = Date.now() - joinStarted;
    expect(rebalanceMs).toBeLessThan(15_000);
    expect([...a.events, ...b.events].some((e) => e.notification?.idempotencyKey === gated && e.result === 'aborted')).toBe(true);

    await waitFor('every notification', () => new Set(delivered()).size >= alerts.length, 20_000);
    await waitFor('the group caught up', () => groupCaughtUp(groupId, topic));
    expect(delivered()).toHaveLength(alerts.length);
    expect(delivered().filter((k) => k === gated)).toHaveLength(1);
    process.stderr.write(
      `[alert-sinks] slow platform: member kept in the group through ${Math.round((joinStarted - blockedSince) / 1000)} s of retry waits; rebalance with a second member took ${rebalanceMs} ms\n`,
    );
  }, 120_000);

  it('refuses to start when a topic is missing (nothing is created on the fly)', async () => {
    const topic = uniq('alerts-present');
    await createTopics({ topic, partitions: 1 });
    const yaml = `${baseYaml({ topic, groupId: uniq('group-missing'), deadLetter: uniq('dlq-absent') })}
route: { receiver: hook }
receivers:
  - { name: hook, type: webhook, url: "http://127.0.0.1:9/hook" }
`;
    await expect(startService(yaml, {})).rejects.toThrow(/Kafka topic dlq-absent-\w+ does not exist/);
  });

  it('shares the partitions between two consumers of the group, each record notified once', async () => {
    const topic = uniq('alerts-group');
    const deadLetter = uniq('dlq-group');
    const partitions = 4;
    await createTopics({ topic, partitions }, { topic: deadLetter, partitions: 1 });
    const hook = await receiverServer(() => ({ status: 200, delayMs: 10 }));
    const groupId = uniq('group-shared');
    const yaml = `${baseYaml({ topic, groupId, deadLetter })}
route: { receiver: hook }
receivers:
  - { name: hook, type: webhook, url: "${hook.url}/hook" }
`;
    const a = await startService(yaml, {});
    const b = await startService(yaml, {});
    const assigned = (h: Harness) => h.service.consumer.assignment?.[topic] ?? [];
    await waitFor('both members assigned disjoint partitions covering the topic', () => {
      const pa = assigned(a);
      const pb = assigned(b);
      return pa.length > 0 && pb.length > 0 && pa.every((p) => !pb.includes(p)) && new Set([...pa, ...pb]).size === partitions;
    });

    const total = 60;
    const alerts = Array.from({ length: total }, (_, i) => alertWith(i, { member: String(i) }));
    await produce(
      topic,
      alerts.map((value, i) => ({ kind: 'Alert' as const, value, encoding: i % 2 ? 'confluent' : 'avro-binary' })),
    );
    await waitFor('every notification', () => new Set(hook.requests.map((r) => r.headers['x-kubevents-idempotency-key'])).size >= total);
    await waitFor('the group caught up', () => groupCaughtUp(groupId, topic));

    const keys = hook.requests.map((r) => r.headers['x-kubevents-idempotency-key']);
    expect(keys).toHaveLength(total);
    expect(new Set(keys)).toEqual(new Set(alerts.map((x) => x.idempotencyKey)));
    // both members did part of the work, each on its own partitions
    const partitionsOf = (h: Harness) => new Set(h.events.map((e) => e.record.partition));
    expect(a.events.length).toBeGreaterThan(0);
    expect(b.events.length).toBeGreaterThan(0);
    expect(a.events.length + b.events.length).toBe(total);
    expect([...partitionsOf(a)].some((p) => partitionsOf(b).has(p))).toBe(false);
  }, 120_000);
});
