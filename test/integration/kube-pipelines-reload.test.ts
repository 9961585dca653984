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
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HEADERS, RecordDecoder } from '../../src/avro/encodings.js';
import type { Alert } from '../../src/model/alert.js';
import type { KubeEvent } from '../../src/model/kube-event.js';
import { waitFor } from '../env/scenarios.js';
import { KubeRunHarness, terminate, uniqueTopics, type TopicReader } from './support/kube-run.js';

const h = new KubeRunHarness(inject('kubeEnv'), inject('kafkaEnv'), 'kube-pipelines-reload');
const decoder = new RecordDecoder();

beforeAll(() => h.setup());
afterAll(() => h.cleanup());

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

describe('kubevents run --source kube --pipelines, reloaded on SIGHUP', () => {
  it('runs the pipeline files, refuses an invalid rewrite, takes over a valid one without losing or duplicating an Event', async () => {
    const ns = await h.newNamespace('kpr');
    const t = uniqueTopics('kpr', { all: 'team-all', warningsV1: 'team-warnings-v1', warningsV2: 'team-warnings-v2', teamAlerts: 'team-alerts' });
    // the kind topics and the checkpoint topic exist; the pipelines' topics are created by --create-topics
    await h.createTopics(t, {}, { partitions: 1 });

    const dir = mkdtempSync(join(h.workDir, 'pipelines-'));
    const teamFile = join(dir, 'team.yaml');
    writeFileSync(join(dir, 'all.yaml'), pipelineAll(t.all));
    writeFileSync(teamFile, pipelineTeam(t.warningsV1, t.teamAlerts, 'BurstV1'));

    // --- the job
    const job = h.startJob(ns, t, { cluster: 'kpr', extra: ['--create-topics', '--pipelines', dir] });
    const started = await job.waitForLog('live job running', 120_000);
    expect(started['pipelines']).toEqual(['all-events', 'team']);
    expect(job.log('publishing to Kafka')?.['pipelineTopics']).toEqual(expect.arrayContaining([t.all, t.warningsV1, t.teamAlerts]));
    // lz4 by default, kafkajs with the patched Encoder (src/kafka/encoder-patch.ts) in the real process; the consumer below reads the records back
    expect(job.log('publishing to Kafka')).toMatchObject({ compression: 'lz4', kafkajsEncoderPatched: true });

    // --- a consumer on the pipelines' topics (warnings-v2 is named only by the later version: the reload creates it)
    const admin = h.kafka.admin();
    await admin.connect();
    try {
      const existing = await admin.listTopics();
      expect(existing).toEqual(expect.arrayContaining([t.all, t.warningsV1, t.teamAlerts])); // --create-topics
      expect(existing).not.toContain(t.warningsV2);
    } finally {
      await admin.disconnect();
    }
    const readers: TopicReader[] = [await h.readTopics([t.all, t.warningsV1, t.teamAlerts, t.checkpoints, t.events])];
    const of = (topic: string) => readers.flatMap((r) => r.of(topic));
    const keysOf = (topic: string) => of(topic).map((r) => r.headers[HEADERS.idempotencyKey] as string);
    const alertsOn = async (topic: string) => Promise.all(of(topic).map(async (r) => (await decoder.decode<Alert>(r.value, r.headers)).value));
    const created: { key: string; rv: string }[] = [];
    const create = async (reason: string, type: 'Normal' | 'Warning', regarding: string) => {
      const { uid, occurrences } = await h.createEvent(ns, `${regarding}.${randomUUID().slice(0, 8)}`, reason, regarding, { type });
      const c = { key: `${uid}/1`, rv: occurrences.get(`${uid}/1`)! };
      created.push(c);
      return c;
    };

    // --- version 1
    const w1 = [await create('Flaky', 'Warning', 'web-1'), await create('Flaky', 'Warning', 'web-2')];
    for (let i = 0; i < 3; i++) await create('BurstV1', 'Normal', 'burst-1');
    await waitFor(() => new Set(keysOf(t.all)).size >= created.length, 90_000, 'version 1: every event on the all-events topic');
    await waitFor(() => w1.every((w) => keysOf(t.warningsV1).includes(w.key)), 60_000, 'version 1: the warnings on their topic');
    await waitFor(
      async () => (await alertsOn(t.teamAlerts)).some((a) => a.labels['alertname'] === 'BurstV1' && a.status === 'firing'),
      60_000,
      'version 1: the BurstV1 alert',
    );
    expect(of(t.events)).toEqual([]); // the kind topic is not used: the pipelines name their own

    // --- an invalid rewrite: refused, with file:line:col; the old version goes on
    const invalid = pipelineTeam(t.warningsV2, t.teamAlerts, 'BurstV2', 'filtr');
    writeFileSync(teamFile, invalid);
    const badLine = invalid.split('\n').findIndex((l) => l.includes('- filtr:')) + 1;
    let mark = job.logs.length;
    job.kill('SIGHUP');
    const refused = await job.waitForLog((l) => l.msg.startsWith('pipeline reload refused'), 120_000, {
      after: mark,
      what: 'the invalid reload to be refused',
    });
    expect(refused.level).toBe(50);
    const diagnostic = job.log((l) => l.level === 50 && l['file'] === teamFile, mark);
    expect(diagnostic, job.tail()).toMatchObject({ line: badLine, column: expect.any(Number) });
    expect(diagnostic!.msg).toContain(`${teamFile}:${badLine}:`);
    expect(diagnostic!.msg).toContain('filtr');
    expect(job.running).toBe(true);
    const w1b = await create('Flaky', 'Warning', 'web-3');
    await waitFor(() => keysOf(t.warningsV1).includes(w1b.key), 60_000, 'the old version still running after the refused reload');

    // --- a valid rewrite, reloaded while a burst of Events is being created
    writeFileSync(teamFile, pipelineTeam(t.warningsV2, t.teamAlerts, 'BurstV2'));
    mark = job.logs.length;
    const before = created.length;
    const burst = (async () => {
      for (let i = 0; i < 30; i++) await create('Steady', 'Normal', `steady-${i % 5}`);
    })();
    await waitFor(() => created.length >= before + 10, 60_000, 'the burst to be under way');
    job.kill('SIGHUP');
    const reloaded = await job.waitForLog((l) => l.msg.startsWith('pipelines reloaded'), 120_000, { after: mark, what: 'the valid reload' });
    expect(reloaded).toMatchObject({ changed: ['team'], unchanged: ['all-events'], added: [], removed: [] });
    await burst;
    // the topic the new version names for the first time was created by the reload (--create-topics)
    readers.push(await h.readTopics([t.warningsV2]));
    const w2 = [await create('Flaky', 'Warning', 'web-4'), await create('Flaky', 'Warning', 'web-5')];
    for (let i = 0; i < 3; i++) await create('BurstV2', 'Normal', 'burst-2');
    const last = created.at(-1)!;

    await waitFor(() => w2.every((w) => keysOf(t.warningsV2).includes(w.key)), 90_000, 'version 2: the warnings on the new topic');
    await waitFor(
      async () => (await alertsOn(t.teamAlerts)).some((a) => a.labels['alertname'] === 'BurstV2' && a.status === 'firing'),
      60_000,
      'version 2: the BurstV2 alert',
    );
    // the retired version was completed: its firing alert resolved
    await waitFor(
      async () => (await alertsOn(t.teamAlerts)).some((a) => a.labels['alertname'] === 'BurstV1' && a.status === 'resolved'),
      60_000,
      'the retired version resolving its alert',
    );
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
      () =>
        of(t.checkpoints)
          .filter((r) => !r.key.endsWith('/state')) // the operator state records share the topic
          .some((r) => BigInt((JSON.parse(r.value.toString('utf8')) as { resourceVersion: string }).resourceVersion) >= BigInt(last.rv)),
      60_000,
      'the checkpoint to pass the last Event',
    );

    const { code } = await terminate(job);
    expect(code, job.tail()).toBe(0);
  }, 600_000);
  it('without --create-topics, refuses a reload that names a topic that does not exist (file:line), and goes on', async () => {
    const ns = await h.newNamespace('kpr-missing');
    const t = uniqueTopics('kpr', { all: 'team-all', missing: 'never-created' });
    await h.createTopics(t, {}, { partitions: 1, extra: [t.all] });
    const dir = mkdtempSync(join(h.workDir, 'pipelines-'));
    const file = join(dir, 'all.yaml');
    writeFileSync(file, pipelineAll(t.all));
    // a file checkpoint: the checkpoint topic is not used
    const job = h.startJob(ns, t, { cluster: 'kpr', extra: ['--checkpoint-file', join(dir, 'cp.json'), '--pipelines', dir] });
    await job.waitForLog('live job running', 120_000);
    writeFileSync(file, pipelineAll(t.missing));
    const mark = job.logs.length;
    job.kill('SIGHUP');
    await job.waitForLog((l) => l.msg.startsWith('pipeline reload refused'), 60_000, { after: mark, what: 'the reload to be refused' });
    const diagnostic = job.log((l) => l.level === 50 && l['file'] === file, mark);
    expect(diagnostic).toMatchObject({ line: 3, column: 1 });
    expect(diagnostic!.msg).toContain(`${file}:3:1:`);
    expect(diagnostic!.msg).toContain(t.missing);
    expect(job.running).toBe(true);
    const { code } = await terminate(job);
    expect(code, job.tail()).toBe(0);
  }, 300_000);
});
