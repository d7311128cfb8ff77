import { describe, expect, it } from 'vitest';
import { evenSpread } from '../../src/core/even-spread.ts';

const take = (next: () => number, n: number) => Array.from({ length: n }, next);

/** The widest gap between sorted fractions, counting the one that wraps from the last to the first. */
function widestGap(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  let widest = s[0] + 1 - s[s.length - 1];
  for (let i = 1; i < s.length; i++) widest = Math.max(widest, s[i] - s[i - 1]);
  return widest;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
};

describe('evenSpread', () => {
  it('gives fractions in [0, 1) that leave no wide gap however many are taken in a row, from any start', () => {
    for (const start of [0, 0.25, 0.999, Math.random()]) {
      const next = evenSpread(start);
      for (const n of [2, 3, 8, 50, 1000]) {
        const xs = take(next, n);
        expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
        expect(widestGap(xs)).toBeLessThan(2.7 / n);
      }
    }
  });

  it('keeps two interleaved sets (as T1 alternates live and unknown ids) with their medians near the middle', () => {
    for (const start of [0, 0.5, Math.random()]) {
      const xs = take(evenSpread(start), 200);
      // The pattern T1 sends: unknown, live, live, unknown, unknown, live, ...
      const live = xs.filter((_, k) => k % 4 === 1 || k % 4 === 2);
      const unknown = xs.filter((_, k) => k % 4 === 0 || k % 4 === 3);
      expect(Math.abs(median(live) - 0.5)).toBeLessThan(0.03);
      expect(Math.abs(median(unknown) - 0.5)).toBeLessThan(0.03);
    }
  });
});
