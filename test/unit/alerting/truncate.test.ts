import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { byteLength, shorten, splitChunks, truncateBytes, truncateChars, TRUNCATION_MARKER } from '../../../src/alerting/truncate.js';

describe('truncation to platform limits', () => {
  it('keeps text within the limit unchanged', () => {
    expect(truncateBytes('short', 100)).toBe('short');
    expect(truncateChars('short', 5)).toBe('short');
  });

  it('cuts by UTF-8 bytes on character boundaries and appends the marker', () => {
    const cjk = '节点不可用'.repeat(100); // 3 bytes each
    const out = truncateBytes(cjk, 100);
    expect(byteLength(out)).toBeLessThanOrEqual(100);
    expect(out.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(Buffer.from(out, 'utf8').toString('utf8')).toBe(out); // no broken sequence
    const emoji = '🔥'.repeat(50); // 4 bytes, 2 UTF-16 units each
    const e = truncateChars(emoji, 21, '…');
    expect(e.length).toBeLessThanOrEqual(21);
    expect(e).toBe(`${'🔥'.repeat(10)}…`);
  });

  it('prefers a line end near the limit and never leaves half an HTML entity', () => {
    const lines = `${'a'.repeat(100)}\n${'b'.repeat(50)}`;
    expect(truncateChars(lines, 120, '~')).toBe(`${'a'.repeat(100)}~`);
    // a line end far from the limit is not worth the loss
    expect(truncateChars(`${'a'.repeat(50)}\n${'b'.repeat(100)}`, 120, '~')).toBe(`${'a'.repeat(50)}\n${'b'.repeat(68)}~`);
    const entity = `${'x'.repeat(8)}&amp;rest of the text`;
    expect(truncateChars(entity, 12, '~')).toBe(`${'x'.repeat(8)}~`);
  });

  it('always fits, for any text and limit (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), fc.integer({ min: 1, max: 300 }), (text, max) => {
        const b = truncateBytes(text, max);
        expect(byteLength(b)).toBeLessThanOrEqual(max);
        expect(Buffer.from(b, 'utf8').toString('utf8')).toBe(b);
        const c = truncateChars(text, max);
        expect(c.length).toBeLessThanOrEqual(max);
        expect(/[\uD800-\uDBFF]$/.test(c.replace(TRUNCATION_MARKER, ''))).toBe(false);
      }),
    );
  });

  it('splits text into chunks at line breaks for Slack sections', () => {
    const text = ['a'.repeat(10), 'b'.repeat(10), 'c'.repeat(25)].join('\n');
    expect(splitChunks(text, 22)).toEqual(['a'.repeat(10) + '\n' + 'b'.repeat(10), 'c'.repeat(22), 'c'.repeat(3)]);
    for (const chunk of splitChunks('x'.repeat(10_000), 3000)) expect(chunk.length).toBeLessThanOrEqual(3000);
  });

  it('shortens one-line samples with an ellipsis', () => {
    expect(shorten('a\n  b', 10)).toBe('a b');
    expect(shorten('abcdefghij', 5)).toBe('abcd…');
  });
});
