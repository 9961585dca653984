import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/model/alert.js';
import type { OutRecord } from '../../../src/model/out-record.js';
import { ConsoleSink } from '../../../src/sinks/console.js';
import { resolvedAlert, sampleAlert, sampleIncident } from '../alerting/fixtures.js';

const T = Date.UTC(2026, 10, 1, 10, 0);
const MIN = 60_000;
const alert = (status: 'firing' | 'resolved', at: number, name: string): OutRecord<Alert> => {
  const value =
    status === 'firing'
      ? sampleAlert({ startsAt: at, labels: { alertname: name } })
      : resolvedAlert({ startsAt: at - 5 * MIN, endsAt: at, updatedAt: at + 2 * MIN, labels: { alertname: name } });
  return { kind: 'Alert', value, key: name, idempotencyKey: `${name}/${status}`, sink: 'console' };
};
const times = (lines: string[]): string[] => lines.map((l) => l.slice(11, 16));

describe('console sink', () => {
  it('writes each line at once when not asked to order them', async () => {
    const lines: string[] = [];
    const sink = new ConsoleSink((line) => lines.push(line));
    await sink.write(alert('firing', T + 26 * MIN, 'B'));
    expect(lines).toHaveLength(1);
    await sink.write(alert('resolved', T + 25 * MIN, 'A'));
    expect(times(lines)).toEqual(['10:26', '10:25']);
  });

  it('in time order: a resolution decided after a later line comes before it (replay at full speed)', async () => {
    const lines: string[] = [];
    const sink = new ConsoleSink((line) => lines.push(line), { inTimeOrder: { maxHeld: 100 } });
    await sink.write(alert('firing', T + 19 * MIN, 'Storm'));
    await sink.write({ kind: 'Incident', value: sampleIncident({ status: 'open', firstTime: T + 26 * MIN }), key: 'i', idempotencyKey: 'i', sink: 'console' });
    await sink.write(alert('resolved', T + 25 * MIN, 'Storm')); // decided at 10:27, ended 10:25
    await sink.write({ kind: 'Projection', value: { reason: 'X' }, key: '', idempotencyKey: '', sink: 'console' }); // no time: stays after the line before it
    await sink.write(alert('firing', T + 25 * MIN, 'Same')); // equal times keep their arrival order
    expect(lines).toEqual([]);
    await sink.close();
    expect(lines.map((l) => (l.startsWith('{') ? l : `${l.slice(11, 16)} ${/FIRING|RESOLVED|INCIDENT/.exec(l)![0]}`))).toEqual([
      '10:19 FIRING',
      '10:25 RESOLVED',
      '{"reason":"X"}', // after the line it came after
      '10:25 FIRING', // 'Same': equal times keep their arrival order
      '10:26 INCIDENT',
    ]);
    expect(sink.counts.get('Alert')).toBe(3);
  });

  it('holds at most maxHeld lines: the earliest half goes out when full', async () => {
    const lines: string[] = [];
    const sink = new ConsoleSink((line) => lines.push(line), { inTimeOrder: { maxHeld: 4 } });
    for (const m of [5, 3, 4, 1]) await sink.write(alert('firing', T + m * MIN, `A${m}`));
    expect(times(lines)).toEqual(['10:01', '10:03']);
    await sink.write(alert('firing', T + 2 * MIN, 'late'));
    await sink.close();
    expect(times(lines)).toEqual(['10:01', '10:03', '10:02', '10:04', '10:05']);
  });
});
