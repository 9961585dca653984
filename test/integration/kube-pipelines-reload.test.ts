/**
 * `kubevents run --source kube --pipelines DIR` on the real stack (test/env: a real kube-apiserver
 * and a real Kafka broker), and SIGHUP reloading the pipeline files while Events flow.
 *
 * Two pipelines: `all-events` (every event to one topic; never changes, so it keeps running across
 * the reloads) and `team` (Warnings to a topic, a rate alert to another). The job runs as a child
 * process exactly as deployed; `--create-topics` creates the topics the pipelines name.
 *
 * 1. the pipelines' topics get their records (the kind topics of the configuration stay for gaps and
 *    dead letters);
 * 2. an invalid rewrite of `team` + SIGHUP: refused, the error logged with file:line:col, the process
 *    keeps running the old version;
 * 3. a valid rewrite + SIGHUP during a burst of Events: the new version's outputs, the retired
 *    version's firing alert resolved, every Event occurrence exactly once on the all-events topic
 *    (none lost, none twice across the reload), the checkpoint still advancing; SIGTERM exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventsV1Api, V1MicroTime, type EventsV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HEADERS, RecordDecoder } from '../../src/avro/encodings.js';
import { createKafka, ensureTopics, headersToStrings, type Consumer, type Kafka } from '../../src/kafka/client.js';
import type { Alert } from '../../src/model/alert.js';
import type { KubeEvent } from '../../src/model/kube-event.js';
import { createNamespace, deleteNamespace, kubeConfigFor, uniqueName, waitFor } from '../env/scenarios.js';
import { transpileTree } from '../support/transpile.js';

const kubeEnv = inject('kubeEnv');
const kafkaEnv = inject('kafkaEnv');
const kc = kubeConfigFor(kubeEnv);
const eventsApi = kc.makeApiClient(EventsV1Api);
const kafka: Kafka = createKafka({ brokers: kafkaEnv.brokers, clientId: 'kube-pipelines-reload-test' });
const decoder = new RecordDecoder();

let cli: string;
let workDir: string;
const children: ChildProcess[] = [];
const consumers: Consumer[] = [];
const namespaces: string[] = [];

beforeAll(() => {
  cli = transpileTree('src/cli/main.ts');
  workDir = mkdtempSync(join(tmpdir(), 'kv-kube-pipelines-'));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.allSettled(consumers.map((c) => c.disconnect()));
  await Promise.allSettled(namespaces.map((ns) => deleteNamespace(kc, ns)));
  rmSync(workDir, { recursive: true, force: true });
});

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

interface Consumed {
  topic: string;
  headers: Record<string, string>;
  value: Buffer;
}

function pipelineAll(topic: string): string {
  return `apiVersion: kubevents/v1
kind: Pipeline
metadata: {name: all-events}
spec:
  sinks:
    - kafka: {topic: ${topic}}
`;
}

/** `team`: Warnings to `warnings`, >= 3 events of reason `burst` on one object in 5 minutes -> an alert. */
function pipelineTeam(warnings: string, alerts: string, burst: string, stage = 'filter'): string {
  return `apiVersion: kubevents/v1
kind: Pipeline
metadata: {name: team}
spec:
  stages:
    - fork:
        - name: warnings
          stages:
            - ${stage}: {type: Warning}
          sinks:
            - kafka: {topic: ${warnings}}
        - name: burst
          stages:
            - filter: {reason: ${burst}}
            - rate: {alertname: ${burst}, threshold: 3, window: 5m}
          sinks:
            - kafka: {topic: ${alerts}}
`;
}

async function createEvent(ns: string, reason: string, type: 'Normal' | 'Warning', regarding: string): Promise<{ key: string; rv: string }> {
  const event: EventsV1Event = await eventsApi.createNamespacedEvent({
    namespace: ns,
    body: {
      metadata: { name: `${regarding}.${randomUUID().slice(0, 8)}` },
      eventTime: new V1MicroTime(),
      reportingController: 'kubevents.test/kube-pipelines-reload',
      reportingInstance: 'kube-pipelines-reload-test',
      action: 'Testing',
      reason,
      type,
      note: `test event ${reason}`,
      regarding: { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: regarding },
    },
  });
  return { key: `${event.metadata!.uid!}/1`, rv: event.metadata!.resourceVersion! };
}

describe('kubevents run --source kube --pipelines, reloaded on SIGHUP', () => {
  it('runs the pipeline files, refuses an invalid rewrite, takes over a valid one without losing or duplicating an Event', async () => {
    const ns = uniqueName('kpr');
    await createNamespace(kc, ns);
    namespaces.push(ns);
    const id = randomUUID().slice(0, 8);
    const t = {
      events: `kpr-${id}.events`,
      alerts: `kpr-${id}.alerts`,
      incidents: `kpr-${id}.incidents`,
      gaps: `kpr-${id}.gaps`,
      deadLetters: `kpr-${id}.deadletter`,
      checkpoints: `kpr-${id}.checkpoints`,
      all: `kpr-${id}.team-all`,
      warningsV1: `kpr-${id}.team-warnings-v1`,
      warningsV2: `kpr-${id}.team-warnings-v2`,
      teamAlerts: `kpr-${id}.team-alerts`,
    };
    // the kind topics and the checkpoint topic exist; the pipelines' topics are created by --create-topics
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        ...[t.events, t.alerts, t.incidents, t.gaps, t.deadLetters].map((topic) => ({ topic, partitions: 1, replicationFactor: 1 })),
        { topic: t.checkpoints, partitions: 1, replicationFactor: 1, config: { 'cleanup.policy': 'compact' } },
      ]);
    } finally {
      await admin.disconnect();
    }

    const dir = mkdtempSync(join(workDir, 'pipelines-'));
    const teamFile = join(dir, 'team.yaml');
    writeFileSync(join(dir, 'all.yaml'), pipelineAll(t.all));
    writeFileSync(teamFile, pipelineTeam(t.warningsV1, t.teamAlerts, 'BurstV1'));

    // --- the job
    const args = [
      cli, 'run', '--source', 'kube', '--kubeconfig', kubeEnv.kubeconfigPath, '--namespace', ns, '--cluster', 'kpr',
      '--kafka-brokers', kafkaEnv.brokers.join(','), '--encoding', 'avro-binary', '--create-topics', '--pipelines', dir,
    ];
    const proc = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        KUBEVENTS_METRICS_ADDRESS: '127.0.0.1',
        KUBEVENTS_METRICS_PORT: '0',
        KUBEVENTS_TOPIC_EVENTS: t.events,
        KUBEVENTS_TOPIC_ALERTS: t.alerts,
        KUBEVENTS_TOPIC_INCIDENTS: t.incidents,
        KUBEVENTS_TOPIC_GAPS: t.gaps,
        KUBEVENTS_TOPIC_DEAD_LETTERS: t.deadLetters,
        KUBEVENTS_CHECKPOINT_TOPIC: t.checkpoints,
      },
    });
    children.push(proc);
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const logs: LogLine[] = [];
    const stderr: string[] = [];
    let buffer = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      buffer += chunk;
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        stderr.push(line);
        try {
          logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line
        }
      }
    });
    proc.stdout!.resume();
    const running = () => proc.exitCode === null && proc.signalCode === null;
    const tail = () => stderr.slice(-30).join('\n');
    const waitForLog = (test: (l: LogLine) => boolean, what: string, after = 0) =>
      waitFor(
        () => {
          if (!running()) throw new Error(`the job exited before ${what}:\n${tail()}`);
          return logs.slice(after).find(test);
        },
        120_000,
        what,
        50,
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\n${tail()}`);
      });

    const started = await waitForLog((l) => l.msg === 'kube job running', 'the job to run');
    expect(started['pipelines']).toEqual(['all-events', 'team']);
    const publishing = logs.find((l) => l.msg === 'publishing to Kafka');
    expect(publishing?.['pipelineTopics']).toEqual(expect.arrayContaining([t.all, t.warningsV1, t.teamAlerts]));

    // --- a consumer on the pipelines' topics (warnings-v2 is named only by the later version: the reload creates it)
    const admin2 = kafka.admin();
    await admin2.connect();
    try {
      const existing = await admin2.listTopics();
      expect(existing).toEqual(expect.arrayContaining([t.all, t.warningsV1, t.teamAlerts])); // --create-topics
      expect(existing).not.toContain(t.warningsV2);
    } finally {
      await admin2.disconnect();
    }
    const records: Consumed[] = [];
    const consumer = kafka.consumer({ groupId: `kpr-reader-${randomUUID()}`, allowAutoTopicCreation: false });
    consumers.push(consumer);
    await consumer.connect();
    const consume = async (c: Consumer, topics: string[]) => {
      await c.connect();
      await c.subscribe({ topics, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachMessage: async ({ topic, message }) => {
          records.push({ topic, headers: headersToStrings(message.headers), value: message.value ?? Buffer.alloc(0) });
        },
      });
    };
    await consume(consumer, [t.all, t.warningsV1, t.teamAlerts, t.checkpoints, t.events]);
    const of = (topic: string) => records.filter((r) => r.topic === topic);
    const keysOf = (topic: string) => of(topic).map((r) => r.headers[HEADERS.idempotencyKey] as string);
    const alertsOn = async (topic: string) => Promise.all(of(topic).map(async (r) => (await decoder.decode<Alert>(r.value, r.headers)).value));
    const created: { key: string; rv: string }[] = [];
    const create = async (reason: string, type: 'Normal' | 'Warning', regarding: string) => {
      const c = await createEvent(ns, reason, type, regarding);
      created.push(c);
      return c;
    };

    // --- version 1
    const w1 = [await create('Flaky', 'Warning', 'web-1'), await create('Flaky', 'Warning', 'web-2')];
    for (let i = 0; i < 3; i++) await create('BurstV1', 'Normal', 'burst-1');
    await waitFor(() => new Set(keysOf(t.all)).size >= created.length, 90_000, 'version 1: every event on the all-events topic');
    await waitFor(() => w1.every((w) => keysOf(t.warningsV1).includes(w.key)), 60_000, 'version 1: the warnings on their topic');
    await waitFor(async () => (await alertsOn(t.teamAlerts)).some((a) => a.labels['alertname'] === 'BurstV1' && a.status === 'firing'), 60_000, 'version 1: the BurstV1 alert');
    expect(of(t.events)).toEqual([]); // the kind topic is not used: the pipelines name their own

    // --- an invalid rewrite: refused, with file:line:col; the old version goes on
    const invalid = pipelineTeam(t.warningsV2, t.teamAlerts, 'BurstV2', 'filtr');
    writeFileSync(teamFile, invalid);
    const badLine = invalid.split('\n').findIndex((l) => l.includes('- filtr:')) + 1;
    let mark = logs.length;
    proc.kill('SIGHUP');
    const refused = await waitForLog((l) => l.msg.startsWith('pipeline reload refused'), 'the invalid reload to be refused', mark);
    expect(refused.level).toBe(50);
    const diagnostic = logs.slice(mark).find((l) => l.level === 50 && l['file'] === teamFile);
    expect(diagnostic, tail()).toMatchObject({ line: badLine, column: expect.any(Number) });
    expect(diagnostic!.msg).toContain(`${teamFile}:${badLine}:`);
    expect(diagnostic!.msg).toContain('filtr');
    expect(running()).toBe(true);
    const w1b = await create('Flaky', 'Warning', 'web-3');
    await waitFor(() => keysOf(t.warningsV1).includes(w1b.key), 60_000, 'the old version still running after the refused reload');

    // --- a valid rewrite, reloaded while a burst of Events is being created
    writeFileSync(teamFile, pipelineTeam(t.warningsV2, t.teamAlerts, 'BurstV2'));
    mark = logs.length;
    const before = created.length;
    const burst = (async () => {
      for (let i = 0; i < 30; i++) await create('Steady', 'Normal', `steady-${i % 5}`);
    })();
    await waitFor(() => created.length >= before + 10, 60_000, 'the burst to be under way');
    proc.kill('SIGHUP');
    const reloaded = await waitForLog((l) => l.msg.startsWith('pipelines reloaded'), 'the valid reload', mark);
    expect(reloaded).toMatchObject({ changed: ['team'], unchanged: ['all-events'], added: [], removed: [] });
    await burst;
    // the topic the new version names for the first time was created by the reload (--create-topics)
    const second = kafka.consumer({ groupId: `kpr-reader-${randomUUID()}`, allowAutoTopicCreation: false });
    consumers.push(second);
    await consume(second, [t.warningsV2]);
    const w2 = [await create('Flaky', 'Warning', 'web-4'), await create('Flaky', 'Warning', 'web-5')];
    for (let i = 0; i < 3; i++) await create('BurstV2', 'Normal', 'burst-2');
    const last = created.at(-1)!;

    await waitFor(() => w2.every((w) => keysOf(t.warningsV2).includes(w.key)), 90_000, 'version 2: the warnings on the new topic');
    await waitFor(async () => (await alertsOn(t.teamAlerts)).some((a) => a.labels['alertname'] === 'BurstV2' && a.status === 'firing'), 60_000, 'version 2: the BurstV2 alert');
    // the retired version was completed: its firing alert resolved
    await waitFor(async () => (await alertsOn(t.teamAlerts)).some((a) => a.labels['alertname'] === 'BurstV1' && a.status === 'resolved'), 60_000, 'the retired version resolving its alert');
    expect(keysOf(t.warningsV1).filter((k) => w2.some((w) => w.key === k))).toEqual([]);

    // every occurrence exactly once on the unchanged pipeline's topic, across both reloads
    await waitFor(() => new Set(keysOf(t.all)).size >= created.length, 90_000, 'every event on the all-events topic');
    const all = keysOf(t.all);
    const counts = new Map<string, number>();
    for (const k of all) counts.set(k, (counts.get(k) ?? 0) + 1);
    expect(all.length).toBe(created.length);
    expect(new Set(all)).toEqual(new Set(created.map((c) => c.key)));
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    for (const r of of(t.all)) expect((await decoder.decode<KubeEvent>(r.value, r.headers)).kind).toBe('KubeEvent');

    // the checkpoint advanced past the last Event
    await waitFor(
      () => of(t.checkpoints).some((r) => BigInt((JSON.parse(r.value.toString('utf8')) as { resourceVersion: string }).resourceVersion) >= BigInt(last.rv)),
      60_000,
      'the checkpoint to pass the last Event',
    );

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 600_000);
  it('without --create-topics, refuses a reload that names a topic that does not exist (file:line), and goes on', async () => {
    const ns = uniqueName('kpr-missing');
    await createNamespace(kc, ns);
    namespaces.push(ns);
    const id = randomUUID().slice(0, 8);
    const kinds = ['events', 'alerts', 'incidents', 'gaps', 'deadletter'].map((k) => `kpr-${id}.${k}`);
    const all = `kpr-${id}.team-all`;
    const missing = `kpr-${id}.never-created`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [...kinds, all].map((topic) => ({ topic, partitions: 1, replicationFactor: 1 })));
    } finally {
      await admin.disconnect();
    }
    const dir = mkdtempSync(join(workDir, 'pipelines-'));
    const file = join(dir, 'all.yaml');
    writeFileSync(file, pipelineAll(all));
    const proc = spawn(
      process.execPath,
      [cli, 'run', '--source', 'kube', '--kubeconfig', kubeEnv.kubeconfigPath, '--namespace', ns, '--cluster', 'kpr', '--checkpoint-file', join(dir, 'cp.json'),
        '--kafka-brokers', kafkaEnv.brokers.join(','), '--encoding', 'avro-binary', '--pipelines', dir],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          KUBEVENTS_METRICS_ADDRESS: '127.0.0.1',
          KUBEVENTS_METRICS_PORT: '0',
          KUBEVENTS_TOPIC_EVENTS: kinds[0]!,
          KUBEVENTS_TOPIC_ALERTS: kinds[1]!,
          KUBEVENTS_TOPIC_INCIDENTS: kinds[2]!,
          KUBEVENTS_TOPIC_GAPS: kinds[3]!,
          KUBEVENTS_TOPIC_DEAD_LETTERS: kinds[4]!,
        },
      },
    );
    children.push(proc);
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const logs: LogLine[] = [];
    let text = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      text += chunk;
      let i: number;
      while ((i = text.indexOf('\n')) >= 0) {
        const line = text.slice(0, i);
        text = text.slice(i + 1);
        try {
          logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line
        }
      }
    });
    const running = () => proc.exitCode === null && proc.signalCode === null;
    await waitFor(
      () => {
        if (!running()) throw new Error('the job exited before running');
        return logs.find((l) => l.msg === 'kube job running');
      },
      120_000,
      'the job to run',
      50,
    );
    writeFileSync(file, pipelineAll(missing));
    const mark = logs.length;
    proc.kill('SIGHUP');
    await waitFor(() => logs.slice(mark).find((l) => l.msg.startsWith('pipeline reload refused')), 60_000, 'the reload to be refused', 50);
    const diagnostic = logs.slice(mark).find((l) => l.level === 50 && l['file'] === file);
    expect(diagnostic).toMatchObject({ line: 3, column: 1 });
    expect(diagnostic!.msg).toContain(`${file}:3:1:`);
    expect(diagnostic!.msg).toContain(missing);
    expect(running()).toBe(true);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 300_000);
});
