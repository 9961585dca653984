/**
 * Field pruning for cached objects: memory stays proportional to what matters for enrichment.
 * By default drops metadata.managedFields and the kubectl.kubernetes.io/last-applied-configuration
 * annotation (together often larger than the rest of the object).
 */
import type { KubeObject } from './object-lookup.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

export interface PruneOptions {
  /** Drop metadata.managedFields. Default true. */
  managedFields?: boolean;
  /**
   * Annotations to drop: 'last-applied' (default) drops kubectl's last-applied-configuration,
   * 'all' drops every annotation, 'none' keeps them, or a list of annotation keys.
   */
  annotations?: 'last-applied' | 'all' | 'none' | readonly string[];
}

/**
 * A pruned view of `obj`: the same object when there is nothing to drop, else a shallow copy with
 * a new metadata (the input is never mutated; spec/status are shared).
 */
export function pruneObject<T>(obj: T, options: PruneOptions = {}): T {
  if (typeof obj !== 'object' || obj === null) return obj;
  const o = obj as unknown as KubeObject;
  const meta = o.metadata;
  if (typeof meta !== 'object' || meta === null) return obj;
  const dropManaged = options.managedFields !== false && meta['managedFields'] !== undefined;
  const mode = options.annotations ?? 'last-applied';
  const annotations = meta.annotations;
  let keptAnnotations: Record<string, string> | undefined | null = null; // null: unchanged
  if (annotations && typeof annotations === 'object' && mode !== 'none') {
    const drop = mode === 'all' ? null : mode === 'last-applied' ? [LAST_APPLIED_ANNOTATION] : mode;
    if (drop === null) keptAnnotations = undefined;
    else if (drop.some((k) => k in annotations)) {
      const kept: Record<string, string> = {};
      for (const [k, v] of Object.entries(annotations)) if (!drop.includes(k)) kept[k] = v;
      keptAnnotations = kept;
    }
  }
  if (!dropManaged && keptAnnotations === null) return obj;
  const metadata = { ...meta };
  if (dropManaged) delete metadata['managedFields'];
  if (keptAnnotations === undefined) delete metadata.annotations;
  else if (keptAnnotations !== null) metadata.annotations = keptAnnotations;
  return { ...o, metadata } as unknown as T;
}
