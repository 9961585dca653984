/**
 * Records shared between many outputs and never changed: frozen all the way down, and marked so
 * that encoders may encode them once (src/avro/fast-writer.ts keeps their Avro bytes).
 */

const deeplyFrozen = new WeakSet<object>();

/** Freezes `value` and everything it holds (plain objects and arrays); returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || deeplyFrozen.has(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  Object.freeze(value);
  deeplyFrozen.add(value);
  return value;
}

/** Whether `value` was frozen by deepFreeze (so nothing in it can change). */
export function isDeeplyFrozen(value: unknown): boolean {
  return typeof value === 'object' && value !== null && deeplyFrozen.has(value);
}
