/**
 * The Event watch of one scope (all namespaces, or one namespace) with its checkpointer: every item
 * of the Event source (occurrence, dead letter, SYNCED, GAP) opens a source position in the
 * checkpoint tracker, in emission order, and is handed to the job while that position is open.
 * It can be paused (the watch is unsubscribed, for backpressure) and resumed from the last resume
 * point it emitted.
 *
 * A watch event's position is its resourceVersion. Items from a (re)list are not in
 * resourceVersion order, so their positions carry the previous resume point, and the SYNCED marker
 * that ends the list carries the list's resourceVersion; a GAP marker likewise carries the previous
 * resume point (the SYNCED after it is the new one).
 */
import type { Registry } from 'prom-client';
import { Subscription } from 'rxjs';
import type { Checkpointer } from '../checkpoint/checkpointer.js';
import type { Logger } from '../core/logger.js';
import { countSourceMarkers } from '../core/metrics.js';
import type { SourcePosition } from '../model/position.js';
import { createEventSource, type EventSourceItem } from './event-source.js';
import type { KubeSource } from './kube-source.js';
import type { ResumePoint } from './watch-resource.js';

export interface FeedDeps {
  kubeSource: KubeSource;
  cluster: string;
  eventApi: 'auto' | 'core/v1' | 'events.k8s.io/v1';
  logger: Logger;
  registry: Registry | undefined;
  fieldSelector?: string | undefined;
  labelSelector?: string | undefined;
  onItem: (feed: EventFeed, item: EventSourceItem, position: SourcePosition) => void;
  onError: (error: Error) => void;
}

/**
 * The Event watch of one scope (all namespaces, or one namespace) with its checkpointer. Can be
 * paused (the watch is unsubscribed) and resumed from the last resume point it emitted.
 */
export class EventFeed {
  private subscription: Subscription | null = null;
  private resume: ResumePoint | null;

  constructor(
    readonly namespace: string | null,
    readonly checkpointer: Checkpointer,
    resumeFrom: ResumePoint | null,
    private readonly deps: FeedDeps,
  ) {
    this.resume = resumeFrom;
  }

  get resource(): string {
    return this.checkpointer.key.resource;
  }

  get resumePoint(): ResumePoint | null {
    return this.resume;
  }

  get running(): boolean {
    return this.subscription !== null;
  }

  start(): void {
    if (this.subscription) return;
    const events = createEventSource(this.deps.kubeSource.registry, {
      cluster: this.deps.cluster,
      namespaces: this.namespace === null ? null : [this.namespace],
      api: this.deps.eventApi,
      ...(this.deps.fieldSelector ? { fieldSelector: this.deps.fieldSelector } : {}),
      ...(this.deps.labelSelector ? { labelSelector: this.deps.labelSelector } : {}),
      resumeFrom: this.resume,
      logger: this.deps.logger,
    });
    const subscription = new Subscription();
    this.subscription = subscription;
    subscription.add(
      events.items$.pipe(countSourceMarkers(this.resource, this.deps.registry)).subscribe({
        next: (item) => this.handle(item),
        error: (error: unknown) => {
          if (this.subscription === subscription)
            this.deps.onError(new Error(`Event watch (${this.resource}) failed for good: ${asError(error).message}`, { cause: error }));
        },
        complete: () => {
          if (this.subscription === subscription) this.deps.onError(new Error(`Event watch (${this.resource}) ended unexpectedly`));
        },
      }),
    );
  }

  pause(): void {
    const subscription = this.subscription;
    this.subscription = null;
    subscription?.unsubscribe();
  }

  private handle(item: EventSourceItem): void {
    const tracker = this.checkpointer.tracker;
    const previous = this.resume?.resourceVersion ?? '';
    let rv: string;
    if (item.type === 'SYNCED') rv = item.resourceVersion;
    else if (item.type === 'GAP') rv = previous;
    else rv = item.checkpoint ?? previous;
    const position = tracker.open(rv);
    try {
      this.deps.onItem(this, item, position);
    } catch (error) {
      // never checkpoint past an item that could not be handled: a restart replays it
      tracker.retain(position);
      this.deps.onError(new Error(`handling an Event item (${this.resource} at ${rv || 'list'}) failed: ${asError(error).message}`, { cause: error }));
    } finally {
      tracker.close(position);
    }
    if (item.type === 'SYNCED') this.resume = { resourceVersion: item.resourceVersion, time: Date.now() };
    else if ((item.type === 'EVENT' || item.type === 'DEAD_LETTER') && item.checkpoint) this.resume = { resourceVersion: item.checkpoint, time: Date.now() };
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
