/**
 * Every pipeline sink. A new sink is one file in this folder and one line here; the pipeline
 * format, `explain` and the docs follow (pipelines/README.md, "Adding a stage").
 */
import { consoleSink } from './console.js';
import type { SinkDefinition, SinkEnvironment } from './definition.js';
import { fileSink } from './file.js';
import { kafkaSink } from './kafka.js';
import type { Sink } from './sink.js';
import { stdoutSink } from './stdout.js';

export const SINKS: readonly SinkDefinition[] = [kafkaSink, fileSink, stdoutSink, consoleSink];

const BY_TYPE = new Map(SINKS.map((s) => [s.type, s]));

export function sinkOf(type: string): SinkDefinition | undefined {
  return BY_TYPE.get(type);
}

/** The run's sink for each of `types` (the sink types its pipelines use): what the router registers. */
export function sinksFor(env: SinkEnvironment, types: Iterable<string>): Record<string, Sink> {
  const out: Record<string, Sink> = {};
  for (const type of types) {
    const definition = BY_TYPE.get(type);
    if (!definition) throw new Error(`unknown sink type "${type}" (sinks: ${SINKS.map((s) => s.type).join(', ')})`);
    out[type] = definition.sink(env);
  }
  return out;
}
