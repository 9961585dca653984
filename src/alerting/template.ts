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

/**
 * A value on one line, without invisible or reordering characters: line breaks (and tabs) become
 * spaces, so a value cannot forge lines of the message; C0/C1 controls and bidirectional overrides
 * (which can make text read backwards) become U+FFFD.
 */
export function flattenText(text: string): string {
  return (
    text
      .replace(/\r\n|[\t\n\r\u0085\u2028\u2029]/g, ' ')
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u0084\u0086-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '\ufffd')
  );
}

/**
 * Markup characters of the chat platforms and the look-alikes shown instead. A value from a record
 * (an Event's message, an object's name) is text: what it holds must not become a link, a
 * mention, an image, a heading or bold. Look-alikes keep it readable without any platform reading
 * markup in it, where backslash escapes are not honoured alike by every client.
 */
const LOOKALIKES: Readonly<Record<string, string>> = {
  '\\': '\uff3c', // ＼ (a backslash would escape the template's own next character)
  '*': '\u2217', // ∗
  _: '\u02cd', // ˍ
  '~': '\u223c', // ∼
  '`': '\u02cb', // ˋ
  '[': '\uff3b', // ［
  ']': '\uff3d', // ］
  '<': '\u2039', // ‹
  '>': '\u203a', // ›
  '#': '\uff03', // ＃
  '@': '\uff20', // ＠
};

/** `https://x` reads `https∶//x`: no client turns it into a link. */
function defangUrls(text: string): string {
  return text.replace(/:\/\//g, '\u2236//').replace(/\bwww\./gi, (m) => `${m.slice(0, 3)}\u2024`);
}

/**
 * DingTalk and WeCom markdown: the value flattened, its markup characters replaced by look-alikes
 * (no `[link](url)`, `![image](url)`, `<@userid>`, `<font>`, `@all`, `**bold**`, `# heading`), URLs
 * defanged (`https∶//`). What is not markup (letters, digits, `/`, `:`, `.`, `-`, ...) stays.
 */
export const chatMarkdownEscape: Escape = (text) => defangUrls(flattenText(text).replace(/[\\*_~`[\]<>#@]/g, (c) => LOOKALIKES[c] ?? c));

/** Plain text (a DingTalk title, a Slack header): flattened, URLs defanged, nothing else to escape. */
export const plainTextEscape: Escape = (text) => defangUrls(flattenText(text));

/**
 * Slack mrkdwn: the value flattened; &, < and > escaped as Slack asks (so no `<url|link>`,
 * `<!channel>`, `<@U123>`, `<#C123>`); the formatting characters * _ ~ ` and @ replaced by
 * look-alikes (Slack has no escape for them); URLs defanged. Sections are also sent with
 * `verbatim: true`, so Slack does not turn bare URLs or channel names into links.
 */
export const slackEscape: Escape = (text) =>
  defangUrls(
    flattenText(text)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/[*_~`@]/g, (c) => LOOKALIKES[c] ?? c),
  );

/** Slack mrkdwn for values from the configuration (a link): only &, < and >, as Slack asks. */
export const slackLinkEscape: Escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A value inside a URL: percent-encoded, so it cannot add a path, a query or leave the URL. */
export const urlComponentEscape: Escape = (text) => encodeURIComponent(text);

/** The names whose values come from the configuration (`externalUrl`), not from a record. */
export const CONFIG_NAMES: ReadonlySet<string> = new Set(['link']);

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
  /** How a value from the record is written (`{{name}}`); `{{{name}}}` writes it as it is. */
  escape?: Escape;
  /**
   * Names whose values come from the configuration, not the record (`link`: the externalUrl), and
   * how they are written: trusted as they are, or with the target's minimal escape.
   */
  trusted?: { names: ReadonlySet<string>; escape: Escape };
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
    const trusted = options.trusted;
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
          out.push(node.raw ? text : trusted?.names.has(node.name) ? trusted.escape(text) : escape(text));
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
