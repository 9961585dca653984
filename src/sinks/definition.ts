/**
 * What a pipeline sink is: one self-contained component, defined in one file of this folder and
 * listed once in registry.ts. It holds its type name, its options as a zod schema (the only place
 * its defaults live), its checks, what it writes to for a record (its target), how `explain`
 * describes it, and which Sink of the run takes its records.
 */
import type { z } from 'zod';
import type { PathSegment } from '../core/yaml-locator.js';
import type { Sink } from './sink.js';

/** The sinks a run offers; a sink definition picks the one that takes its records. */
export interface SinkEnvironment {
  /** The run's Kafka output; null when the run does not publish to Kafka (a replay, or no brokers). */
  kafka: Sink | null;
  /** Avro container files under the run's output directory. */
  files(): Sink;
  /** Standard output. */
  stdout(): Sink;
  /** The console: readable lines for people (stderr when stdout carries data). */
  console(): Sink;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry lists definitions of every options type
export interface SinkDefinition<O = any> {
  /** The key in pipeline files: `kafka`. */
  type: string;
  /** What it does; the description in the docs and the editor schema. */
  summary: string;
  /** Its options (every sink can also be written as its bare name). */
  options: z.ZodType<O>;
  /** It writes Avro records: the records must have a schema (not after select), one schema per target. */
  avro: boolean;
  /** The target of its records (a topic, a file name, a format); `defaultName` is the record kind's topic. */
  target(options: O, defaultName: string | null): string | undefined;
  /** One line for `explain`: `kafka topic k8s.alerts (...) <- Alert records`. */
  describe(options: O, target: string | undefined, what: string): string;
  /** Checks beyond the schema; `report` takes a path under the sink's options. */
  check?(options: O, target: string | undefined, report: (path: PathSegment[], message: string, hint?: string) => void): void;
  /** The sink of the run that takes its records. */
  sink(env: SinkEnvironment): Sink;
}

export function defineSink<S extends z.ZodType>(definition: SinkDefinition<z.output<S>> & { options: S }): SinkDefinition<z.output<S>> {
  return definition;
}
