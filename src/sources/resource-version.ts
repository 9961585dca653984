/**
 * Comparing resourceVersions.
 *
 * Kubernetes documents resourceVersion as opaque: clients may only test equality and pass it back.
 * ASSUMPTION: with the etcd3 storage every kube-apiserver ships, a resourceVersion is the decimal
 * etcd revision at which the object was last written (a list's is the revision of its snapshot),
 * so two resourceVersions of one cluster compare as integers. We rely on that only where ordering
 * is unavoidable (skipping versions at or before a checkpoint, ignoring a stale version of an
 * object we already emitted), and only when BOTH parse as non-negative decimal integers;
 * otherwise we fall back to equality (and treat "different" as "newer"), never guessing an order.
 */

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** The resourceVersion as a bigint when it is a plain decimal integer, else null. */
export function parseResourceVersion(rv: string | null | undefined): bigint | null {
  if (typeof rv !== 'string' || !DECIMAL.test(rv)) return null;
  return BigInt(rv);
}

/**
 * -1, 0 or 1 when both are integers (a before, equal, after b); 0 when they are equal strings;
 * null when they differ and cannot be ordered.
 *
 * Decimal strings without leading zeros compare by length, then digit by digit: no BigInt is made
 * (parsing a resourceVersion of a million digits into one took a second, on every watch event).
 */
export function compareResourceVersions(a: string, b: string): -1 | 0 | 1 | null {
  if (a === b) return 0;
  if (!DECIMAL.test(a) || !DECIMAL.test(b)) return null;
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : 1;
}

/** True when `rv` is known to be at or before `reference` (equal, or both integers and rv <= reference). */
export function isAtOrBefore(rv: string, reference: string): boolean {
  const c = compareResourceVersions(rv, reference);
  return c !== null && c <= 0;
}

/** True when `rv` is known to be strictly before `reference` (both integers). */
export function isBefore(rv: string, reference: string): boolean {
  return compareResourceVersions(rv, reference) === -1;
}

/**
 * The later of two resourceVersions for tracking a watch position: the integer maximum when both
 * parse, else `candidate` (the most recently seen one, as the API delivers them in order).
 */
export function laterResourceVersion(current: string | null, candidate: string): string {
  if (current === null) return candidate;
  const c = compareResourceVersions(candidate, current);
  return c === -1 ? current : candidate;
}
