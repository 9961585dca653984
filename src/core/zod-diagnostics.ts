/**
 * zod issues turned into problems people can act on, for every configuration format: every issue
 * is reported (a failed union through the option that fits the input best), unknown keys get a
 * "did you mean" among the keys the schema allows, missing values are called missing, values are
 * named the way YAML shows them ("a list", the string "5 m").
 *
 * A format says how a place reads (`stage "rate" option "window"`, `receiver "ops" (dingtalk)
 * field "url"`, or nothing when the path is printed apart) and may take over particular issues;
 * it then turns the problems into diagnostics at YAML positions (yaml-locator.ts) or environment
 * variables.
 */
import type { z } from 'zod';
import { didYouMean } from './diagnostics.js';
import { formatPath, type PathSegment } from './yaml-locator.js';
import { schemaAtPath, shapeOf } from './zod-schema.js';

export type Issue = z.core.$ZodIssue;

/** One thing wrong, at a document path (`key`: an unknown key of the map at `path`). */
export interface SchemaProblem {
  path: PathSegment[];
  key?: string;
  message: string;
  hint?: string;
}

export interface Phrasing {
  /** How the place of `path` reads in a message; '' when the path is shown apart from the message. */
  place(path: readonly PathSegment[]): string;
  /** The message of an unknown key `key` in the map at `path`; the kit adds a hint unless one is given. */
  unknownKey?(path: readonly PathSegment[], key: string): { message: string; hint?: string };
  /** The message of a required value missing at `path`. */
  missing?(path: readonly PathSegment[]): { message: string; hint?: string };
  /** Takes over an issue: the problems it makes, or null to let the kit phrase it. */
  special?(issue: Issue, path: PathSegment[], value: unknown, kit: ProblemKit): SchemaProblem[] | null;
}

/** What `special` may reuse. */
export interface ProblemKit {
  /** Phrases issues (e.g. the issues of the union branch a special case chose). */
  visit(issues: readonly Issue[], prefix: readonly PathSegment[]): SchemaProblem[];
  chooseBranch(branches: ReadonlyArray<readonly Issue[]>, value: unknown): readonly Issue[] | null;
  /** Paths (JSON) that have an unknown key somewhere in the issues: a format may prefer that message. */
  unknownKeyPaths: ReadonlySet<string>;
}

export function getIn(data: unknown, path: readonly PathSegment[]): unknown {
  let d = data;
  for (const seg of path) {
    if (d === null || typeof d !== 'object') return undefined;
    d = (d as Record<PathSegment, unknown>)[seg];
  }
  return d;
}

/** A value as YAML shows it: `null`, `a list`, `a map`, `the string "5 m"`, `number 30`. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${quoteShort(value)}`;
  return `${typeof value} ${String(value)}`;
}

const QUOTE_MAX = 80;

/** A value quoted in a message: JSON-quoted, a long one cut (`"abc…" (1048576 characters)`), so messages stay short. */
export function quoteShort(value: string): string {
  if (value.length <= QUOTE_MAX) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, QUOTE_MAX)).slice(0, -1)}…" (${value.length} characters)`;
}

export function expectedName(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a map';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    default:
      return expected;
  }
}

const isDefaultMessage = (message: string): boolean => /^(Invalid input|Invalid option|Invalid string|Too (small|big)|Unrecognized key)/.test(message);

function tooSmallMessage(issue: Extract<Issue, { code: 'too_small' }>): string {
  const min = Number(issue.minimum);
  if (issue.origin === 'array') return min <= 1 ? 'must not be empty' : `needs at least ${min} items`;
  if (issue.origin === 'string') return min <= 1 ? 'must not be empty' : `needs at least ${min} characters`;
  if (issue.origin === 'record') return 'must not be empty';
  return `must be ${issue.inclusive ? '>=' : '>'} ${min}`;
}

function tooBigMessage(issue: Extract<Issue, { code: 'too_big' }>): string {
  const max = Number(issue.maximum);
  if (issue.origin === 'array') return `takes at most ${max} items`;
  if (issue.origin === 'string') return `takes at most ${max} characters`;
  return `must be ${issue.inclusive ? '<=' : '<'} ${max}`;
}

/** Which branch of a failed union explains the failure best. */
export function chooseBranch(branches: ReadonlyArray<readonly Issue[]>, value: unknown): readonly Issue[] | null {
  const rootMismatch = (b: readonly Issue[], code: string) => b.some((i) => i.path.length === 0 && i.code === code);
  const good = branches.find((b) => !rootMismatch(b, 'invalid_type') && !rootMismatch(b, 'invalid_value'));
  if (good) return good;
  // a wrong value of the right type (a string for an enum): that branch was meant
  if (typeof value !== 'string') return null;
  const valueWrong = branches.find((b) => !rootMismatch(b, 'invalid_type'));
  return valueWrong ?? null;
}

/** What the branches of a failed union expected at the root: `a string or a list`, `"*" or a list`. */
export function unionExpected(branches: ReadonlyArray<readonly Issue[]>): string {
  const out: string[] = [];
  for (const b of branches) {
    for (const i of b) {
      if (i.path.length !== 0) continue;
      if (i.code === 'invalid_type') out.push(expectedName(i.expected));
      else if (i.code === 'invalid_value') out.push(...i.values.map((v) => JSON.stringify(v)));
    }
  }
  return [...new Set(out)].join(' or ');
}

/**
 * The problems of `root.safeParse(data)`'s issues, phrased. `root` is the schema parsed, for the
 * keys allowed where an unknown key was found.
 */
export function zodProblems(issues: readonly Issue[], data: unknown, root: z.ZodType, phrasing: Phrasing): SchemaProblem[] {
  const unknownKeyPaths = new Set<string>();
  const collectUnknown = (list: readonly Issue[], prefix: readonly PathSegment[]): void => {
    for (const i of list) {
      const path = [...prefix, ...(i.path as PathSegment[])];
      if (i.code === 'unrecognized_keys') unknownKeyPaths.add(JSON.stringify(path));
      if (i.code === 'invalid_union') {
        const branch = chooseBranch(i.errors, getIn(data, path));
        if (branch) collectUnknown(branch, path);
      }
    }
  };
  collectUnknown(issues, []);

  // "stage "rate" option "window": message", or the message alone when the place is shown apart
  const at = (path: readonly PathSegment[], message: string, separator = ': '): string => {
    const place = phrasing.place(path);
    return place ? `${place}${separator}${message}` : message;
  };

  const visit = (list: readonly Issue[], prefix: readonly PathSegment[]): SchemaProblem[] => {
    const out: SchemaProblem[] = [];
    for (const issue of list) {
      const path = [...prefix, ...(issue.path as PathSegment[])];
      const value = getIn(data, path);
      const taken = phrasing.special?.(issue, path, value, { visit, chooseBranch, unknownKeyPaths });
      if (taken) {
        out.push(...taken);
        continue;
      }
      switch (issue.code) {
        case 'unrecognized_keys': {
          const allowed = Object.keys(shapeOf(schemaAtPath(root, path, data) ?? ({} as z.ZodType)) ?? {});
          for (const key of issue.keys) {
            const phrased = phrasing.unknownKey?.(path, key) ?? { message: `unknown field "${formatPath([...path, key])}"` };
            const hint = phrased.hint ?? didYouMean(key, allowed) ?? (allowed.length ? `allowed: ${allowed.join(', ')}` : undefined);
            out.push({ path, key, message: phrased.message, ...(hint ? { hint } : {}) });
          }
          break;
        }
        case 'invalid_union': {
          const discriminator = (issue as { discriminator?: string }).discriminator;
          if ((issue as { note?: string }).note === 'No matching discriminator' && discriminator) {
            const parent = path[path.length - 1] === discriminator ? path.slice(0, -1) : path;
            const tagPath = [...parent, discriminator];
            const tag = getIn(data, tagPath);
            const options = (issue as { options?: unknown[] }).options?.map(String) ?? [];
            if (tag === undefined)
              out.push({
                path: parent,
                message: at(parent, `missing "${discriminator}"`),
                ...(options.length ? { hint: `one of ${options.join(', ')}` } : {}),
              });
            else {
              const hint = (typeof tag === 'string' ? didYouMean(tag, options) : undefined) ?? (options.length ? `one of ${options.join(', ')}` : undefined);
              out.push({
                path: tagPath,
                message: at(parent, `unknown ${discriminator} ${typeof tag === 'string' ? quoteShort(tag) : typeName(tag)}`),
                ...(hint ? { hint } : {}),
              });
            }
            break;
          }
          const branch = chooseBranch(issue.errors, value);
          if (branch) out.push(...visit(branch, path));
          else out.push({ path, message: at(path, `expected ${unionExpected(issue.errors)}, got ${typeName(value)}`) });
          break;
        }
        case 'invalid_type': {
          if (value === undefined) {
            out.push({ path, ...(phrasing.missing?.(path) ?? { message: `missing required field "${formatPath(path)}"` }) });
            break;
          }
          const message = isDefaultMessage(issue.message) ? `expected ${expectedName(issue.expected)}, got ${typeName(value)}` : issue.message;
          out.push({ path, message: at(path, message) });
          break;
        }
        case 'invalid_value': {
          const values = issue.values.map((v) => String(v));
          if (values.length === 1) {
            out.push({ path, message: at(path, `must be ${JSON.stringify(values[0])}, got ${typeName(value)}`, ' ') });
            break;
          }
          const hint = typeof value === 'string' ? didYouMean(value, values) : undefined;
          out.push({
            path,
            message: at(
              path,
              `invalid value ${value !== null && typeof value === 'object' ? typeName(value) : typeof value === 'string' ? quoteShort(value) : JSON.stringify(value)}; expected one of ${values.join(', ')}`,
            ),
            ...(hint ? { hint } : {}),
          });
          break;
        }
        case 'too_small':
          out.push({ path, message: at(path, tooSmallMessage(issue), ' ') });
          break;
        case 'too_big':
          out.push({ path, message: at(path, tooBigMessage(issue), ' ') });
          break;
        default:
          out.push({ path, message: at(path, issue.message) });
      }
    }
    return out;
  };
  return visit(issues, []);
}
