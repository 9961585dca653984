/**
 * Kafka over TLS and SASL on the REAL broker of the test environment (test/env/kafka.sh): its
 * SASL_SSL listener (TLS + SCRAM-SHA-512) and its mTLS listener (client certificates required),
 * with certificates made by openssl for the run, next to the PLAINTEXT listener the other suites use.
 *
 * The commands run as child processes, exactly as deployed (the CLI transpiled, no build):
 *
 * 1. `kubevents run --source kube --config FILE` over SASL_SSL, the password from
 *    KUBEVENTS_KAFKA_SASL_PASSWORD: every Event occurrence on the events topic (read back through
 *    SASL_SSL), the checkpoint on the Kafka checkpoint topic; a restart reads the checkpoint back
 *    through SASL_SSL, resumes from it and publishes nothing twice. The password appears in no output.
 * 2. the same over mTLS, the TLS files given as KUBEVENTS_KAFKA_TLS_* variables;
 * 3. `kubevents alerts --config FILE` over SASL_SSL (password from kafka.sasl.passwordFile) and over
 *    mTLS: an Alert produced through the secured listener reaches a webhook, the offset is committed;
 * 4. the errors: a wrong password, an unknown CA, an expired broker certificate and a host name
 *    mismatch each end both commands with one line naming the broker and what to fix, and exit 2;
 *    a missing client certificate on the mTLS listener and an unreadable CA file likewise; an
 *    unreachable broker exits 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AvroBinaryEncoder, HEADERS } from '../../src/avro/encodings.js';
import { loadSchema } from '../../src/avro/schemas.js';
import { ACKS_ALL, createKafka, createProducer, ensureTopics, type Kafka, type KafkaClientConfig } from '../../src/kafka/client.js';
import type { Alert } from '../../src/model/alert.js';
import { waitFor } from '../env/scenarios.js';
import { sampleAlert } from '../unit/alerting/fixtures.js';
import {
  byIdempotencyKey,
  checkpointsIn,
  expectedKeys,
  inParallel,
  KubeRunHarness,
  keysIn,
  maxRv,
  terminate,
  TopicReader,
  topicEnv,
  uniqueTopics,
  type Created,
  type JobProcess,
  type Topics,
} from './support/kube-run.js';

const kubeEnv = inject('kubeEnv');
const kafkaEnv = inject('kafkaEnv');
const sec = kafkaEnv.security;
const h = new KubeRunHarness(kubeEnv, kafkaEnv, 'kafka-secure');
const PASSWORD = readFileSync(sec.scramPasswordFile, 'utf8').trim();
const SASL_BROKER = sec.saslSslBrokers[0]!;
const MTLS_BROKER = sec.mtlsBrokers[0]!;

/** The test's own clients on the secured listeners. */
const saslClient: KafkaClientConfig = {
  brokers: sec.saslSslBrokers,
  clientId: 'kafka-secure-test',
  tls: { caFile: sec.caFile },
  sasl: { mechanism: sec.scramMechanism, username: sec.scramUsername, password: PASSWORD },
};
const mtlsClient: KafkaClientConfig = {
  brokers: sec.mtlsBrokers,
  clientId: 'kafka-secure-test',
  tls: { caFile: sec.caFile, certFile: sec.clientCertFile, keyFile: sec.clientKeyFile },
};

const children: ChildProcess[] = [];
const closers: Array<() => Promise<unknown>> = [];

beforeAll(() => h.setup());
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.allSettled(closers.map((close) => close()));
  await h.cleanup();
});

function writeFile(name: string, text: string): string {
  const path = join(h.workDir, name);
  writeFileSync(path, text);
  return path;
}

/** A `kubevents run --source kube` configuration file; `kafka` is the YAML of its kafka section (indented 2). */
function runConfig(name: string, ns: string, kafka: string): string {
  return writeFile(
    name,
    `cluster: secure
source:
  kube:
    kubeconfig: ${kubeEnv.kubeconfigPath}
    namespaces: [${ns}]
kafka:
${kafka}
encoding: avro-binary
checkpoint:
  store: kafka
  interval: 200ms
`,
  );
}

function startRun(config: string, env: Record<string, string>, extra: string[] = []): JobProcess {
  return h.spawn(['--config', config, '--shutdown-timeout', '10', ...extra], env);
}

async function createTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(
      admin,
      topics.map((topic) => ({ topic, partitions: 2, replicationFactor: 1 })),
    );
  } finally {
    await admin.disconnect();
  }
}

async function reader(client: KafkaClientConfig, topics: string[]): Promise<TopicReader> {
  const r = await TopicReader.start(createKafka(client), topics);
  closers.push(() => r.close());
  return r;
}

async function createEvents(ns: string, prefix: string, n: number, bumps: number): Promise<Created[]> {
  const reason = `Secure${randomUUID().slice(0, 6)}`;
  const created: Created[] = [];
  await inParallel(n, 4, async (i) => {
    created.push(await h.createEvent(ns, `${prefix}-${i}`, reason, `ghost-${i % 3}`));
  });
  await inParallel(bumps, 4, async (i) => h.bumpEvent(ns, created[i]!, 2));
  return created;
}

async function allOnTopic(r: TopicReader, topic: string, expected: Map<string, string>): Promise<void> {
  await waitFor(
    () => {
      const seen = keysIn(r.of(topic));
      return [...expected.keys()].every((k) => seen.has(k));
    },
    60_000,
    `all ${expected.size} occurrences on ${topic}`,
  );
}

function expectNoSecret(job: { stderrText: string[]; stdoutLines?: string[] }, secret: string): void {
  const all = [...job.stderrText, ...(job.stdoutLines ?? [])].join('\n');
  expect(all.includes(secret), 'a secret appeared in the output').toBe(false);
}

// ---------------------------------------------------------------------------------------------
// kubevents alerts as a child process

interface AlertsProcess {
  proc: ChildProcess;
  stderr: string[];
  exited: Promise<number | null>;
}

function startAlerts(config: string, env: Record<string, string> = {}, logLevel = 'info'): AlertsProcess {
  const proc = spawn(process.execPath, [h.cli, 'alerts', '--config', config, '--no-metrics', '--log-level', logLevel], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(proc);
  const stderr: string[] = [];
  let partial = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    stderr.push(...lines);
  });
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      if (partial) stderr.push(partial);
      resolve(code);
    }),
  );
  return { proc, stderr, exited };
}

function alertsConfig(name: string, kafka: string, o: { topic: string; deadLetter: string; groupId: string; webhook: string }): string {
  return writeFile(
    name,
    `kafka:
${kafka}
consumer:
  groupId: ${o.groupId}
  topics: [${o.topic}]
  fromBeginning: true
  sessionTimeout: 10s
  heartbeatInterval: 1s
deadLetter:
  topic: ${o.deadLetter}
route:
  receiver: hook
receivers:
  - { name: hook, type: webhook, url: "${o.webhook}/kubevents", retry: { maxAttempts: 2, initialBackoff: 100ms } }
`,
  );
}

async function webhookServer(): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

async function produceAlert(client: KafkaClientConfig, topic: string, alert: Alert): Promise<void> {
  const producer = createProducer(createKafka(client));
  await producer.connect();
  try {
    const encoded = await new AvroBinaryEncoder().encode(loadSchema('Alert'), topic, alert);
    await producer.send({
      topic,
      acks: ACKS_ALL,
      messages: [
        {
          key: alert.alertId,
          value: encoded.value,
          headers: { ...encoded.headers, [HEADERS.kind]: 'Alert', [HEADERS.cluster]: alert.cluster, [HEADERS.idempotencyKey]: alert.idempotencyKey },
        },
      ],
    });
  } finally {
    await producer.disconnect();
  }
}

async function committed(client: KafkaClientConfig, groupId: string, topic: string): Promise<boolean> {
  const admin = createKafka(client).admin();
  await admin.connect();
  try {
    const [ends, offsets] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const byPartition = new Map((offsets[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
    return ends.every((e) => e.high === '0' || byPartition.get(e.partition) === e.high);
  } finally {
    await admin.disconnect();
  }
}

const SASL_YAML = (password: 'env' | 'file' | string = 'env', caFile = sec.caFile, broker = SASL_BROKER) =>
  `  brokers: [${broker}]
  tls: { caFile: ${caFile} }
  sasl: { mechanism: scram-sha-512, username: ${sec.scramUsername}${password === 'file' ? `, passwordFile: ${sec.scramPasswordFile}` : password === 'env' ? '' : `, password: "${password}"`} }`;

// ---------------------------------------------------------------------------------------------

describe('kubevents run --source kube over TLS and SASL', () => {
  it('SASL_SSL (SCRAM-SHA-512): events and checkpoints through the secured listener; a restart resumes from the checkpoint it reads back', async () => {
    const ns = await h.newNamespace('sec-sasl');
    const topics: Topics = uniqueTopics('sec-sasl');
    const config = runConfig('run-sasl.yaml', ns, SASL_YAML('env'));
    const env = { ...topicEnv(topics), KUBEVENTS_KAFKA_SASL_PASSWORD: PASSWORD };
    // --create-topics: the job's admin client creates them through SASL_SSL
    const job = startRun(config, env, ['--create-topics']);
    await job.waitForLog('live job running');
    const r = await reader(saslClient, [topics.events, topics.checkpoints]);

    const created = await createEvents(ns, 'sasl', 12, 4);
    const expected = expectedKeys(created);
    expect(expected.size).toBe(16);
    await allOnTopic(r, topics.events, expected);
    // the checkpoint store (compacted topic) got a resume point past every occurrence
    const last = maxRv(expected.values());
    await waitFor(() => checkpointsIn(r, topics.checkpoints).some((c) => BigInt(c.resourceVersion) >= last), 30_000, `a checkpoint at or after ${last}`);
    const stopped = await terminate(job);
    expect(stopped.code, job.tail()).toBe(0);
    expectNoSecret(job, PASSWORD);

    // restart: the checkpoint is read back through SASL_SSL and the watch resumes from it
    await r.catchUp();
    const saved = checkpointsIn(r, topics.checkpoints).at(-1)!.resourceVersion;
    const again = startRun(config, env);
    const resumed = await again.waitForLog('resuming from checkpoint');
    expect(resumed['resourceVersion']).toBe(saved);
    await again.waitForLog('live job running');
    const more = await createEvents(ns, 'sasl-after', 3, 0);
    await allOnTopic(r, topics.events, expectedKeys(more));
    await r.catchUp();
    const byKey = await byIdempotencyKey(r.of(topics.events));
    for (const key of [...expected.keys(), ...expectedKeys(more).keys()]) expect(byKey.has(key), key).toBe(true);
    for (const [key, copies] of byKey) expect(copies.length, `${key} published more than once`).toBe(1);
    expect((await terminate(again)).code, again.tail()).toBe(0);
    expectNoSecret(again, PASSWORD);
  });

  it('mTLS (client certificate, TLS files from KUBEVENTS_KAFKA_TLS_*): events and checkpoints through the secured listener', async () => {
    const ns = await h.newNamespace('sec-mtls');
    const topics: Topics = uniqueTopics('sec-mtls');
    await createTopics(createKafka(mtlsClient), [topics.events, topics.alerts, topics.incidents, topics.gaps, topics.deadLetters]);
    const config = runConfig('run-mtls.yaml', ns, `  brokers: [${MTLS_BROKER}]`);
    const job = startRun(config, {
      ...topicEnv(topics),
      KUBEVENTS_KAFKA_TLS_CA_FILE: sec.caFile,
      KUBEVENTS_KAFKA_TLS_CERT_FILE: sec.clientCertFile,
      KUBEVENTS_KAFKA_TLS_KEY_FILE: sec.clientKeyFile,
    });
    await job.waitForLog('live job running');
    const r = await reader(mtlsClient, [topics.events, topics.checkpoints]);
    const created = await createEvents(ns, 'mtls', 8, 2);
    const expected = expectedKeys(created);
    await allOnTopic(r, topics.events, expected);
    const last = maxRv(expected.values());
    await waitFor(() => checkpointsIn(r, topics.checkpoints).some((c) => BigInt(c.resourceVersion) >= last), 30_000, `a checkpoint at or after ${last}`);
    const byKey = await byIdempotencyKey(r.of(topics.events));
    for (const key of expected.keys()) expect(byKey.get(key)?.length, key).toBe(1);
    expect((await terminate(job)).code, job.tail()).toBe(0);
  });
});

describe('kubevents alerts over TLS and SASL', () => {
  for (const variant of ['SASL_SSL', 'mTLS'] as const) {
    it(`${variant}: an Alert produced through the secured listener reaches the webhook and its offset is committed`, async () => {
      const client = variant === 'SASL_SSL' ? saslClient : mtlsClient;
      const id = randomUUID().slice(0, 8);
      const topic = `sec-alerts-${id}`;
      const deadLetter = `sec-dlq-${id}`;
      const groupId = `sec-alerts-${id}`;
      await createTopics(createKafka(client), [topic, deadLetter]);
      const webhook = await webhookServer();
      const kafka =
        variant === 'SASL_SSL'
          ? SASL_YAML('file')
          : `  brokers: [${MTLS_BROKER}]\n  tls: { caFile: ${sec.caFile}, certFile: ${sec.clientCertFile}, keyFile: ${sec.clientKeyFile} }`;
      const alerts = startAlerts(alertsConfig(`alerts-${variant}.yaml`, kafka, { topic, deadLetter, groupId, webhook: webhook.url }));
      await waitFor(
        () => {
          if (alerts.proc.exitCode !== null) throw new Error(`kubevents alerts exited ${alerts.proc.exitCode}:\n${alerts.stderr.slice(-20).join('\n')}`);
          return alerts.stderr.some((l) => l.includes('"alert sinks started"'));
        },
        60_000,
        'kubevents alerts to start',
      );
      const alert = sampleAlert({ labels: { alertname: `Secure${id}`, cluster: 'secure', namespace: 'shop', kind: 'Pod', name: 'web-1' } });
      await produceAlert(client, topic, alert);
      await waitFor(() => webhook.bodies.some((b) => b.includes(`Secure${id}`)), 60_000, 'the alert at the webhook');
      await waitFor(() => committed(client, groupId, topic), 30_000, 'the offset committed');
      alerts.proc.kill('SIGTERM');
      expect(await alerts.exited, alerts.stderr.slice(-20).join('\n')).toBe(0);
      expect(alerts.stderr.join('\n').includes(PASSWORD)).toBe(false);
    });
  }
});

describe('TLS and SASL errors: one line naming the broker and the fix', () => {
  interface Case {
    name: string;
    /** the kafka section (YAML, indented 2) for both commands */
    kafka: string;
    /** the alerts command's kafka section when it differs (default: kafka) */
    alertsKafka?: string;
    env?: Record<string, string>;
    /** the last line of stderr of `kubevents run` */
    run: string;
    /** the line before it, when the run reports a configuration problem at its position */
    runBefore?: RegExp;
    /** the last line of stderr of `kubevents alerts` (default: as run) */
    alerts?: string;
    code: number;
  }
  const WRONG = `wrong-${randomUUID().slice(0, 8)}`;
  const [expired, wrongHost] = [sec.expiredCertBrokers[0]!, sec.wrongHostBrokers[0]!];
  const MISSING_CA = join(tmpdir(), `kv-no-such-ca-${randomUUID().slice(0, 8)}.pem`);
  const cases: Case[] = [
    {
      name: 'a wrong password',
      // the run reads the password from KUBEVENTS_KAFKA_SASL_PASSWORD, the alerts config from a ${env:...} reference
      kafka: SASL_YAML('env'),
      alertsKafka: SASL_YAML(`\${env:KAFKA_PASSWORD}`),
      env: { KAFKA_PASSWORD: WRONG, KUBEVENTS_KAFKA_SASL_PASSWORD: WRONG },
      run: `kubevents: Kafka broker ${SASL_BROKER} rejected the SASL SCRAM-SHA-512 login of user "kubevents": wrong username or password; check kafka.sasl.username and the password (KUBEVENTS_KAFKA_SASL_PASSWORD)`,
      alerts: `kubevents: Kafka broker ${SASL_BROKER} rejected the SASL SCRAM-SHA-512 login of user "kubevents": wrong username or password; check kafka.sasl.username and the password (kafka.sasl.password or kafka.sasl.passwordFile)`,
      code: 2,
    },
    {
      name: 'an unknown CA',
      kafka: SASL_YAML('file', sec.otherCaFile),
      run: `kubevents: Kafka broker ${SASL_BROKER} presented a TLS certificate not signed by the CA in kafka.tls.caFile ${sec.otherCaFile} (self-signed certificate in certificate chain): set kafka.tls.caFile to the PEM file of the CA that signed the broker's certificate`,
      code: 2,
    },
    {
      name: 'an expired broker certificate',
      kafka: `  brokers: [${expired}]\n  tls: { caFile: ${sec.caFile} }`,
      run: `kubevents: Kafka broker ${expired} presented an expired TLS certificate (certificate has expired): renew the broker's certificate, and check this machine's clock`,
      code: 2,
    },
    {
      name: 'a host name mismatch',
      kafka: `  brokers: [${wrongHost}]\n  tls: { caFile: ${sec.caFile} }`,
      run: `kubevents: Kafka broker ${wrongHost} presented a TLS certificate that does not name the address connected to (Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list): list the brokers in kafka.brokers by a name the certificate holds, or set kafka.tls.servername to one; else reissue the certificate with this address`,
      code: 2,
    },
    {
      name: 'no client certificate on the mTLS listener',
      kafka: `  brokers: [${MTLS_BROKER}]\n  tls: { caFile: ${sec.caFile} }`,
      run: `kubevents: Kafka broker ${MTLS_BROKER} requires a client certificate (TLS alert: bad certificate): set kafka.tls.certFile and kafka.tls.keyFile`,
      code: 2,
    },
    {
      name: 'an unreadable CA file',
      kafka: `  brokers: [${MTLS_BROKER}]\n  tls: { caFile: ${MISSING_CA} }`,
      // the run's configuration is checked before it connects: the problem at its file:line, then the fix
      runBefore: new RegExp(
        `^  \\S+\\.yaml:8:18: kafka\\.tls\\.caFile: cannot read the CA certificate ${MISSING_CA.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file$`,
      ),
      run: `    hint: correct the path, or mount the file (a Secret volume) there`,
      alerts: `kubevents: cannot read kafka.tls.caFile ${MISSING_CA} (ENOENT): it must name a readable file holding a PEM certificate`,
      code: 2,
    },
  ];

  it.each(cases)('$name: both commands exit $code with one explanation', async (c) => {
    const started = Date.now();
    const topic = `sec-err-${randomUUID().slice(0, 8)}`;
    const run = startRun(
      runConfig(`err-run-${randomUUID().slice(0, 6)}.yaml`, 'default', c.kafka),
      { ...topicEnv(uniqueTopics('sec-err')), ...(c.env ?? {}) },
      ['--log-level', 'debug'],
    );
    const alerts = startAlerts(
      alertsConfig(`err-alerts-${randomUUID().slice(0, 6)}.yaml`, c.alertsKafka ?? c.kafka, {
        topic,
        deadLetter: topic,
        groupId: topic,
        webhook: 'http://127.0.0.1:9',
      }),
      c.env ?? {},
      'debug',
    );
    const [runExit, alertsCode] = await Promise.all([run.exited, alerts.exited]);
    const runLines = run.stderrText.filter((l) => l.length > 0);
    const alertsLines = alerts.stderr.filter((l) => l.length > 0);
    expect(runExit.code, run.tail()).toBe(c.code);
    expect(runLines.at(-1)).toBe(c.run);
    if (c.runBefore) expect(runLines.at(-2)).toMatch(c.runBefore);
    expect(alertsCode, alertsLines.slice(-5).join('\n')).toBe(c.code);
    expect(alertsLines.at(-1)).toBe(c.alerts ?? c.run);
    // one explanation, not repeated; even at debug level no password is printed
    expect(runLines.filter((l) => l.startsWith('kubevents:'))).toHaveLength(1);
    expect(alertsLines.filter((l) => l.startsWith('kubevents:'))).toHaveLength(1);
    for (const secret of [PASSWORD, WRONG]) {
      expectNoSecret(run, secret);
      expect(alerts.stderr.join('\n').includes(secret)).toBe(false);
    }
    process.stderr.write(`[kafka-secure] ${c.name}: both commands exited ${c.code} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });

  it('an unreachable broker: exit 1, with what to check', async () => {
    const run = startRun(
      runConfig('err-unreachable.yaml', 'default', '  brokers: [127.0.0.1:1]\n  connectionTimeoutMs: 1000'),
      topicEnv(uniqueTopics('sec-err')),
    );
    const exit = await run.exited;
    expect(exit.code, run.tail()).toBe(1);
    expect(run.stderrText.filter((l) => l.length > 0).at(-1)).toBe(
      'kubevents: cannot reach Kafka broker 127.0.0.1:1 (connection refused): check kafka.brokers (host:port of a listener) and that the broker is up',
    );
  });
});
