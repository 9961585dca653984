/**
 * scripts/flink-ddl.mjs: the Flink SQL DDL generated from the published .avsc files mirrors each
 * schema field by field (names in order, NOT NULL exactly where the Avro type is not a
 * ["null", T] union, enums as STRING, timestamp-millis as TIMESTAMP(3), nested records as ROWs,
 * named types resolved), carries the .avsc itself as `avro-confluent.schema`, and the committed
 * recipe docs/flink-example/sql/k8s-events.sql is its current output.
 *
 * That Flink derives the same column types from the .avsc, and reads the records with this DDL,
 * is checked against Flink itself in test/integration/flink-downstream.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { flinkColumns, flinkDdl, flinkType } from '../../../scripts/flink-ddl.mjs';

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const KINDS = ['KubeEvent', 'Alert', 'Incident', 'Gap', 'DeadLetter'] as const;
const text = (kind: string) => readFileSync(root(`schemas/${kind}.avsc`), 'utf8');

interface AvroField {
  name: string;
  type: unknown;
}

/** The column list of a CREATE TABLE: [name, type text] per line, up to the WITH clause. */
function ddlColumns(ddl: string): Array<[string, string]> {
  const body = ddl.slice(ddl.indexOf('(\n') + 2, ddl.indexOf('\n) WITH ('));
  return body
    .split(',\n')
    .filter((l) => !l.trim().startsWith('WATERMARK'))
    .map((l) => {
      const m = /^ {2}`([^`]+)` (.+)$/s.exec(l);
      if (!m) throw new Error(`not a column line: ${l}`);
      return [m[1] as string, m[2] as string];
    });
}

/** Independent expectation of one field's column type category from its Avro type. */
function category(type: unknown): { nullable: boolean; head: string } {
  if (Array.isArray(type)) {
    expect(type).toHaveLength(2);
    expect(type[0]).toBe('null');
    return { nullable: true, head: category(type[1]).head };
  }
  if (typeof type === 'string') {
    const prim: Record<string, string> = { string: 'STRING', int: 'INT', long: 'BIGINT', boolean: 'BOOLEAN', double: 'DOUBLE', float: 'FLOAT', bytes: 'BYTES' };
    return { nullable: false, head: prim[type] ?? 'ROW' }; // a named type here is a record (enums are all inline)
  }
  const t = type as { type: string; logicalType?: string };
  if (t.logicalType === 'timestamp-millis') return { nullable: false, head: 'TIMESTAMP(3)' };
  const heads: Record<string, string> = { record: 'ROW', enum: 'STRING', array: 'ARRAY', map: 'MAP' };
  return { nullable: false, head: heads[t.type] ?? t.type.toUpperCase() };
}

describe('scripts/flink-ddl.mjs', () => {
  it.each(KINDS)('mirrors %s.avsc field by field', (kind) => {
    const schema = JSON.parse(text(kind)) as { fields: AvroField[] };
    const columns = ddlColumns(flinkDdl(text(kind)));
    expect(columns.map(([name]) => name)).toEqual(schema.fields.map((f) => f.name));
    for (const [i, field] of schema.fields.entries()) {
      const [, sql] = columns[i] as [string, string];
      const want = category(field.type);
      expect(/ NOT NULL$/.test(sql), `${kind}.${field.name}: ${sql}`).toBe(!want.nullable);
      expect(sql.startsWith(want.head), `${kind}.${field.name}: ${sql} should be ${want.head}`).toBe(true);
    }
  });

  it('maps KubeEvent exactly: the enum, nested and referenced records, arrays, maps, times', () => {
    const byName = new Map(flinkColumns(JSON.parse(text('KubeEvent'))).map((c) => [c.name, c]));
    expect(byName.get('change')).toMatchObject({ sql: 'STRING', nullable: false });
    expect(byName.get('lastTimestamp')).toMatchObject({ sql: 'TIMESTAMP(3)', nullable: false });
    expect(byName.get('firstTimestamp')).toMatchObject({ sql: 'TIMESTAMP(3)', nullable: true });
    const objectRef = 'ROW<`apiVersion` STRING, `kind` STRING, `namespace` STRING, `name` STRING, `uid` STRING, `fieldPath` STRING>';
    expect(byName.get('regarding')).toMatchObject({ sql: objectRef, nullable: false });
    // "related": ["null", "ObjectRef"], a reference to the record defined by "regarding"
    expect(byName.get('related')).toMatchObject({ sql: objectRef, nullable: true });
    const enrichment = byName.get('enrichment')!;
    expect(enrichment.nullable).toBe(true);
    expect(enrichment.sql).toContain('`ownerChain` ARRAY<ROW<`kind` STRING NOT NULL, `name` STRING NOT NULL, `uid` STRING> NOT NULL> NOT NULL');
    expect(enrichment.sql).toContain('`labels` MAP<STRING NOT NULL, STRING NOT NULL> NOT NULL');
    expect(enrichment.sql).toContain('`lastFinishedAt` TIMESTAMP(3)>');
  });

  it('puts the .avsc itself in avro-confluent.schema, and the connection options asked for', () => {
    const ddl = flinkDdl(text('KubeEvent'), { topic: "t'1", bootstrapServers: 'b:1', registryUrl: 'http://r:2/apis/ccompat/v7', groupId: 'g', bounded: true });
    const m = /'value\.avro-confluent\.schema' = '((?:[^']|'')*)'/.exec(ddl);
    expect(m).not.toBeNull();
    expect(JSON.parse(m![1]!.replaceAll("''", "'"))).toEqual(JSON.parse(text('KubeEvent')));
    expect(ddl).toContain("'topic' = 't''1'");
    expect(ddl).toContain("'properties.bootstrap.servers' = 'b:1'");
    expect(ddl).toContain("'value.avro-confluent.url' = 'http://r:2/apis/ccompat/v7'");
    expect(ddl).toContain("'value.format' = 'avro-confluent'");
    expect(ddl).toContain("'scan.bounded.mode' = 'latest-offset'");
    expect(flinkDdl(text('KubeEvent'))).not.toContain('scan.bounded.mode');
  });

  it('adds a watermark only on a NOT NULL timestamp-millis field, and refuses types it cannot map', () => {
    expect(flinkDdl(text('KubeEvent'), { eventTime: 'lastTimestamp', watermarkDelaySeconds: 7 })).toContain(
      "WATERMARK FOR `lastTimestamp` AS `lastTimestamp` - INTERVAL '7' SECOND",
    );
    expect(() => flinkDdl(text('KubeEvent'), { eventTime: 'firstTimestamp' })).toThrow(/--event-time firstTimestamp: needs a NOT NULL timestamp-millis field/);
    expect(() => flinkDdl(text('KubeEvent'), { eventTime: 'reason' })).toThrow(/needs a NOT NULL timestamp-millis/);
    expect(() => flinkType(['null', 'string', 'int'], new Map(), '', 'X.f')).toThrow(/X\.f: union .* has no Flink SQL column type/);
    expect(() => flinkType('Nope', new Map(), 'a.b', 'X.g')).toThrow(/X\.g: unknown type name 'Nope'/);
  });

  it('docs/flink-example/sql/k8s-events.sql is the current output of the script', () => {
    const committed = readFileSync(root('docs/flink-example/sql/k8s-events.sql'), 'utf8');
    const cli = execFileSync(process.execPath, [root('scripts/flink-ddl.mjs'), root('schemas/KubeEvent.avsc'), '--event-time', 'lastTimestamp'], {
      encoding: 'utf8',
    });
    expect(cli).toBe(flinkDdl(text('KubeEvent'), { eventTime: 'lastTimestamp' }));
    expect(committed, 'regenerate: node scripts/flink-ddl.mjs schemas/KubeEvent.avsc --event-time lastTimestamp > docs/flink-example/sql/k8s-events.sql').toBe(
      cli,
    );
  });
});
