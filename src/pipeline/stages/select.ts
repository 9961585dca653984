import { map } from 'rxjs';
import { z } from 'zod';
import { loadSchema } from '../../avro/schemas.js';
import { closest } from '../../core/diagnostics.js';
import { isAvroKind, kindName } from '../record-kinds.js';
import { defineStage } from '../stage.js';

type Any = any;

function pick(record: Any, paths: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    const segments = path.split('.');
    let src: Any = record;
    for (const s of segments) src = src === null || src === undefined ? undefined : src[s];
    let dst: Record<string, unknown> = out;
    segments.forEach((s, i) => {
      if (i === segments.length - 1) dst[s] = src === undefined ? null : src;
      else dst = (dst[s] ??= {}) as Record<string, unknown>;
    });
  }
  return out;
}

interface AvroRecord {
  type: 'record';
  name: string;
  fields: Array<{ name: string; type: unknown }>;
}

function checkAvroPath(root: AvroRecord, segments: readonly string[]): string | null {
  const named = new Map<string, AvroRecord>();
  const collect = (t: unknown): void => {
    if (Array.isArray(t)) t.forEach(collect);
    else if (t && typeof t === 'object') {
      const o = t as { type?: unknown; name?: string; fields?: Array<{ type: unknown }>; items?: unknown; values?: unknown };
      if (o.type === 'record' && o.name) {
        named.set(o.name, o as AvroRecord);
        o.fields?.forEach((f) => collect(f.type));
      }
      if (o.items) collect(o.items);
      if (o.values) collect(o.values);
      if (o.type && typeof o.type === 'object') collect(o.type);
    }
  };
  collect(root);
  const recordOf = (t: unknown): AvroRecord | null => {
    if (typeof t === 'string') return named.get(t) ?? null;
    if (Array.isArray(t)) return t.map(recordOf).find((r) => r !== null) ?? null;
    if (t && typeof t === 'object') {
      const o = t as { type?: unknown };
      if (o.type === 'record') return t as AvroRecord;
      if (o.type === 'map') return null;
      if (o.type && typeof o.type === 'object') return recordOf(o.type);
    }
    return null;
  };
  const isMap = (t: unknown): boolean => {
    if (Array.isArray(t)) return t.some(isMap);
    return !!t && typeof t === 'object' && (t as { type?: unknown }).type === 'map';
  };
  let record: AvroRecord | null = root;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (!record) return null;
    const field = record.fields.find((f) => f.name === seg);
    if (!field) {
      const names = record.fields.map((f) => f.name);
      const c = closest(seg, names);
      return c ? `did you mean "${[...segments.slice(0, i), c].join('.')}"?` : `fields: ${names.join(', ')}`;
    }
    if (isMap(field.type)) return null; // labels.app, annotations.x: any key
    record = recordOf(field.type);
    if (!record && i < segments.length - 1) return `"${segments.slice(0, i + 1).join('.')}" has no fields`;
  }
  return null;
}

export const selectStage = defineStage({
  type: 'select',
  summary:
    'Keeps only these fields (dotted paths, e.g. regarding.name). The records no longer match an Avro schema: only stdout and console sinks can take them.',
  accepts: ['KubeEvent', 'Alert', 'Incident', 'EventWindow'],
  emits: () => 'Projection',
  options: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_.-]+)*$/, { error: 'a field path, e.g. reason or regarding.name' })).min(1),
  check(fields, checks, path) {
    const kind = checks.flow.kind;
    if (!isAvroKind(kind)) return;
    const schema = loadSchema(kind).json as unknown as AvroRecord;
    fields.forEach((field, i) => {
      const problem = checkAvroPath(schema, field.split('.'));
      if (problem) checks.problem([...path, i], `${kindName(kind)} have no field "${field}"`, { hint: problem });
    });
  },
  explain: (fields) => ({ fields: fields.join(', ') }),
  build: (fields) => map((r) => pick(r, fields)),
});
