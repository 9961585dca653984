/**
 * Length limits of the chat platforms, and truncation that never produces an invalid message:
 * cuts fall on character boundaries (never inside a UTF-8 sequence or a UTF-16 surrogate pair,
 * never inside an HTML entity such as `&amp;`), preferably at a line end, and end with a marker.
 */

export const TRUNCATION_MARKER = '\n…(truncated)';

/** UTF-8 length of `text` in bytes. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Drops a trailing partial HTML entity (`&am`, `&#12`) left by a cut. */
function dropPartialEntity(text: string): string {
  const amp = text.lastIndexOf('&');
  if (amp < 0 || text.length - amp > 10) return text;
  return /^&#?[A-Za-z0-9]*$/.test(text.slice(amp)) ? text.slice(0, amp) : text;
}

/** Prefers cutting at the last line break when it is in the last fifth of the kept text. */
function preferLineEnd(text: string): string {
  const nl = text.lastIndexOf('\n');
  return nl >= 0 && nl >= text.length * 0.8 ? text.slice(0, nl) : text;
}

/** The longest prefix of `text` (whole code points) that fits `maxBytes` of UTF-8. */
export function prefixWithinBytes(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  if (byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > maxBytes) break;
    bytes += n;
    end += ch.length;
  }
  return text.slice(0, end);
}

/** The longest prefix of `text` of at most `maxUnits` UTF-16 code units that does not split a surrogate pair. */
export function prefixWithinChars(text: string, maxUnits: number): string {
  if (maxUnits <= 0) return '';
  if (text.length <= maxUnits) return text;
  let end = maxUnits;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1; // a high surrogate whose pair would be cut off
  return text.slice(0, end);
}

/** `text` cut to at most `maxBytes` UTF-8 bytes including `marker`. */
export function truncateBytes(text: string, maxBytes: number, marker = TRUNCATION_MARKER): string {
  if (byteLength(text) <= maxBytes) return text;
  const room = maxBytes - byteLength(marker);
  if (room <= 0) return prefixWithinBytes(marker.trim(), maxBytes);
  return dropPartialEntity(preferLineEnd(prefixWithinBytes(text, room))).trimEnd() + marker;
}

/** `text` cut to at most `maxChars` UTF-16 code units including `marker` (Slack counts characters). */
export function truncateChars(text: string, maxChars: number, marker = TRUNCATION_MARKER): string {
  if (text.length <= maxChars) return text;
  const room = maxChars - marker.length;
  if (room <= 0) return prefixWithinChars(marker.trim(), maxChars);
  return dropPartialEntity(preferLineEnd(prefixWithinChars(text, room))).trimEnd() + marker;
}

/** One line of at most `maxChars`, with an ellipsis when cut (for sample messages in a list). */
export function shorten(text: string, maxChars: number): string {
  const oneLine = text.replace(/\s*\r?\n\s*/g, ' ').trim();
  if (oneLine.length <= maxChars) return oneLine;
  return `${prefixWithinChars(oneLine, Math.max(1, maxChars - 1)).trimEnd()}…`;
}

/**
 * Splits `text` into chunks of at most `maxChars` each, at line breaks where possible (a line
 * longer than the limit is split inside). For Slack section blocks.
 */
export function splitChunks(text: string, maxChars: number): string[] {
  const chunks: string[] = [];
  let current = '';
  const flush = () => {
    if (current.trim() !== '') chunks.push(current.replace(/\n+$/, ''));
    current = '';
  };
  for (const line of text.split('\n')) {
    let rest = line;
    while (rest.length > maxChars) {
      flush();
      const head = dropPartialEntity(prefixWithinChars(rest, maxChars)) || prefixWithinChars(rest, maxChars);
      chunks.push(head);
      rest = rest.slice(head.length);
    }
    const candidate = current === '' ? rest : `${current}\n${rest}`;
    if (candidate.length > maxChars) {
      flush();
      current = rest;
    } else {
      current = candidate;
    }
  }
  flush();
  return chunks;
}
