/**
 * Released versions of the schemas, frozen under schemas/history/<Kind>.v<N>.avsc (see the README
 * there). Decoders use them as known writer schemas; the schema-evolution test checks that the
 * current schemas read records written with each of them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import { RECORD_KINDS, loadSchema, parseSchema, schemaPath, type LoadedSchema } from './schemas.js';

export interface HistoricSchema extends LoadedSchema {
  /** The record kind, e.g. KubeEvent (LoadedSchema.kind is e.g. KubeEvent.v1 here). */
  recordKind: string;
  version: number;
  file: string;
}

const HISTORY_FILE = /^([A-Za-z][A-Za-z0-9_]*)\.v([0-9]+)\.avsc$/;

export function historyDir(): string {
  return join(packageRoot(), 'schemas', 'history');
}

/** Every released version of every kind, oldest first per kind. */
export function loadHistory(dir = historyDir()): HistoricSchema[] {
  if (!existsSync(dir)) return [];
  const out: HistoricSchema[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = HISTORY_FILE.exec(file);
    if (!m) continue;
    const recordKind = m[1] as string;
    const version = Number(m[2]);
    const path = join(dir, file);
    const loaded = parseSchema(`${recordKind}.v${version}`, readFileSync(path, 'utf8'));
    out.push({ ...loaded, recordKind, version, file: path });
  }
  return out.sort((a, b) => a.recordKind.localeCompare(b.recordKind) || a.version - b.version);
}

/** The current schemas of the record kinds that have a schemas/<Kind>.avsc file. */
export function loadCurrentSchemas(): LoadedSchema[] {
  return RECORD_KINDS.filter((kind) => existsSync(schemaPath(kind))).map((kind) => loadSchema(kind));
}
