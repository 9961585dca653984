import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseApiTime } from '../../../src/model/normalize.js';

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Strings of the API's time shape with any field values, valid or not. */
const apiShaped = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 99 }),
    day: fc.integer({ min: 0, max: 99 }),
    hour: fc.integer({ min: 0, max: 99 }),
    minute: fc.integer({ min: 0, max: 99 }),
    second: fc.integer({ min: 0, max: 99 }),
    fraction: fc.option(fc.stringMatching(/^[0-9]{0,11}$/), { nil: undefined }),
  })
  .map(
    ({ year, month, day, hour, minute, second, fraction }) =>
      `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction === undefined ? '' : `.${fraction}`}Z`,
  );

/** Valid times, as the API writes them: seconds, milliseconds or microseconds. */
const apiTime = fc
  .tuple(
    fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
    fc.integer({ min: 0, max: 9 }),
    fc.nat(999_999),
  )
  .map(([d, digits, extra]) => {
    const iso = d.toISOString();
    if (iso.length !== 24) return iso; // years outside 0000-9999 have another shape
    const fraction = `${iso.slice(20, 23)}${pad(extra, 6)}`.slice(0, digits);
    return `${iso.slice(0, 19)}${digits === 0 ? '' : `.${fraction}`}Z`;
  });

/** One character of a valid time changed. */
const mutated = fc.tuple(apiTime, fc.nat(), fc.constantFrom('-', ':', 'T', 't', 'Z', 'z', '.', '+', ' ', '0', '9', 'a', '/')).map(([s, i, c]) => {
  const at = i % s.length;
  return s.slice(0, at) + c + s.slice(at + 1);
});

describe('parseApiTime', () => {
  it('gives what Date.parse gives for API times, API-shaped strings with any field values and mutated ones', () => {
    fc.assert(
      fc.property(fc.oneof(apiTime, apiShaped, mutated, fc.string({ maxLength: 32 })), (s) => {
        expect(parseApiTime(s)).toBe(Date.parse(s));
      }),
      { numRuns: 20_000 },
    );
  });

  it('gives what Date.parse gives around month ends, leap days and the day boundary', () => {
    for (const year of [1900, 1970, 1999, 2000, 2024, 2025, 2100, 2400]) {
      for (let month = 1; month <= 12; month++) {
        for (const day of [0, 1, 28, 29, 30, 31, 32]) {
          for (const clock of ['00:00:00', '23:59:59', '24:00:00', '23:60:00', '23:59:60']) {
            for (const fraction of ['', '.5', '.123456', '.999999999']) {
              const s = `${year}-${pad(month, 2)}-${pad(day, 2)}T${clock}${fraction}Z`;
              expect(parseApiTime(s), s).toBe(Date.parse(s));
            }
          }
        }
      }
    }
  });
});
