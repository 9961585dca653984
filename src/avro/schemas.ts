import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { packageRoot } from '../core/paths.js';
import { TimestampMillisType } from './timestamp-millis.js';

/** The record kinds kubevents publishes, one .avsc file each under schemas/. */
export const RECORD_KINDS = ['KubeEvent', 'Alert', 'Incident', 'EventWindow', 'Gap', 'DeadLetter'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export const LOGICAL_TYPES = { 'timestamp-millis': TimestampMillisType };

export interface LoadedSchema {
  kind: string;
  /** The schema as JSON text exactly as published (what a Schema Registry stores). */
  text: string;
  json: avro.Schema;
  type: avro.Type;
  /** Parsing Canonical Form fingerprint (CRC-64-AVRO is not offered by avsc; we use SHA-256 hex). */
  fingerprint: string;
}

const cache = new Map<string, LoadedSchema>();

export function schemaPath(kind: string): string {
  return join(packageRoot(), 'schemas', `${kind}.avsc`);
}

export function parseSchema(kind: string, text: string): LoadedSchema {
  let json: avro.Schema;
  try {
    json = JSON.parse(text) as avro.Schema;
  } catch (error) {
    throw new Error(`schema ${kind}: not valid JSON: ${(error as Error).message}`);
  }
  const type = avro.Type.forSchema(json, { logicalTypes: LOGICAL_TYPES, assertLogicalTypes: true });
  return { kind, text, json, type, fingerprint: type.fingerprint('sha256').toString('hex') };
}

/** Loads schemas/<kind>.avsc once per process. */
export function loadSchema(kind: string): LoadedSchema {
  let loaded = cache.get(kind);
  if (!loaded) {
    const path = schemaPath(kind);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(`cannot read Avro schema ${path}: ${(error as Error).message}`);
    }
    loaded = parseSchema(kind, text);
    cache.set(kind, loaded);
  }
  return loaded;
}
