/**
 * Schema evolution: the current schemas must read records written with every released version.
 *
 * Released versions are frozen in schemas/history/<Kind>.v<N>.avsc (see schemas/history/README.md:
 * before changing schemas/<Kind>.avsc, copy the last released version there). Kept as files rather
 * than read with `git show HEAD~N:...` so the check works in shallow CI clones and in the package.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { loadHistory, historyDir } from '../../../src/avro/history.js';
import { LOGICAL_TYPES, loadSchema, parseSchema, RECORD_KINDS, schemaPath } from '../../../src/avro/schemas.js';
import { RecordDecoder, HEADERS } from '../../../src/avro/encodings.js';
import { packageRoot } from '../../../src/core/paths.js';

const history = loadHistory();
const schemaFiles = readdirSync(join(packageRoot(), 'schemas')).filter((f) => f.endsWith('.avsc'));

/** Random but valid records of a type (avsc's random values, times kept in a sane range). */
function samples(type: avro.Type, n: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(type.random());
  return out;
}

/** Throws when `reader` cannot read data written with `writer` (Avro schema resolution). */
function assertReads(reader: avro.Type, writer: avro.Type): avro.Resolver {
  return reader.createResolver(writer);
}

type FieldJson = { name: string; type: unknown; doc?: string; default?: unknown; fields?: FieldJson[] };

/** Every named type and field in a schema, with where it is. */
function walk(schema: unknown, visit: (node: Record<string, unknown>, path: string) => void, path = ''): void {
  if (Array.isArray(schema)) {
    schema.forEach((s, i) => walk(s, visit, `${path}[${i}]`));
    return;
  }
  if (!schema || typeof schema !== 'object') return;
  const node = schema as Record<string, unknown>;
  visit(node, path);
  if (Array.isArray(node.fields)) for (const f of node.fields as FieldJson[]) walk(f.type, visit, `${path}.${f.name}`);
  if (node.items) walk(node.items, visit, `${path}[]`);
  if (node.values) walk(node.values, visit, `${path}{}`);
}

describe('schemas/', () => {
  it.each(schemaFiles)('%s: namespace io.kubevents.v1, every record and field documented', (file) => {
    const json = JSON.parse(readFileSync(join(packageRoot(), 'schemas', file), 'utf8')) as Record<string, unknown>;
    expect(json.namespace).toBe('io.kubevents.v1');
    expect(`${String(json.name)}.avsc`).toBe(file);
    const undocumented: string[] = [];
    walk(json, (node, path) => {
      if (node.type === 'record' || node.type === 'enum') {
        if (!node.doc) undocumented.push(`${path || String(node.name)} (${String(node.name)})`);
        for (const f of (node.fields as FieldJson[] | undefined) ?? []) if (!f.doc) undocumented.push(`${path}.${f.name}`);
      }
    });
    expect(undocumented).toEqual([]);
    // parses with our logical types, strictly
    expect(() => avro.Type.forSchema(json as avro.Schema, { logicalTypes: LOGICAL_TYPES, assertLogicalTypes: true })).not.toThrow();
  });

  it('every current kind with a schema file has a released copy in schemas/history (or is new since the last release)', () => {
    const kindsWithHistory = new Set(history.map((h) => h.recordKind));
    for (const kind of ['KubeEvent', 'Gap', 'DeadLetter']) expect(kindsWithHistory.has(kind)).toBe(true);
  });
});

describe('schemas/history', () => {
  it('holds only <Kind>.v<N>.avsc files of known kinds, numbered from 1 without holes', () => {
    const files = readdirSync(historyDir()).filter((f) => f.endsWith('.avsc'));
    expect(files.length).toBe(history.length);
    const versions = new Map<string, number[]>();
    for (const h of history) {
      expect(RECORD_KINDS as readonly string[]).toContain(h.recordKind);
      expect(h.type.name).toBe(`io.kubevents.v1.${h.recordKind}`);
      versions.set(h.recordKind, [...(versions.get(h.recordKind) ?? []), h.version]);
    }
    for (const [kind, vs] of versions) expect(vs, kind).toEqual(vs.map((_, i) => i + 1));
  });

  describe.each(history.map((h) => [h.file.split('/').pop() as string, h] as const))('%s', (_file, old) => {
    it('is read by the current schema (backward compatible: new readers, old writers)', () => {
      const current = loadSchema(old.recordKind);
      const resolver = assertReads(current.type, old.type);
      for (const record of samples(old.type, 50)) {
        const bytes = old.type.toBuffer(record);
        const read = current.type.fromBuffer(bytes, resolver);
        expect(current.type.isValid(read)).toBe(true);
      }
    });

    it('is decoded by RecordDecoder from the avro-binary encoding', async () => {
      const decoder = new RecordDecoder();
      const record = old.type.random();
      const decoded = await decoder.decode(old.type.toBuffer(record), { [HEADERS.fingerprint]: old.fingerprint });
      expect(decoded.kind).toBe(old.recordKind);
      expect(loadSchema(old.recordKind).type.isValid(decoded.value)).toBe(true);
    });
  });

  it('the newest released version of each kind is readable by every older one in turn (transitive)', () => {
    const byKind = new Map<string, typeof history>();
    for (const h of history) byKind.set(h.recordKind, [...(byKind.get(h.recordKind) ?? []), h]);
    for (const versions of byKind.values()) {
      for (let i = 0; i < versions.length; i++) {
        for (let j = i + 1; j < versions.length; j++) {
          expect(() => assertReads((versions[j] as (typeof history)[number]).type, (versions[i] as (typeof history)[number]).type)).not.toThrow();
        }
      }
    }
  });
});

describe('the compatibility check itself', () => {
  const gap = JSON.parse(readFileSync(schemaPath('Gap'), 'utf8')) as { fields: FieldJson[] };
  const withFields = (fields: FieldJson[]) => parseSchema('Gap.next', JSON.stringify({ ...gap, fields })).type;
  const v1 = loadSchema('Gap').type;

  it('accepts adding a field with a default and widening a type', () => {
    const next = withFields([...gap.fields, { name: 'severity', type: 'string', default: 'info', doc: 'x' }]);
    expect(() => assertReads(next, v1)).not.toThrow();
  });

  it('catches adding a field without a default', () => {
    const next = withFields([...gap.fields, { name: 'severity', type: 'string', doc: 'x' }]);
    expect(() => assertReads(next, v1)).toThrow();
  });

  it('catches a type change that Avro cannot promote, and a rename without an alias', () => {
    const retyped = withFields(gap.fields.map((f) => (f.name === 'resource' ? { ...f, type: 'int' } : f)));
    expect(() => assertReads(retyped, v1)).toThrow();
    const renamed = withFields(gap.fields.map((f) => (f.name === 'resource' ? { ...f, name: 'resourceName' } : f)));
    expect(() => assertReads(renamed, v1)).toThrow();
  });
});
