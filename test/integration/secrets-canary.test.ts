/**
 * Secrets never leave. Canary secrets are set through every supported route and every output of
 * the commands is searched for them:
 *
 * - routes: KUBEVENTS_KAFKA_SASL_PASSWORD and KUBEVENTS_SCHEMA_REGISTRY_PASSWORD, kafka.sasl and
 *   schemaRegistry passwordFile (run); the alerts configuration's ${env:NAME} and ${file:PATH}
 *   references, urlFile, secretFile and passwordFile, and webhook / Alertmanager Authorization
 *   headers; the canaries are the real broker password (random per test run, for the runs that
 *   must connect) and made-up ones (a refused password, tokens in webhook URLs, signing secrets);
 * - outputs: stdout and stderr (logs at trace level, the JSON lines and the last line of an
 *   error), `kubevents config print|validate|env`, `kubevents alerts --check` and `--send-test`,
 *   the dead letters the alert sinks write (values, keys and headers), and /metrics (names, labels
 *   and values) of both `kubevents run` and `kubevents alerts`.
 *
 * The receivers' endpoints are a local server that, in "echo" mode, refuses every notification and
 * quotes the request back (its URL with the token, its headers with the Authorization), as a
 * hostile or careless endpoint might: the quote reaches the error texts, the logs and the dead
 * letters, and must be scrubbed there. The commands run as child processes against the real broker
 * (SASL_SSL listener) and control plane of the test environment.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AvroBinaryEncoder, HEADERS, RecordDecoder } from '../../src/avro/encodings.js';
import { loadSchema } from '../../src/avro/schemas.js';
import { ACKS_ALL, createProducer, ensureTopics } from '../../src/kafka/client.js';
import { waitFor } from '../env/scenarios.js';
import { sampleAlert } from '../unit/alerting/fixtures.js';
import { KubeRunHarness, terminate, TopicReader, topicEnv, uniqueTopics } from './support/kube-run.js';

const kubeEnv = inject('kubeEnv');
const kafkaEnv = inject('kafkaEnv');
const sec = kafkaEnv.security;
const h = new KubeRunHarness(kubeEnv, kafkaEnv, 'secrets-canary');
const id = randomUUID().replace(/-/g, '').slice(0, 12);

/** Every canary; none may appear in any output. */
const CANARY = {
  brokerPassword: readFileSync(sec.scramPasswordFile, 'utf8').trim(),
  wrongPassword: `canary-wrong-password-${id}`,
  registryPassword: `canary-registry-password-${id}`,
  registryFilePassword: `canary-registry-file-${id}`,
  dingtalkToken: `canarydingtalktoken${id}`,
  dingtalkSecret: `SECcanary-signing-secret-${id}`,
  wecomKey: `canary-wecom-key-${id}`,
  slackPath: `canary-slack-path-${id}`,
  hookToken: `canary-hook-token-${id}`,
  amAuth: `canary-am-auth-${id}`,
};
const ALL_CANARIES = Object.entries(CANARY);

/** Fails naming the canary and the output it leaked into, with the line around it. */
function expectClean(what: string, text: string): void {
  expect(text.length, `${what}: nothing was captured`).toBeGreaterThan(0);
  for (const [name, value] of ALL_CANARIES) {
    const at = text.indexOf(value);
    if (at >= 0) expect.fail(`${what} leaks the ${name} canary: …${text.slice(Math.max(0, at - 200), at + value.length + 100)}…`);
  }
}

function file(name: string, content: string): string {
  const path = join(h.workDir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** One CLI command to its end: exit code and everything it printed (async: the endpoints live in this process). */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [h.cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, out };
}

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

// ---------------------------------------------------------------------------------------------
// the platforms' endpoints

let mode: 'ok' | 'echo' = 'ok';
const requests: string[] = [];
let platform: Server;
let base = '';

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  requests.push(`${req.method} ${req.url}`);
  const echo = `${req.method} ${req.url} ${JSON.stringify(req.headers)} ${body.slice(0, 200)}`;
  const chat = req.url!.startsWith('/robot') || req.url!.startsWith('/cgi-bin');
  if (mode === 'ok') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(chat ? '{"errcode":0,"errmsg":"ok"}' : 'ok');
  } else if (chat) {
    // DingTalk and WeCom refuse with HTTP 200 and an errcode; this one quotes the request in errmsg
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errcode: 300001, errmsg: `token is not exist: ${echo}` }));
  } else {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`rejected: ${echo}`);
  }
}

const urls = () => ({
  dingtalk: `${base}/robot/send?access_token=${CANARY.dingtalkToken}`,
  wecom: `${base}/cgi-bin/webhook/send?key=${CANARY.wecomKey}`,
  slack: `${base}/services/T0000/B0000/${CANARY.slackPath}`,
});

/** The alerts configuration: every secret route, every receiver type, each record to all of them. */
function alertsConfig(o: { topic: string; deadLetter: string; groupId: string }): string {
  const u = urls();
  const wecomUrlFile = file('wecom-url', `${u.wecom}\n`);
  const slackUrlFile = file('slack-url', `${u.slack}\n`);
  const dtSecretFile = file('dingtalk-secret', `${CANARY.dingtalkSecret}\n`);
  const amAuthFile = file('am-auth', `Bearer ${CANARY.amAuth}\n`);
  const every = (receiver: string) => `    - { matchers: ['status=~".+"'], receiver: ${receiver}, continue: true }`;
  const once = '{ maxAttempts: 1 }';
  return file(
    `alerts-${randomUUID().slice(0, 6)}.yaml`,
    `kafka:
  brokers: [${sec.saslSslBrokers.join(', ')}]
  tls: { caFile: ${sec.caFile} }
  sasl: { mechanism: scram-sha-512, username: ${sec.scramUsername}, passwordFile: ${sec.scramPasswordFile} }
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
  routes:
${['dt', 'wc', 'sl', 'hook', 'am'].map(every).join('\n')}
receivers:
  - { name: dt, type: dingtalk, url: "\${env:CANARY_DINGTALK_URL}", secretFile: ${dtSecretFile}, retry: ${once}, rateLimit: null }
  - { name: wc, type: wecom, url: "\${file:${wecomUrlFile}}", retry: ${once}, rateLimit: null }
  - { name: sl, type: slack, urlFile: ${slackUrlFile}, retry: ${once}, rateLimit: null }
  - { name: hook, type: webhook, url: "${base}/hook", headers: { Authorization: "\${env:CANARY_HOOK_AUTH}", X-Team: platform }, retry: ${once} }
  - { name: am, type: alertmanager, url: "${base}/am", headers: { Authorization: "\${file:${amAuthFile}}" }, retry: ${once} }
`,
  );
}
const ALERTS_ENV = () => ({ CANARY_DINGTALK_URL: urls().dingtalk, CANARY_HOOK_AUTH: `Bearer ${CANARY.hookToken}` });

beforeAll(async () => {
  h.setup();
  platform = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => platform.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(platform.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => platform.close(resolve));
  await h.cleanup();
});

// ---------------------------------------------------------------------------------------------

describe('secrets never leave', () => {
  it('kubevents config print / validate / env: secrets from the environment and from files are redacted; refused ones are never quoted', async () => {
    const regFile = file('registry-password', `${CANARY.registryFilePassword}\n`);
    const kafkaFile = file('kafka-password', `${CANARY.wrongPassword}\n`);
    const config = file(
      'run.yaml',
      `kafka:
  brokers: [kafka-0:9092]
  sasl: { mechanism: scram-sha-512, username: kubevents }
schemaRegistry: { url: "http://registry:8081", username: kv }
`,
    );
    const withFiles = file(
      'run-files.yaml',
      `kafka:
  brokers: [kafka-0:9092]
  sasl: { mechanism: scram-sha-512, username: kubevents, passwordFile: ${kafkaFile} }
schemaRegistry: { url: "http://registry:8081", username: kv, passwordFile: ${regFile} }
`,
    );
    const inline = file(
      'run-inline.yaml',
      `kafka:\n  brokers: [kafka-0:9092]\n  sasl: { mechanism: plain, username: u, password: "${CANARY.wrongPassword}" }\n`,
    );
    const env = { KUBEVENTS_KAFKA_SASL_PASSWORD: CANARY.wrongPassword, KUBEVENTS_SCHEMA_REGISTRY_PASSWORD: CANARY.registryPassword };
    const runs: Array<{ what: string; args: string[]; env: Record<string, string>; code: number }> = [
      { what: 'config print (env)', args: ['config', 'print', '--config', config], env, code: 0 },
      { what: 'config validate (env)', args: ['config', 'validate', '--config', config], env, code: 0 },
      { what: 'config env', args: ['config', 'env'], env, code: 0 },
      { what: 'config print (passwordFile)', args: ['config', 'print', '--config', withFiles], env: {}, code: 0 },
      { what: 'config print (env and passwordFile both: an error)', args: ['config', 'print', '--config', withFiles], env, code: 2 },
      { what: 'config print (a password inline: refused)', args: ['config', 'print', '--config', inline], env: {}, code: 2 },
      {
        what: 'config print (a secret variable of a bad shape)',
        args: ['config', 'print'],
        env: { KUBEVENTS_KAFKA_SASL_PASSWORD: CANARY.wrongPassword },
        code: 2,
      },
    ];
    for (const r of runs) {
      const { code, out } = await cli(r.args, r.env);
      expect(code, `${r.what}:\n${out}`).toBe(r.code);
      expectClean(r.what, out);
    }
    // the redaction is visible where a secret was set
    expect((await cli(['config', 'print', '--config', config], env)).out).toMatch(/password: .?\[redacted\]/);
  });

  it('kubevents alerts --check and --send-test (delivered, and refused by an endpoint that quotes the request back), at trace level', async () => {
    const config = alertsConfig({ topic: 'unused', deadLetter: 'unused-dl', groupId: 'unused' });
    const check = await cli(['alerts', '--config', config, '--check', '--log-level', 'trace'], ALERTS_ENV());
    expect(check.code, check.out).toBe(0);
    expect(check.out).toMatch(/dingtalk "dt"/);
    expectClean('alerts --check', check.out);
    for (const m of ['ok', 'echo'] as const) {
      mode = m;
      for (const receiver of ['dt', 'wc', 'sl', 'hook', 'am']) {
        const before = requests.length;
        const r = await cli(['alerts', '--config', config, '--send-test', receiver, '--log-level', 'trace'], ALERTS_ENV());
        expect(r.code, `${receiver} (${m}):\n${r.out}`).toBe(m === 'ok' ? 0 : 1);
        expect(requests.length, `${receiver} reached the endpoint`).toBeGreaterThan(before);
        expectClean(`alerts --send-test ${receiver} (${m})`, r.out);
      }
    }
    // the tokens did reach the endpoints: the canaries were live
    expect(requests.some((r) => r.includes(CANARY.dingtalkToken))).toBe(true);
    expect(requests.some((r) => r.includes(CANARY.wecomKey))).toBe(true);
  });

  it('kubevents alerts over SASL_SSL: logs at trace level, dead letters and /metrics hold no secret, with every receiver refusing and quoting it back', async () => {
    mode = 'echo';
    const topic = `canary-alerts-${id}`;
    const deadLetter = `canary-dl-${id}`;
    const admin = h.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(
        admin,
        [topic, deadLetter].map((t) => ({ topic: t, partitions: 1, replicationFactor: 1 })),
      );
    } finally {
      await admin.disconnect();
    }
    const config = alertsConfig({ topic, deadLetter, groupId: `canary-${id}` });
    const port = await freePort();
    const proc = spawn(
      process.execPath,
      [h.cli, 'alerts', '--config', config, '--log-level', 'trace', '--metrics-address', '127.0.0.1', '--metrics-port', String(port)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...ALERTS_ENV() },
      },
    );
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const reader = await TopicReader.start(h.kafka, [deadLetter]);
    try {
      await waitFor(() => out.includes('joined the consumer group') || proc.exitCode !== null, 60_000, 'the alert sinks to join their group');
      expect(proc.exitCode, out).toBeNull();
      const producer = createProducer(h.kafka);
      await producer.connect();
      const alert = sampleAlert({ summary: `canary run ${id}` });
      const encoded = await new AvroBinaryEncoder().encode(loadSchema('Alert'), topic, alert);
      await producer.send({
        topic,
        acks: ACKS_ALL,
        messages: [
          {
            key: alert.alertId,
            value: encoded.value,
            headers: { ...encoded.headers, [HEADERS.kind]: 'Alert', [HEADERS.idempotencyKey]: alert.idempotencyKey },
          },
        ],
      });
      await producer.disconnect();
      // one dead letter per receiver: each refused the notification for good
      await waitFor(() => reader.of(deadLetter).length >= 5, 60_000, 'five dead letters');
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/kubevents_alert_dead_letters_total\{[^}]*\} 5/);
      expectClean('alerts /metrics', metrics);

      const decoder = new RecordDecoder();
      const letters = await Promise.all(reader.of(deadLetter).map((r) => decoder.decode(r.value, r.headers)));
      const text = [
        ...letters.map((l) => JSON.stringify(l.value)),
        ...reader.of(deadLetter).map((r) => `${r.key} ${JSON.stringify(r.headers)} ${r.value.toString('latin1')}`),
      ].join('\n');
      // the endpoints did quote the secrets back: the dead letters say why, without them
      expect(text).toMatch(/token is not exist|rejected: POST/);
      expectClean('dead letters', text);
    } finally {
      proc.kill('SIGTERM');
      await exited;
      await reader.close();
    }
    // the most verbose output was written (the code logs nothing below debug: trace shows the same)
    expect(out).toMatch(/"level":20/);
    expectClean('alerts logs (trace)', out);
  }, 180_000);

  it('kubevents run --source kube over SASL_SSL at trace level: logs, /metrics and, with a refused password, the error line hold no secret', async () => {
    const ns = await h.newNamespace('canary');
    const topics = uniqueTopics('canary');
    const config = file(
      'run-sasl.yaml',
      `cluster: canary
source:
  kube:
    kubeconfig: ${kubeEnv.kubeconfigPath}
    namespaces: [${ns}]
kafka:
  brokers: [${sec.saslSslBrokers.join(', ')}]
  tls: { caFile: ${sec.caFile} }
  sasl: { mechanism: scram-sha-512, username: ${sec.scramUsername} }
encoding: avro-binary
checkpoint:
  store: kafka
  interval: 200ms
`,
    );
    const job = h.spawn(['--config', config, '--create-topics', '--log-level', 'trace'], {
      ...topicEnv(topics),
      KUBEVENTS_KAFKA_SASL_PASSWORD: CANARY.brokerPassword,
    });
    await job.waitForLog('live job running', 90_000);
    await h.createEvent(ns, 'canary-1', 'CanaryReason', 'ghost-1');
    const serving = job.log('serving /metrics, /healthz and /readyz');
    const metrics = await (await fetch(`${String(serving!['url'])}/metrics`)).text();
    expect(metrics).toMatch(/kubevents_/);
    expectClean('run /metrics', metrics);
    await waitFor(() => job.logs.some((l) => l.level === 20), 30_000, 'a debug line');
    const stopped = await terminate(job);
    expect(stopped.code, job.tail()).toBe(0);
    expectClean('run logs (trace)', [...job.stderrText, ...job.stdoutLines].join('\n'));

    // a refused password: exit 2 with one line naming the broker and what to fix, no password in it
    const refused = h.spawn(['--config', config, '--log-level', 'trace'], { ...topicEnv(topics), KUBEVENTS_KAFKA_SASL_PASSWORD: CANARY.wrongPassword });
    const exit = await refused.exited;
    expect(exit.code, refused.tail()).toBe(2);
    expect(refused.stderrText.at(-1)).toMatch(/rejected the SASL SCRAM-SHA-512 login/);
    expectClean('run with a refused password', [...refused.stderrText, ...refused.stdoutLines].join('\n'));
  }, 240_000);
});
