import CliTable from 'cli-table3';
import type { KubeEvent } from '../model/kube-event.js';
import type { OutRecord } from '../model/out-record.js';

export interface FileWritten {
  topic: string;
  path: string;
  schema: string;
  records: number;
}

/** What one run saw and produced, for the closing summary. Counts only: bounded by distinct keys. */
export class RunStats {
  readonly byType = new Map<string, number>();
  readonly byReason = new Map<string, number>();
  readonly byNamespace = new Map<string, number>();
  events = 0;
  warnings = 0;
  malformed = 0;
  deadLetters = 0;
  alerts = 0;
  incidents = 0;
  gaps = 0;
  startedAt = Date.now();
  /** Records per pipeline sink: `pipeline\u0000branch\u0000sink\u0000target`. */
  readonly bySink = new Map<string, number>();

  /** A sink the pipelines have, so the summary lists it even when nothing reached it. */
  declareSink(pipeline: string, branch: string | null, sink: string, target: string | undefined): void {
    const key = sinkKey(pipeline, branch, sink, target);
    if (!this.bySink.has(key)) this.bySink.set(key, 0);
  }

  recordOutput(record: OutRecord): void {
    if (!record.origin) return;
    bump(this.bySink, sinkKey(record.origin.pipeline, record.origin.branch, record.sink ?? 'kafka', record.target));
  }

  recordEvent(event: KubeEvent): void {
    this.events += 1;
    if (event.type === 'Warning') this.warnings += 1;
    bump(this.byType, event.type);
    bump(this.byReason, `${event.type}/${event.reason || '(none)'}`);
    bump(this.byNamespace, event.namespace ?? '(cluster)');
  }

  render(files: FileWritten[], options: { topReasons?: number; color?: boolean } = {}): string {
    const style = options.color ? {} : { head: [] as string[], border: [] as string[] };
    const Table = (o: { head: string[] }) => new CliTable({ ...o, style });
    const seconds = (Date.now() - this.startedAt) / 1000;
    const out: string[] = [];
    const totals = Table({ head: ['events', 'warnings', 'alerts', 'incidents', 'malformed (skipped)', 'dead letters', 'gaps', 'seconds'] });
    totals.push([this.events, this.warnings, this.alerts, this.incidents, this.malformed, this.deadLetters, this.gaps, seconds.toFixed(1)]);
    out.push(totals.toString());

    const types = Table({ head: ['type', 'events'] });
    for (const [k, v] of sorted(this.byType)) types.push([k, v]);
    out.push(types.toString());

    const top = options.topReasons ?? 15;
    const reasons = Table({ head: ['type/reason', 'events'] });
    const reasonRows = sorted(this.byReason);
    for (const [k, v] of reasonRows.slice(0, top)) reasons.push([k, v]);
    if (reasonRows.length > top) reasons.push([`(${reasonRows.length - top} more reasons)`, reasonRows.slice(top).reduce((s, [, v]) => s + v, 0)]);
    out.push(reasons.toString());

    const namespaces = Table({ head: ['namespace', 'events'] });
    for (const [k, v] of sorted(this.byNamespace)) namespaces.push([k, v]);
    out.push(namespaces.toString());

    const perSink = Table({ head: ['pipeline', 'sink', 'records'] });
    for (const [key, n] of this.bySink) {
      const [pipeline, branch, sink, target] = key.split('\u0000');
      perSink.push([branch ? `${pipeline}/${branch}` : pipeline!, target ? `${sink} ${target}` : sink!, n]);
    }
    if (this.bySink.size > 0) out.push(perSink.toString());

    const written = Table({ head: ['topic', 'schema', 'records', 'file'] });
    for (const f of files) written.push([f.topic, f.schema, f.records, f.path]);
    out.push(files.length ? written.toString() : 'no files written');
    return out.join('\n');
  }
}

function sinkKey(pipeline: string, branch: string | null, sink: string, target: string | undefined): string {
  return [pipeline, branch ?? '', sink, target ?? ''].join('\u0000');
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function sorted(map: Map<string, number>): Array<[string, number]> {
  return [...map.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
