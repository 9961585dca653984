/**
 * How schema problems of pipeline files read: places are stages and sinks with their options
 * (`stage "rate" option "window"`), unknown stage and sink names get "did you mean" among the
 * registered ones, a stage written without its required options says which. The walk itself is
 * the config kit's (src/core/zod-diagnostics.ts), positions come from src/core/yaml-locator.ts.
 *
 *   pipelines/x.yaml:12:7: error: unknown stage "dedup" (did you mean "dedupe"?)
 */
import type { z } from 'zod';
import { didYouMean, type Diagnostic } from '../core/diagnostics.js';
import { diagnosticAt, formatPath, type DocumentLocator, type PathSegment } from '../core/yaml-locator.js';
import { quoteShort, typeName, zodProblems, type Issue, type Phrasing, type SchemaProblem } from '../core/zod-diagnostics.js';
import { requiredKeys, schemaAtPath } from '../core/zod-schema.js';
import { ONE_KEY_ISSUE, SHORTHAND_STAGES, SINK_TYPES, STAGE_TYPES } from './schema.js';

/** Where a path is, for people: `stage "rate" option "window"`, `sink "kafka" option "topic"`, or `field "metadata.name"`. */
interface Place {
  /** `stage "rate"`, `sink "kafka"`, or null outside stages and sinks. */
  owner: string | null;
  /** The option path under the owner (or the whole field path): `window`, `not.reason`. */
  field: string;
}

function placeOf(path: readonly PathSegment[]): Place {
  for (let i = path.length - 3; i >= 0; i--) {
    const listName = path[i];
    if ((listName === 'stages' || listName === 'sinks') && typeof path[i + 1] === 'number' && typeof path[i + 2] === 'string') {
      const name = path[i + 2] as string;
      const known = listName === 'stages' ? (STAGE_TYPES as readonly string[]).includes(name) : (SINK_TYPES as readonly string[]).includes(name);
      if (!known) break;
      return { owner: `${listName === 'stages' ? 'stage' : 'sink'} "${name}"`, field: formatPath(path.slice(i + 3)) };
    }
  }
  return { owner: null, field: formatPath(path) };
}

function where(place: Place): string {
  if (place.owner && place.field) return `${place.owner} option "${place.field}"`;
  if (place.owner) return place.owner;
  return place.field ? `field "${place.field}"` : 'the document';
}

function isStagePath(path: readonly PathSegment[]): boolean {
  return path.length >= 2 && path[path.length - 2] === 'stages' && typeof path[path.length - 1] === 'number';
}
function isSinkPath(path: readonly PathSegment[]): boolean {
  return path.length >= 2 && path[path.length - 2] === 'sinks' && typeof path[path.length - 1] === 'number';
}

function pipelinePhrasing(root: z.ZodType): Phrasing {
  const stageList = STAGE_TYPES.join(', ');
  const sinkList = SINK_TYPES.join(', ');
  const needsOptions = (noun: 'stage' | 'sink', type: string, optionsPath: PathSegment[]): string => {
    const required = requiredKeys(schemaAtPath(root, optionsPath, { [type]: {} }));
    return `${noun} "${type}" needs options${required.length ? `: ${required.join(', ')}` : ''}`;
  };
  return {
    place: (path) => where(placeOf(path)),
    unknownKey(path, key) {
      if (isStagePath(path)) return { message: `unknown stage ${quoteShort(key)}`, hint: didYouMean(key, STAGE_TYPES) ?? `stages are: ${stageList}` };
      if (isSinkPath(path)) return { message: `unknown sink ${quoteShort(key)}`, hint: didYouMean(key, SINK_TYPES) ?? `sinks are: ${sinkList}` };
      const owner = placeOf([...path, key]);
      return { message: owner.owner ? `unknown option "${owner.field}" for ${owner.owner}` : `unknown field "${formatPath([...path, key])}"` };
    },
    missing(path) {
      const parent = placeOf(path.slice(0, -1));
      const name = String(path[path.length - 1]);
      return {
        message: parent.owner
          ? `${parent.owner}: missing required option "${parent.field ? `${parent.field}.` : ''}${name}"`
          : `missing required field "${formatPath(path)}"`,
      };
    },
    special(issue: Issue, path, value, kit): SchemaProblem[] | null {
      if (issue.code === 'invalid_union' && (isStagePath(path) || isSinkPath(path))) {
        const stage = isStagePath(path);
        const noun = stage ? 'stage' : 'sink';
        const kinds: readonly string[] = stage ? STAGE_TYPES : SINK_TYPES;
        if (typeof value === 'string') {
          if (kinds.includes(value))
            return [{ path, message: needsOptions(noun, value, [...path, value]), hint: `write it as a map: "- ${value}:" followed by its options` }];
          const hint =
            didYouMean(value, kinds) ??
            `${noun}s are: ${stage ? stageList : sinkList}${stage ? `; written without options: ${SHORTHAND_STAGES.join(', ')}` : ''}`;
          return [{ path, message: `unknown ${noun} ${quoteShort(value)}`, hint }];
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          return [{ path, message: `a ${noun} is a map with one key, the ${noun} type (or just its name), got ${typeName(value)}` }];
        }
        return null;
      }
      if (issue.code === 'invalid_type' && value !== undefined) {
        const last = path[path.length - 1];
        const parent = path.slice(0, -1);
        if (value === null && typeof last === 'string' && (isStagePath(parent) || isSinkPath(parent))) {
          return [{ path, message: needsOptions(isStagePath(parent) ? 'stage' : 'sink', last, path) }];
        }
        if (path.length === 0) return [{ path, message: `a pipeline document is a map with apiVersion, kind, metadata and spec; got ${typeName(value)}` }];
        return null;
      }
      if (issue.code === 'custom' && (issue.params as Record<string, unknown> | undefined)?.[ONE_KEY_ISSUE]) {
        if (kit.unknownKeyPaths.has(JSON.stringify(path))) return []; // the unknown key says it better
        const keys = ((issue.params as Record<string, unknown>)['keys'] as string[] | undefined) ?? [];
        return [keys.length > 1 ? { path, key: keys[1]!, message: issue.message } : { path, message: issue.message }];
      }
      return null;
    },
  };
}

/**
 * Turns the issues of `root.safeParse(data)` into diagnostics at the YAML positions: every issue
 * is reported (a failed union is reported through the branch that fits the input best).
 */
export function issuesToDiagnostics(issues: readonly Issue[], data: unknown, root: z.ZodType, locator: DocumentLocator): Diagnostic[] {
  return zodProblems(issues, data, root, pipelinePhrasing(root)).map((p) =>
    p.key !== undefined
      ? diagnosticAt(locator, [...p.path, p.key], { message: p.message, hint: p.hint, key: true })
      : diagnosticAt(locator, p.path, { message: p.message, hint: p.hint }),
  );
}
