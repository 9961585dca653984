/**
 * A small Mustache subset for notification templates (no dependency of the project offers one):
 *
 *   {{name}}            the value, escaped for the target (Slack mrkdwn, JSON string, ...)
 *   {{{name}}} {{&name}} the value, unescaped
 *   {{a.b}}             dotted lookup
 *   {{#name}}..{{/name}} section: repeated for each item of a list, shown once for any other
 *                       truthy value (with that value on top of the context: {{.}}, {{field}})
 *   {{^name}}..{{/name}} inverted section: shown when the value is missing, false, "" or []
 *   {{! comment }}
 *
 * Like Mustache, a section, inverted-section, closing or comment tag standing alone on its line
 * removes that whole line, so templates can be laid out one tag per line. Values: null and
 * undefined render as "", lists as their items joined with ", ", maps as JSON.
 *
 * Templates are compiled once (syntax errors carry the line and column inside the template) and
 * checked at configuration load against a sample view, so a misspelt placeholder is an error at
 * start rather than a blank in a message.
 */

export type Escape = (text: string) => string;

export const noEscape: Escape = (text) => text;

/** Slack mrkdwn: &, < and > are control characters. */
export const slackEscape: Escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Inside a JSON string literal: the JSON escapes without the surrounding quotes. */
export const jsonStringEscape: Escape = (text) => JSON.stringify(text).slice(1, -1);

export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    /** 1-based, within the template text */
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} (template line ${line}, column ${column})`);
    this.name = 'TemplateSyntaxError';
  }
}

type Node =
  | { type: 'text'; text: string }
  | { type: 'var'; name: string; raw: boolean; offset: number }
  | { type: 'section'; name: string; inverted: boolean; children: Node[]; offset: number };

interface Token {
  kind: 'text' | 'var' | 'raw' | 'open' | 'inverted' | 'close' | 'comment';
  value: string;
  /** offset of the tag (or text) in the template */
  offset: number;
  /** end offset */
  end: number;
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

function syntaxError(text: string, offset: number, message: string): TemplateSyntaxError {
  const p = position(text, offset);
  return new TemplateSyntaxError(message, p.line, p.column);
}

const NAME = /^(?:\.|[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)$/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      tokens.push({ kind: 'text', value: text.slice(i), offset: i, end: text.length });
      break;
    }
    if (open > i) tokens.push({ kind: 'text', value: text.slice(i, open), offset: i, end: open });
    const triple = text.startsWith('{{{', open);
    const closer = triple ? '}}}' : '}}';
    const close = text.indexOf(closer, open + (triple ? 3 : 2));
    if (close < 0) throw syntaxError(text, open, `unclosed tag: "${closer}" missing`);
    let inner = text.slice(open + (triple ? 3 : 2), close).trim();
    const end = close + closer.length;
    let kind: Token['kind'] = triple ? 'raw' : 'var';
    if (!triple) {
      const sigil = inner[0];
      if (sigil === '#' || sigil === '^' || sigil === '/' || sigil === '!' || sigil === '&') {
        kind = sigil === '#' ? 'open' : sigil === '^' ? 'inverted' : sigil === '/' ? 'close' : sigil === '!' ? 'comment' : 'raw';
        inner = inner.slice(1).trim();
      }
    }
    if (kind !== 'comment' && !NAME.test(inner)) {
      throw syntaxError(
        text,
        open,
        inner === '' ? 'empty tag' : `invalid name "${inner}" in tag (names are letters, digits, _ and -, dotted for fields, or .)`,
      );
    }
    tokens.push({ kind, value: inner, offset: open, end });
    i = end;
  }
  return stripStandalone(text, tokens);
}

/** Removes the line of a section/close/comment tag that stands alone on it (Mustache "standalone" tags). */
function stripStandalone(text: string, tokens: Token[]): Token[] {
  const isBlockTag = (t: Token | undefined) => t !== undefined && (t.kind === 'open' || t.kind === 'inverted' || t.kind === 'close' || t.kind === 'comment');
  for (let k = 0; k < tokens.length; k++) {
    const tag = tokens[k] as Token;
    if (!isBlockTag(tag)) continue;
    const prev = tokens[k - 1];
    const next = tokens[k + 1];
    // the text before the tag on its line must be blank (or the tag starts the template / follows a line end)
    const lineStart = text.lastIndexOf('\n', tag.offset - 1) + 1;
    const lineEndIdx = text.indexOf('\n', tag.end);
    const lineEnd = lineEndIdx < 0 ? text.length : lineEndIdx;
    const before = text.slice(lineStart, tag.offset);
    const after = text.slice(tag.end, lineEnd);
    if (before.trim() !== '' || after.trim() !== '') continue;
    // the tag must be the only tag on its line
    if (prev && prev.kind !== 'text' && prev.end > lineStart) continue;
    if (next && next.kind !== 'text' && next.offset < lineEnd) continue;
    if (prev && prev.kind === 'text' && prev.end === tag.offset) {
      const cut = prev.value.length - (tag.offset - lineStart);
      prev.value = prev.value.slice(0, cut);
      prev.end = lineStart;
    }
    if (next && next.kind === 'text' && next.offset === tag.end) {
      const drop = lineEnd - tag.end + (lineEndIdx < 0 ? 0 : 1);
      next.value = next.value.slice(drop);
      next.offset += drop;
    }
  }
  return tokens.filter((t) => t.kind !== 'text' || t.value !== '');
}

function parse(text: string, tokens: Token[]): Node[] {
  const root: Node[] = [];
  const stack: Array<{ name: string; offset: number; children: Node[]; node: Node | null }> = [{ name: '', offset: 0, children: root, node: null }];
  for (const t of tokens) {
    const top = stack[stack.length - 1] as (typeof stack)[number];
    switch (t.kind) {
      case 'text':
        top.children.push({ type: 'text', text: t.value });
        break;
      case 'var':
      case 'raw':
        top.children.push({ type: 'var', name: t.value, raw: t.kind === 'raw', offset: t.offset });
        break;
      case 'open':
      case 'inverted': {
        const node: Node = { type: 'section', name: t.value, inverted: t.kind === 'inverted', children: [], offset: t.offset };
        top.children.push(node);
        stack.push({ name: t.value, offset: t.offset, children: node.children, node });
        break;
      }
      case 'close':
        if (stack.length === 1) throw syntaxError(text, t.offset, `{{/${t.value}}} closes nothing`);
        if (top.name !== t.value) throw syntaxError(text, t.offset, `{{/${t.value}}} does not close {{#${top.name}}}`);
        stack.pop();
        break;
      case 'comment':
        break;
    }
  }
  if (stack.length > 1) {
    const open = stack[stack.length - 1] as (typeof stack)[number];
    throw syntaxError(text, open.offset, `section {{#${open.name}}} is never closed`);
  }
  return root;
}

const MISSING = Symbol('missing');

function lookup(stack: readonly unknown[], name: string): unknown {
  if (name === '.') return stack[stack.length - 1];
  const [head, ...rest] = name.split('.');
  let value: unknown = MISSING;
  for (let i = stack.length - 1; i >= 0; i--) {
    const ctx = stack[i];
    if (ctx !== null && typeof ctx === 'object' && Object.prototype.hasOwnProperty.call(ctx, head as string)) {
      value = (ctx as Record<string, unknown>)[head as string];
      break;
    }
  }
  for (const part of rest) {
    if (value === MISSING || value === null || typeof value !== 'object') return undefined;
    value = Object.prototype.hasOwnProperty.call(value, part) ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value;
}

function isFalsy(value: unknown): boolean {
  return (
    value === MISSING || value === undefined || value === null || value === false || value === '' || value === 0 || (Array.isArray(value) && value.length === 0)
  );
}

function display(value: unknown): string {
  if (value === MISSING || value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.map(display).join(', ');
  return JSON.stringify(value);
}

export interface RenderOptions {
  escape?: Escape;
  /** Called with each name whose first segment resolves nowhere in the context (typo detection). */
  onMissing?: (name: string, offset: number) => void;
}

export class Template {
  private readonly nodes: Node[];

  constructor(readonly source: string) {
    this.nodes = parse(source, tokenize(source));
  }

  render(view: unknown, options: RenderOptions = {}): string {
    const escape = options.escape ?? noEscape;
    const out: string[] = [];
    const walk = (nodes: readonly Node[], stack: unknown[]): void => {
      for (const node of nodes) {
        if (node.type === 'text') {
          out.push(node.text);
          continue;
        }
        const value = lookup(stack, node.name);
        if (value === MISSING) options.onMissing?.(node.name, node.offset);
        if (node.type === 'var') {
          const text = display(value);
          out.push(node.raw ? text : escape(text));
          continue;
        }
        if (node.inverted) {
          if (isFalsy(value)) walk(node.children, stack);
          continue;
        }
        if (isFalsy(value)) continue;
        if (Array.isArray(value)) {
          for (const item of value) walk(node.children, [...stack, item]);
        } else {
          walk(node.children, value === true ? stack : [...stack, value]);
        }
      }
    };
    walk(this.nodes, [view]);
    return out.join('');
  }

  /** Names used by the template that resolve nowhere in `sampleView` (each once, with its position). */
  unknownNames(sampleView: unknown): Array<{ name: string; line: number; column: number }> {
    const seen = new Set<string>();
    const unknown: Array<{ name: string; line: number; column: number }> = [];
    this.render(sampleView, {
      onMissing: (name, offset) => {
        if (seen.has(name)) return;
        seen.add(name);
        unknown.push({ name, ...position(this.source, offset) });
      },
    });
    return unknown;
  }
}

/** Compiles a template (throws TemplateSyntaxError). */
export function compileTemplate(source: string): Template {
  return new Template(source);
}
