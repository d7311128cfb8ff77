import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/core/iso-time.ts';

/** The whole range a Date holds: ±100,000,000 days around 1970. */
const DATE_RANGE = 8.64e15;
const iso = (ms: number) => new Date(ms).toISOString();

describe('isoTime', () => {
  it('is toISOString for any time a Date holds', () => {
    fc.assert(
      fc.property(fc.integer({ min: -DATE_RANGE, max: DATE_RANGE }), (ms) => {
        expect(isoTime(ms)).toBe(iso(ms));
      }),
      { numRuns: 20_000 },
    );
  });

  it('is toISOString for the times this service stores (years 1970 to 2200), in any order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 7_258_118_400_000 }), { minLength: 1, maxLength: 50 }), (times) => {
        // The day's prefix is remembered between calls: alternate days must not leak into each other.
        for (const ms of times) expect(isoTime(ms)).toBe(iso(ms));
      }),
      { numRuns: 2000 },
    );
  });

  it('is exact at the edges: leap days, year and century turns, years 0 and 9999 and past them', () => {
    const edges = [
      '0000-01-01T00:00:00.000Z',
      '0000-02-29T23:59:59.999Z',
      '0000-03-01T00:00:00.000Z',
      '1600-02-29T12:00:00.000Z',
      '1899-12-31T23:59:59.999Z',
      '1900-02-28T00:00:00.000Z',
      '1900-03-01T00:00:00.000Z',
      '1969-12-31T23:59:59.999Z',
      '1970-01-01T00:00:00.000Z',
      '2000-02-29T00:00:00.001Z',
      '2024-02-29T23:59:59.999Z',
      '2100-03-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
    ];
    for (const edge of edges) expect(isoTime(Date.parse(edge))).toBe(edge);
    for (const ms of [Date.parse('0000-01-01T00:00:00.000Z') - 1, Date.parse('9999-12-31T23:59:59.999Z') + 1, DATE_RANGE, -DATE_RANGE]) {
      expect(isoTime(ms)).toBe(iso(ms));
    }
  });

  it('keeps whole milliseconds as Date does, and refuses what Date refuses', () => {
    for (const ms of [1.5, -1.5, 1_700_000_000_123.9, -0]) expect(isoTime(ms)).toBe(iso(ms));
    for (const bad of [NaN, Infinity, DATE_RANGE + 1]) expect(() => isoTime(bad)).toThrow(RangeError);
  });
});
