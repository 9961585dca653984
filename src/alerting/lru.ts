/**
 * A bounded set of recently seen keys, least recently added evicted first. The alert sinks keep
 * one per receiver with the idempotency keys of the notifications delivered (or dead-lettered),
 * to suppress the duplicates Kafka's at-least-once delivery brings after a rebalance or a retried
 * commit. It lives in memory: it covers one process lifetime only.
 */
export class LruSet {
  private readonly keys = new Map<string, true>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LRU capacity must be an integer >= 1, got ${capacity}`);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    this.keys.delete(key);
    this.keys.set(key, true);
    while (this.keys.size > this.capacity) {
      const oldest = this.keys.keys().next();
      if (oldest.done) break;
      this.keys.delete(oldest.value);
    }
  }

  get size(): number {
    return this.keys.size;
  }
}
