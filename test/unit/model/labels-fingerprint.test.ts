import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labelsFingerprint } from '../../../src/model/alert.js';

/** The previous implementation (BigInt FNV-1a 64), kept as the reference the 32-bit-halves one must equal. */
function referenceFingerprint(labels: Record<string, string>): string {
  const FNV_OFFSET = 0xcbf29ce484222325n;
  const FNV_PRIME = 0x100000001b3n;
  const MASK = 0xffffffffffffffffn;
  const encoder = new TextEncoder();
  const add = (hash: bigint, bytes: Uint8Array): bigint => {
    let h = hash;
    for (const b of bytes) {
      h ^= BigInt(b);
      h = (h * FNV_PRIME) & MASK;
    }
    return h;
  };
  let hash = FNV_OFFSET;
  const sep = new Uint8Array([0xff]);
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name];
    if (value === undefined || value === '') continue;
    hash = add(hash, encoder.encode(name));
    hash = add(hash, sep);
    hash = add(hash, encoder.encode(value));
    hash = add(hash, sep);
  }
  return hash.toString(16).padStart(16, '0');
}

/** Single UTF-16 code units, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const text = fc.oneof(
  fc.string(), // ASCII
  fc.string({ unit: 'grapheme' }), // unicode, astral included
  fc.string({ unit: 'binary' }), // any code point
  fc.string({ unit: codeUnit }), // any code unit sequence: lone / reversed surrogates
  fc.constantFrom('', 'alertname', 'namespace', 'pod', '日本', '😀', 'naïve', '\u{10ffff}', '\ud800', '\udc00x'),
);
const labelSets = fc.dictionary(text, fc.oneof(text, fc.constant('')), { maxKeys: 12 });

describe('labelsFingerprint', () => {
  it('equals the BigInt FNV-1a 64 reference for arbitrary label sets (unicode, astral, lone surrogates, empty values)', () => {
    fc.assert(
      fc.property(labelSets, (labels) => {
        expect(labelsFingerprint(labels)).toBe(referenceFingerprint(labels));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives 16 lower-case hex digits, the FNV offset basis for an empty set, and ignores empty values', () => {
    expect(labelsFingerprint({})).toBe('cbf29ce484222325');
    expect(labelsFingerprint({ a: '' })).toBe('cbf29ce484222325');
    const l = { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-1' };
    expect(labelsFingerprint(l)).toMatch(/^[0-9a-f]{16}$/);
    expect(labelsFingerprint({ ...l, extra: '' })).toBe(labelsFingerprint(l));
    expect(labelsFingerprint({ pod: 'web-1', namespace: 'shop', alertname: 'KubePodCrashLooping' })).toBe(labelsFingerprint(l));
    expect(labelsFingerprint(l)).toBe(referenceFingerprint(l));
  });

  it('matches the reference on hashes whose high or low half has leading zeros and on long values', () => {
    // search a few label values whose halves start with a zero nibble (padStart of each half)
    let zeroHi = 0;
    let zeroLo = 0;
    for (let i = 0; i < 5000 && (zeroHi < 3 || zeroLo < 3); i++) {
      const l = { alertname: `A${i}`, v: 'é'.repeat(i % 7) };
      const f = labelsFingerprint(l);
      expect(f).toBe(referenceFingerprint(l));
      if (f[0] === '0') zeroHi++;
      if (f[8] === '0') zeroLo++;
    }
    expect(zeroHi).toBeGreaterThan(0);
    expect(zeroLo).toBeGreaterThan(0);
    const long = { message: 'x'.repeat(10_000) + '日本'.repeat(1000) };
    expect(labelsFingerprint(long)).toBe(referenceFingerprint(long));
  });
});
