#!/usr/bin/env node
/**
 * Prints the Flink SQL DDL of a Kafka table over a kubevents topic, generated from the published
 * .avsc, for Flink's `avro-confluent` format with `avro-confluent.schema` set to that .avsc.
 *
 *   node scripts/flink-ddl.mjs [schemas/KubeEvent.avsc] [--table k8s_events] [--topic k8s.events]
 *       [--bootstrap-servers kafka:9092] [--registry-url http://schema-registry:8081]
 *       [--group-id flink-k8s-events] [--event-time lastTimestamp --watermark-delay 5]
 *       [--bounded]
 *
 * Why generated: Flink SQL's Avro formats derive their reader from the table's columns, and read an
 * Avro enum (KubeEvent.change, Alert.status) as written only when `avro-confluent.schema` gives the
 * real schema AND the columns mirror it field by field (every nested ROW, NOT NULL where the Avro
 * type is not a ["null", T] union). The column types here are those of Flink's
 * AvroSchemaConverter.convertToDataType (legacy timestamp mapping: timestamp-millis is
 * TIMESTAMP(3)); docs/flink-example/sql/ has the recipe and test/integration/flink-downstream.test.ts
 * runs it.
 *
 * Node built-ins only; importable (flinkType, flinkColumns, flinkDdl) for the unit test.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** kubevents' default topic and table name per record kind. */
const DEFAULTS = {
  KubeEvent: { topic: 'k8s.events', table: 'k8s_events', eventTime: 'lastTimestamp' },
  Alert: { topic: 'k8s.alerts', table: 'k8s_alerts', eventTime: 'updatedAt' },
  Incident: { topic: 'k8s.incidents', table: 'k8s_incidents', eventTime: undefined },
  Gap: { topic: 'k8s.gaps', table: 'k8s_gaps', eventTime: undefined },
  DeadLetter: { topic: 'k8s.deadletter', table: 'k8s_deadletter', eventTime: undefined },
};

const PRIMITIVES = { boolean: 'BOOLEAN', int: 'INT', long: 'BIGINT', float: 'FLOAT', double: 'DOUBLE', bytes: 'BYTES', string: 'STRING' };

/** `name` quoted for Flink SQL. */
export function quote(name) {
  return '`' + String(name).replaceAll('`', '``') + '`';
}

function fullName(name, namespace) {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

/**
 * The Flink SQL type of an Avro type (parsed JSON), without nullability: { sql, nullable }.
 * `named` collects the named types seen so far (records, enums), for references by name.
 */
export function flinkType(type, named = new Map(), namespace = '', path = '') {
  if (typeof type === 'string') {
    if (PRIMITIVES[type]) return { sql: PRIMITIVES[type], nullable: false };
    if (type === 'null') return { sql: 'NULL', nullable: true };
    const ref = named.get(fullName(type, namespace)) ?? named.get(type);
    if (!ref) throw new Error(`${path || 'schema'}: unknown type name '${type}'`);
    return flinkType(ref.type, named, ref.namespace, path);
  }
  if (Array.isArray(type)) {
    const branches = type.filter((b) => b !== 'null');
    if (branches.length === 1 && type.length === 2) {
      return { sql: flinkType(branches[0], named, namespace, path).sql, nullable: true };
    }
    throw new Error(`${path}: union ${JSON.stringify(type)} has no Flink SQL column type (only ["null", T] unions do)`);
  }
  if (type.logicalType) {
    const lt = `${type.type}/${type.logicalType}`;
    if (lt === 'long/timestamp-millis') return { sql: 'TIMESTAMP(3)', nullable: false };
    if (lt === 'long/timestamp-micros') return { sql: 'TIMESTAMP(6)', nullable: false };
    if (lt === 'int/date') return { sql: 'DATE', nullable: false };
    throw new Error(`${path}: logical type ${type.logicalType} on ${type.type} is not mapped here`);
  }
  switch (type.type) {
    case 'record': {
      const ns = type.namespace ?? (type.name.includes('.') ? type.name.slice(0, type.name.lastIndexOf('.')) : namespace);
      named.set(fullName(type.name, ns), { type, namespace: ns });
      const fields = flinkColumns(type, named, ns, path);
      return { sql: `ROW<${fields.map((f) => `${quote(f.name)} ${f.sql}${f.nullable ? '' : ' NOT NULL'}`).join(', ')}>`, nullable: false };
    }
    case 'enum': {
      const ns = type.namespace ?? namespace;
      named.set(fullName(type.name, ns), { type, namespace: ns });
      return { sql: 'STRING', nullable: false };
    }
    case 'array': {
      const item = flinkType(type.items, named, namespace, `${path}[]`);
      return { sql: `ARRAY<${item.sql}${item.nullable ? '' : ' NOT NULL'}>`, nullable: false };
    }
    case 'map': {
      const value = flinkType(type.values, named, namespace, `${path}{}`);
      return { sql: `MAP<STRING NOT NULL, ${value.sql}${value.nullable ? '' : ' NOT NULL'}>`, nullable: false };
    }
    case 'fixed':
      throw new Error(`${path}: fixed is not mapped here`);
    default:
      if (PRIMITIVES[type.type] || type.type === 'null') return flinkType(type.type, named, namespace, path);
      throw new Error(`${path}: unknown Avro type ${JSON.stringify(type)}`);
  }
}

/** The columns of a record schema: [{ name, sql, nullable, doc }]. */
export function flinkColumns(record, named = new Map(), namespace = record.namespace ?? '', path = record.name) {
  if (record.type !== 'record') throw new Error(`${path}: not a record schema`);
  named.set(fullName(record.name, namespace), { type: record, namespace });
  return record.fields.map((field) => {
    const t = flinkType(field.type, named, namespace, `${path}.${field.name}`);
    return { name: field.name, sql: t.sql, nullable: t.nullable, doc: field.doc };
  });
}

/** SQL string literal. */
export function literal(text) {
  return `'${String(text).replaceAll("'", "''")}'`;
}

/**
 * The CREATE TABLE statement for `schemaText` (the .avsc's text). Options: table, topic,
 * bootstrapServers, registryUrl, groupId, eventTime (a NOT NULL TIMESTAMP(3) field to put a
 * watermark on), watermarkDelaySeconds, bounded (stop at the latest offsets at start), kind (for
 * the defaults).
 */
export function flinkDdl(schemaText, options = {}) {
  const schema = JSON.parse(schemaText);
  const kind = schema.name;
  const d = DEFAULTS[kind] ?? { topic: kind, table: kind.toLowerCase(), eventTime: undefined };
  const o = {
    table: d.table,
    topic: d.topic,
    bootstrapServers: 'kafka:9092',
    registryUrl: 'http://schema-registry:8081',
    groupId: `flink-${d.table.replaceAll('_', '-')}`,
    eventTime: undefined,
    watermarkDelaySeconds: 5,
    bounded: false,
    ...options,
  };
  const columns = flinkColumns(schema);
  const lines = columns.map((c) => `  ${quote(c.name)} ${c.sql}${c.nullable ? '' : ' NOT NULL'}`);
  if (o.eventTime) {
    const col = columns.find((c) => c.name === o.eventTime);
    if (!col || col.sql !== 'TIMESTAMP(3)' || col.nullable) {
      throw new Error(`--event-time ${o.eventTime}: needs a NOT NULL timestamp-millis field of ${kind}`);
    }
    lines.push(`  WATERMARK FOR ${quote(o.eventTime)} AS ${quote(o.eventTime)} - INTERVAL '${Number(o.watermarkDelaySeconds)}' SECOND`);
  }
  const withOptions = [
    ['connector', 'kafka'],
    ['topic', o.topic],
    ['properties.bootstrap.servers', o.bootstrapServers],
    ['properties.group.id', o.groupId],
    ['scan.startup.mode', 'earliest-offset'],
    ...(o.bounded ? [['scan.bounded.mode', 'latest-offset']] : []),
    ['value.format', 'avro-confluent'],
    ['value.avro-confluent.url', o.registryUrl],
    // the writer's schema, compact: with it the enum fields are read as written
    ['value.avro-confluent.schema', JSON.stringify(schema)],
  ];
  return [
    `-- generated by scripts/flink-ddl.mjs from the ${kind} .avsc (${columns.length} fields); do not edit by hand`,
    `CREATE TABLE ${quote(o.table)} (`,
    lines.join(',\n'),
    ') WITH (',
    withOptions.map(([k, v]) => `  ${literal(k)} = ${literal(v)}`).join(',\n'),
    ');',
    '',
  ].join('\n');
}

function parseArgs(argv) {
  const out = { file: undefined, options: {} };
  const names = {
    '--table': 'table',
    '--topic': 'topic',
    '--bootstrap-servers': 'bootstrapServers',
    '--registry-url': 'registryUrl',
    '--group-id': 'groupId',
    '--event-time': 'eventTime',
    '--watermark-delay': 'watermarkDelaySeconds',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--bounded') out.options.bounded = true;
    else if (names[a]) {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      out.options[names[a]] = v;
    } else if (a === '-h' || a === '--help') {
      out.help = true;
    } else if (!a.startsWith('--') && out.file === undefined) out.file = a;
    else throw new Error(`unexpected argument '${a}' (see --help)`);
  }
  return out;
}

if (process.argv[1] && basename(process.argv[1]) === basename(fileURLToPath(import.meta.url))) {
  try {
    const args = parseArgs(process.argv.slice(2));
    if (args.help) {
      const me = readFileSync(fileURLToPath(import.meta.url), 'utf8');
      process.stdout.write(me.slice(me.indexOf('/**') + 4, me.indexOf('*/')).replace(/^ \* ?/gm, ''));
    } else {
      const file = args.file ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas', 'KubeEvent.avsc');
      process.stdout.write(flinkDdl(readFileSync(file, 'utf8'), args.options));
    }
  } catch (error) {
    process.stderr.write(`flink-ddl: ${error.message}\n`);
    process.exit(2);
  }
}
