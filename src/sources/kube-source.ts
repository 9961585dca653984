/**
 * The factory behind `kubevents run --source kube`: a KubeConfig, one WatchRegistry (one watch per
 * resource per process), the Event source and the object caches on it.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Subscription } from 'rxjs';
import type { Logger } from 'pino';
import { silentLogger } from '../core/logger.js';
import type { SourceApi } from '../model/kube-event.js';
import { connectObjectCache, ObjectCache } from './object-cache.js';
import { CACHED_KINDS, type CachedKind } from './object-lookup.js';
import { createEventSource, type DeadLetter, type EventSource } from './event-source.js';
import { describeKubeConfig, loadKubeConfig, parseNamespaces, type KubeConfigOptions } from './kubeconfig.js';
import type { PruneOptions } from './prune.js';
import { WatchRegistry } from './watch-registry.js';
import type { ResumePoint, WatchTimingsInput } from './watch-resource.js';

export interface KubeSourceOptions extends KubeConfigOptions {
  /** An already built KubeConfig (then kubeconfig/context/inCluster are ignored). */
  kubeConfig?: KubeConfig;
  /** Cluster name stamped on events. */
  cluster: string;
  /** --namespace: a name, comma-separated names, or null / '' / '*' / 'all' for all namespaces. */
  namespaces?: string | readonly string[] | null;
  /** Server-side selectors for the Event watch. */
  eventFieldSelector?: string;
  eventLabelSelector?: string;
  /** Event API: 'auto' (default) prefers events.k8s.io/v1. */
  eventApi?: 'auto' | SourceApi;
  /** Resume the Event watch after this checkpoint. */
  resumeFrom?: ResumePoint | null;
  /** Kinds to cache for enrichment; default all, [] for none. */
  cacheKinds?: readonly CachedKind[];
  prune?: PruneOptions | false;
  timings?: WatchTimingsInput;
  logger?: Logger;
  onDeadLetter?: (deadLetter: DeadLetter) => void;
}

export interface KubeSource {
  readonly kubeConfig: KubeConfig;
  readonly registry: WatchRegistry;
  readonly events: EventSource;
  /** The enrichment lookup; filled while connectCaches()'s subscription lives. */
  readonly objects: ObjectCache;
  /** Starts the cache watches; unsubscribe to stop them. */
  connectCaches(): Subscription;
}

export function createKubeSource(options: KubeSourceOptions): KubeSource {
  const logger = options.logger ?? silentLogger;
  const kubeConfig = options.kubeConfig ?? loadKubeConfig(options);
  logger.info({ kube: describeKubeConfig(kubeConfig) }, 'Kubernetes source');
  const registry = new WatchRegistry(kubeConfig, { logger, timings: options.timings, prune: options.prune });
  const namespaces = parseNamespaces(options.namespaces);
  const events = createEventSource(registry, {
    cluster: options.cluster,
    namespaces,
    fieldSelector: options.eventFieldSelector,
    labelSelector: options.eventLabelSelector,
    api: options.eventApi,
    resumeFrom: options.resumeFrom,
    logger,
    onDeadLetter: options.onDeadLetter,
  });
  const objects = new ObjectCache({ logger, prune: options.prune });
  return {
    kubeConfig,
    registry,
    events,
    objects,
    connectCaches: () => connectObjectCache(objects, registry, { kinds: options.cacheKinds ?? CACHED_KINDS, namespaces, logger }),
  };
}
