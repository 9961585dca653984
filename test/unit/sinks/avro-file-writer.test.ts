import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSchema, LOGICAL_TYPES } from '../../../src/avro/schemas.js';
import { normalizeEvent } from '../../../src/model/normalize.js';
import { AvroFileWriter } from '../../../src/sinks/avro-file-writer.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';

function sampleEvent(i: number): KubeEvent {
  const event = normalizeEvent(
    {
      apiVersion: 'events.k8s.io/v1',
      metadata: { name: `e${i}`, namespace: 'ns', uid: `uid-${i}`, resourceVersion: String(100 + i), creationTimestamp: '2026-11-01T10:00:00Z' },
      regarding: { kind: 'Pod', namespace: 'ns', name: `pod-${i % 3}`, uid: `pod-${i % 3}` },
      eventTime: new Date(Date.parse('2026-11-01T10:00:00Z') + i * 1000).toISOString(),
      reason: i % 2 ? 'BackOff' : 'Scheduled',
      type: i % 2 ? 'Warning' : 'Normal',
      note: `message ${i}`,
    },
    'ADDED',
    { cluster: 'c1' },
  );
  if (i === 1) {
    event.enrichment = {
      workload: { kind: 'Deployment', name: 'web', uid: null },
      ownerChain: [
        { kind: 'ReplicaSet', name: 'web-1', uid: 'rs' },
        { kind: 'Deployment', name: 'web', uid: null },
      ],
      node: 'node-a',
      podPhase: 'Running',
      containers: [
        {
          name: 'app',
          ready: false,
          restartCount: 4,
          waitingReason: 'CrashLoopBackOff',
          waitingMessage: null,
          lastTerminationReason: 'Error',
          lastExitCode: 1,
          lastFinishedAt: Date.parse('2026-11-01T09:59:00Z'),
        },
      ],
      labels: { app: 'web' },
    };
    event.classification = { category: 'CrashLoop', severity: 'error', rule: 'backoff' };
  }
  return event;
}

async function readContainer(path: string): Promise<unknown[]> {
  const records: unknown[] = [];
  await new Promise<void>((resolve, reject) => {
    avro
      .createFileDecoder(path, { readerSchema: loadSchema('KubeEvent').json, logicalTypes: LOGICAL_TYPES } as never)
      .on('data', (r: unknown) => records.push(r))
      .on('end', resolve)
      .on('error', reject);
  });
  return records;
}

describe('AvroFileWriter', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('writes a deflate container file per topic that decodes back to the same records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubevents-avro-'));
    dirs.push(dir);
    const sink = new AvroFileWriter(dir, { blockSize: 512 });
    const schema = loadSchema('KubeEvent');
    const events = Array.from({ length: 50 }, (_, i) => sampleEvent(i));
    for (const e of events) await sink.write('k8s.events', schema, e);
    const summary = await sink.close();
    expect(summary).toEqual([{ topic: 'k8s.events', path: join(dir, 'k8s.events.avro'), schema: 'KubeEvent', records: 50 }]);
    const header = avro.extractFileHeader(join(dir, 'k8s.events.avro'));
    expect(header.meta['avro.codec'].toString()).toBe('deflate');
    expect(readFileSync(join(dir, 'k8s.events.avro')).subarray(0, 4)).toEqual(Buffer.from('Obj\x01', 'latin1'));
    const decoded = await readContainer(join(dir, 'k8s.events.avro'));
    expect(decoded).toHaveLength(50);
    expect(JSON.parse(JSON.stringify(decoded))).toEqual(JSON.parse(JSON.stringify(events)));
  });

  it('refuses a record that does not match the schema, naming the bad field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubevents-avro-'));
    dirs.push(dir);
    const sink = new AvroFileWriter(dir);
    const bad = { ...sampleEvent(0), lastTimestamp: 'yesterday' };
    await expect(sink.write('k8s.events', loadSchema('KubeEvent'), bad)).rejects.toThrow(/lastTimestamp/);
    await sink.close();
  });
});
