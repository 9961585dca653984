/**
 * The Event watch of one scope (all namespaces, or one namespace) with its checkpoint tracker:
 * every item of the Event source (occurrence, dead letter, SYNCED, GAP) opens a source position in
 * the tracker, in emission order, and is handed to the job while that position is open. It can be
 * paused (the watch is unsubscribed, for backpressure) and resumed from the last resume point it
 * emitted, and its selectors can be changed (a reload widening the scope): it then resumes from
 * that point with the new ones.
 *
 * A watch event's position is its resourceVersion. Items from a (re)list are not in
 * resourceVersion order, so their positions carry the previous resume point, and the SYNCED marker
 * that ends the list carries the list's resourceVersion; a GAP marker likewise carries the previous
 * resume point (the SYNCED after it is the new one). Inside a list the feed has no resume point of
 * its own: `cutPoint()` is then null (job-checkpointer.ts waits for the SYNCED).
 *
 * `covered` (a watch taking over namespaces that narrower watches followed up to some
 * resourceVersion, see live-job.ts): Events of such a namespace at or before that resourceVersion
 * were already handed to the job, so they are skipped (their positions still open and close).
 */
import type { Registry } from 'prom-client';
import { Subscription } from 'rxjs';
import type { CheckpointSource } from '../checkpoint/job-checkpointer.js';
import type { CheckpointKey, StatePosition } from '../checkpoint/store.js';
import type { CheckpointTracker } from '../checkpoint/tracker.js';
import type { Logger } from '../core/logger.js';
import { countSourceMarkers } from '../core/metrics.js';
import type { SourcePosition } from '../model/position.js';
import { createEventSource, type EventSourceItem } from './event-source.js';
import type { KubeSource } from './kube-source.js';
import { isAtOrBefore } from './resource-version.js';
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

export interface EventFeedOptions {
  /** The checkpoint key (resource `events` or `events@<namespace>`) and its tracker. */
  key: CheckpointKey;
  tracker: CheckpointTracker;
  /** Where to resume the watch; null: list first. */
  resumeFrom: ResumePoint | null;
  /** Namespace -> resourceVersion up to which its Events were already handled (see the module doc). */
  covered?: Record<string, string> | null;
}

export class EventFeed implements CheckpointSource {
  readonly key: CheckpointKey;
  readonly tracker: CheckpointTracker;
  private subscription: Subscription | null = null;
  private resume: ResumePoint | null;
  private inList = false;
  private lastSeq = 0;
  private readonly covered: Map<string, string>;
  /**
   * Events (uid -> resourceVersion) handed to the job from a list that has not reached its SYNCED
   * yet. A pause inside that list (backpressure) drops the rest of it, and the next start lists
   * again from the same point: without this, the Events already handed over would be handed over
   * again, and a backlog larger than the sink buffer would be listed over and over, never past it.
   */
  private readonly handedInList = new Map<string, string>();
  private selectors: { fieldSelector?: string | undefined; labelSelector?: string | undefined };
  private retiredFlag = false;

  constructor(
    readonly namespace: string | null,
    options: EventFeedOptions,
    private readonly deps: FeedDeps,
  ) {
    this.key = options.key;
    this.tracker = options.tracker;
    this.resume = options.resumeFrom;
    this.covered = new Map(Object.entries(options.covered ?? {}));
    this.selectors = { fieldSelector: deps.fieldSelector, labelSelector: deps.labelSelector };
  }

  get resource(): string {
    return this.key.resource;
  }

  get resumePoint(): ResumePoint | null {
    return this.resume;
  }

  get running(): boolean {
    return this.subscription !== null;
  }

  get retired(): boolean {
    return this.retiredFlag;
  }

  /** The selectors the watch uses. */
  get scope(): { fieldSelector: string | undefined; labelSelector: string | undefined } {
    return { fieldSelector: this.selectors.fieldSelector, labelSelector: this.selectors.labelSelector };
  }

  cutPoint(): { seq: number; position: StatePosition } | null {
    if (this.inList) return null;
    const position: StatePosition = { resourceVersion: this.resume?.resourceVersion ?? null };
    if (this.covered.size > 0) position.covered = Object.fromEntries(this.covered);
    return { seq: this.lastSeq, position };
  }

  start(): void {
    if (this.subscription || this.retiredFlag) return;
    const events = createEventSource(this.deps.kubeSource.registry, {
      cluster: this.deps.cluster,
      namespaces: this.namespace === null ? null : [this.namespace],
      api: this.deps.eventApi,
      ...(this.selectors.fieldSelector ? { fieldSelector: this.selectors.fieldSelector } : {}),
      ...(this.selectors.labelSelector ? { labelSelector: this.selectors.labelSelector } : {}),
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

  /** Watches with these selectors from now on, resuming from the last resume point (restarts a running watch). */
  setSelectors(selectors: { fieldSelector?: string | undefined; labelSelector?: string | undefined }): void {
    const running = this.running;
    this.pause();
    this.selectors = { fieldSelector: selectors.fieldSelector, labelSelector: selectors.labelSelector };
    if (running) this.start();
  }

  /** Stops for good: another watch covers this scope from now on (its last positions are still waited for). */
  retire(): void {
    this.pause();
    this.retiredFlag = true;
  }

  private handle(item: EventSourceItem): void {
    const tracker = this.tracker;
    const previous = this.resume?.resourceVersion ?? '';
    let rv: string;
    if (item.type === 'SYNCED') rv = item.resourceVersion;
    else if (item.type === 'GAP') rv = previous;
    else rv = item.checkpoint ?? previous;
    const position = tracker.open(rv);
    this.lastSeq = position.seq;
    try {
      if (!this.skip(item)) {
        if (item.type === 'EVENT' && item.checkpoint === null) this.handedInList.set(item.event.uid, item.event.resourceVersion);
        this.deps.onItem(this, item, position);
      }
    } catch (error) {
      // never checkpoint past an item that could not be handled: a restart replays it
      tracker.retain(position);
      this.deps.onError(new Error(`handling an Event item (${this.resource} at ${rv || 'list'}) failed: ${asError(error).message}`, { cause: error }));
    } finally {
      tracker.close(position);
    }
    if (item.type === 'SYNCED') {
      this.resume = { resourceVersion: item.resourceVersion, time: Date.now() };
      this.inList = false;
      this.handedInList.clear();
    } else if (item.type === 'GAP') {
      this.inList = true;
    } else if (item.checkpoint) {
      this.resume = { resourceVersion: item.checkpoint, time: Date.now() };
      this.inList = false;
    } else {
      this.inList = true;
    }
    if (this.covered.size > 0 && this.resume) {
      const at = this.resume.resourceVersion;
      for (const [ns, upTo] of this.covered) if (isAtOrBefore(upTo, at)) this.covered.delete(ns);
    }
  }

  /** An Event of a covered namespace at or before what was already handled (see the module doc), or already handed over from an unfinished list. */
  private skip(item: EventSourceItem): boolean {
    if (item.type !== 'EVENT') return false;
    if (item.checkpoint === null && this.handedInList.size > 0) {
      const handed = this.handedInList.get(item.event.uid);
      if (handed !== undefined && isAtOrBefore(item.event.resourceVersion, handed)) return true;
    }
    if (this.covered.size === 0) return false;
    const upTo = this.covered.get(item.event.namespace ?? '');
    return upTo !== undefined && isAtOrBefore(item.event.resourceVersion, upTo);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
