/**
 * Walking zod schemas: what the error messages, the generated docs and `explain` need to know
 * about a schema besides validating with it (the object shape at a path, required keys, which
 * option of a union the data meant, values shown back in their written form).
 */
import type { z } from 'zod';
import { isDurationSchema, showDuration } from './duration.js';
import type { PathSegment } from './yaml-locator.js';

type AnyDef = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
  discriminator?: string;
};

/** Unwraps optional/nullable/default/prefault/readonly/lazy and non-duration pipes. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let depth = 0; depth < 20; depth++) {
    if (isDurationSchema(s)) return s;
    const def = s.def as AnyDef;
    if (def.innerType && ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(def.type)) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else if (def.type === 'lazy' && def.getter) s = def.getter();
    else return s;
  }
  return s;
}

/** The object shape of a schema (after unwrapping), or null when it is not an object. */
export function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | null {
  const s = unwrapSchema(schema);
  if (s.def.type !== 'object') return null;
  return (s as z.ZodObject).shape as Record<string, z.ZodType>;
}

/** The option of a union the data most likely meant (by discriminator, then by shape). */
export function pickOption(s: z.ZodType, data: unknown): z.ZodType {
  const def = s.def as AnyDef;
  if (def.type !== 'union' || !def.options) return s;
  const options = def.options.map(unwrapSchema);
  if (def.discriminator && data !== null && typeof data === 'object') {
    const discriminator = def.discriminator;
    const want = (data as Record<string, unknown>)[discriminator];
    const found = options.find((o) => (shapeOf(o)?.[discriminator]?.def as { values?: unknown[] } | undefined)?.values?.includes(want));
    if (found) return found;
  }
  const want = Array.isArray(data) ? 'array' : data !== null && typeof data === 'object' ? 'object' : null;
  const option = options.find((o) => o.def.type === want) ?? options.find((o) => o.def.type === 'object');
  return option ?? s;
}

/** The schema at `path`, choosing union options by the data. */
export function schemaAtPath(root: z.ZodType, path: readonly PathSegment[], data: unknown): z.ZodType | null {
  let s: z.ZodType | null = root;
  let d = data;
  for (const seg of path) {
    if (!s) return null;
    s = pickOption(unwrapSchema(s), d);
    const def = s.def as AnyDef;
    if (def.type === 'object') s = (shapeOf(s) ?? {})[String(seg)] ?? null;
    else if (def.type === 'array') s = def.element ?? null;
    else if (def.type === 'record') s = def.valueType ?? null;
    else return null;
    d = d !== null && typeof d === 'object' ? (d as Record<PathSegment, unknown>)[seg] : undefined;
  }
  return s ? pickOption(unwrapSchema(s), d) : null;
}

/** Required keys of the object schema `s` (those without a default and not optional). */
export function requiredKeys(s: z.ZodType | null): string[] {
  const shape = s ? shapeOf(s) : null;
  if (!shape) return [];
  return Object.entries(shape)
    .filter(([, v]) => !(v as { isOptional?: () => boolean }).isOptional?.())
    .map(([k]) => k);
}

/**
 * An effective option value formatted for people, as it would be written: durations back to
 * `5m`, the rest as is. Used by `kubevents explain` and the generated docs.
 */
export function displayValue(schema: z.ZodType | undefined, value: unknown): unknown {
  if (value === undefined || value === null || !schema) return value;
  if (isDurationSchema(schema) && typeof value === 'number') return showDuration(value);
  const s = unwrapSchema(schema);
  const def = s.def as AnyDef;
  if (def.type === 'object' && typeof value === 'object' && !Array.isArray(value)) {
    const shape = (s as z.ZodObject).shape as Record<string, z.ZodType>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      out[k] = displayValue(shape[k], v);
    }
    return out;
  }
  if (def.type === 'array' && Array.isArray(value)) return value.map((v) => displayValue(def.element, v));
  if (def.type === 'record' && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, displayValue(def.valueType, v)]));
  }
  if (def.type === 'union' && def.options) {
    const duration = def.options.find((o) => isDurationSchema(o));
    if (duration && typeof value === 'number') return showDuration(value);
    if (typeof value === 'object' && !Array.isArray(value)) {
      // the object option the value is of: every key in its shape, its literals (a discriminator such as `type`) equal
      const objects = def.options.filter((o) => unwrapSchema(o).def.type === 'object');
      const fits = (o: z.ZodType): boolean => {
        const shape = (unwrapSchema(o) as z.ZodObject).shape as Record<string, z.ZodType>;
        return Object.entries(value as Record<string, unknown>).every(([k, v]) => {
          const field = shape[k];
          if (!field) return false;
          const fd = unwrapSchema(field).def as { type: string; values?: unknown[] };
          return fd.type !== 'literal' || (fd.values ?? []).includes(v);
        });
      };
      const objectOption = objects.find(fits) ?? objects[0];
      if (objectOption) return displayValue(objectOption, value);
    }
    const arrayOption = def.options.find((o) => unwrapSchema(o).def.type === 'array');
    if (arrayOption && Array.isArray(value)) return displayValue(arrayOption, value);
  }
  return value;
}
