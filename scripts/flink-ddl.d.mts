/** Types of scripts/flink-ddl.mjs (a plain Node script, so that it runs without a build). */
export interface FlinkType {
  sql: string;
  nullable: boolean;
}
export interface FlinkColumn extends FlinkType {
  name: string;
  doc?: string;
}
export interface FlinkDdlOptions {
  table?: string;
  topic?: string;
  bootstrapServers?: string;
  registryUrl?: string;
  groupId?: string;
  eventTime?: string;
  watermarkDelaySeconds?: number | string;
  bounded?: boolean;
}
export function quote(name: string): string;
export function literal(text: string): string;
export function flinkType(type: unknown, named?: Map<string, unknown>, namespace?: string, path?: string): FlinkType;
export function flinkColumns(record: unknown, named?: Map<string, unknown>, namespace?: string, path?: string): FlinkColumn[];
export function flinkDdl(schemaText: string, options?: FlinkDdlOptions): string;
