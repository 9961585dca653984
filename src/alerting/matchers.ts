/**
 * Matchers in Alertmanager's syntax, on the label set of a notification:
 *
 *   severity="critical"      equal
 *   namespace!="kube-system" not equal
 *   category=~"OOM|CrashLoop" regular expression, anchored at both ends (as in Alertmanager)
 *   cluster!~"dev-.*"        does not match the regular expression
 *
 * Values may be double-quoted (with \" \\ \n escapes) or bare. A label that is absent has the
 * value "" (so `team=""` matches records without a team label, and `team!="a"` matches them too),
 * exactly like Alertmanager.
 *
 * The label set of a record (notification.ts `matchLabels`) is its own labels (alerts: alertname,
 * kind and name of the object, reason, ...; incidents: alertname=KubeIncident, correlation,
 * subject, reason, node) plus `record` (Alert or Incident), `status` (firing or resolved) and
 * severity, category, cluster and namespace taken from the record's fields.
 */

export const MATCH_OPERATORS = ['=', '!=', '=~', '!~'] as const;
export type MatchOperator = (typeof MATCH_OPERATORS)[number];

export interface Matcher {
  name: string;
  op: MatchOperator;
  value: string;
  /** compiled, anchored, for =~ and !~ */
  regex: RegExp | null;
  /** the matcher as written */
  text: string;
}

export class MatcherSyntaxError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'MatcherSyntaxError';
  }
}

const MATCHER_RE = /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s;

function unquote(raw: string): string {
  if (!raw.startsWith('"')) {
    if (raw.includes('"')) throw new MatcherSyntaxError(`unbalanced quote in value ${raw}`, 'quote the whole value: name="value"');
    return raw;
  }
  if (raw.length < 2 || !raw.endsWith('"')) throw new MatcherSyntaxError(`unterminated quoted value ${raw}`, 'end the value with a double quote');
  let out = '';
  for (let i = 1; i < raw.length - 1; i++) {
    const c = raw[i] as string;
    if (c === '\\') {
      const n = raw[i + 1];
      if (n === undefined || i + 1 === raw.length - 1) throw new MatcherSyntaxError(`dangling backslash in ${raw}`);
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
      i += 1;
    } else if (c === '"') {
      throw new MatcherSyntaxError(`unescaped quote inside ${raw}`, 'escape it as \\"');
    } else {
      out += c;
    }
  }
  return out;
}

/** Parses one matcher, e.g. `severity=~"critical|error"`. Throws MatcherSyntaxError. */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER_RE.exec(text);
  if (!m) {
    throw new MatcherSyntaxError(
      `invalid matcher ${JSON.stringify(text)}`,
      'write name, an operator (=, !=, =~, !~) and a value, e.g. severity="critical" or namespace=~"kube-.*"',
    );
  }
  const name = m[1] as string;
  const op = m[2] as MatchOperator;
  const value = unquote(m[3] as string);
  let regex: RegExp | null = null;
  if (op === '=~' || op === '!~') {
    try {
      regex = new RegExp(`^(?:${value})$`, 's');
    } catch (error) {
      throw new MatcherSyntaxError(
        `invalid regular expression in ${JSON.stringify(text)}: ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`,
      );
    }
  }
  return { name, op, value, regex, text: text.trim() };
}

export function matches(matcher: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const actual = labels[matcher.name] ?? '';
  switch (matcher.op) {
    case '=':
      return actual === matcher.value;
    case '!=':
      return actual !== matcher.value;
    case '=~':
      return (matcher.regex as RegExp).test(actual);
    case '!~':
      return !(matcher.regex as RegExp).test(actual);
  }
}

/** Every matcher holds (an empty list matches everything). */
export function matchesAll(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => matches(m, labels));
}
