/**
 * What a set of pipelines needs from the run: the scope of the one shared Event watch, the Kafka
 * topics their kafka sinks name (checked, created and registered at start), and the sink types
 * the router must offer.
 */
import type { Logger } from 'pino';
import { topicFor, type SinkTopics, type TopicRoute } from '../sinks/kafka-topics.js';
import { allSinks } from './graph.js';
import type { LoadedPipeline } from './load.js';
import { isAvroKind } from './record-kinds.js';

/**
 * What the one shared Event watch must cover for these pipelines: the union of their namespaces
 * (null = all when any pipeline wants all), their field selector when they all use the same one
 * (each pipeline still applies its own), their label selector (load.ts makes them agree).
 */
export function watchScope(pipelines: readonly LoadedPipeline[]): {
  namespaces: string[] | null;
  fieldSelector: string | undefined;
  labelSelector: string | undefined;
} {
  const sources = pipelines.map((p) => p.graph.source);
  const namespaces = sources.some((s) => s.namespaces === null) ? null : [...new Set(sources.flatMap((s) => s.namespaces ?? []))].sort();
  const fields = new Set(sources.map((s) => s.fieldSelector));
  const labels = new Set(sources.map((s) => s.labelSelector));
  const only = (set: Set<string | null>): string | undefined => (set.size === 1 ? ([...set][0] ?? undefined) : undefined);
  return { namespaces: namespaces && namespaces.length > 0 ? namespaces : null, fieldSelector: only(fields), labelSelector: only(labels) };
}

/**
 * The namespaces to watch: --namespace (`requested`) and what the pipelines need (`needed`, null:
 * all). Both given: their intersection (the pipelines filter their own namespaces anyway); an empty
 * intersection keeps --namespace and says so.
 */
export function combineNamespaces(requested: readonly string[] | null | undefined, needed: readonly string[] | null, logger?: Logger): string[] {
  const cli = [...new Set((requested ?? []).filter((n) => n && n !== '*' && n !== 'all'))].sort();
  if (!needed || needed.length === 0) return cli;
  if (cli.length === 0) return [...new Set(needed)].sort();
  const both = cli.filter((n) => needed.includes(n));
  if (both.length === 0) {
    logger?.warn({ namespaces: cli, pipelineNamespaces: needed }, 'the pipelines only read namespaces outside --namespace: their sources will see no events');
    return cli;
  }
  return both;
}

/** The Kafka topics the pipelines' kafka sinks name, with their record kind (a kind's default topic means its configured one). */
export function pipelineTopics(pipelines: readonly LoadedPipeline[], kindTopics: SinkTopics): TopicRoute[] {
  const routes = new Map<string, TopicRoute>();
  for (const p of pipelines) {
    for (const { sink } of allSinks(p.graph)) {
      if (sink.type !== 'kafka' || sink.target === undefined || !isAvroKind(sink.recordKind)) continue;
      const topic = topicFor(sink.recordKind, sink.target, kindTopics);
      routes.set(`${sink.recordKind}\u0000${topic}`, { kind: sink.recordKind, topic });
    }
  }
  return [...routes.values()];
}

/** The sink types the pipelines use, and `kafka` (gaps and dead letters go there). */
export function sinkTypesOf(pipelines: readonly LoadedPipeline[]): Set<string> {
  const types = new Set<string>(['kafka']);
  for (const p of pipelines) for (const { sink } of allSinks(p.graph)) types.add(sink.type);
  return types;
}
