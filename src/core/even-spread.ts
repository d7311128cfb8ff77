/** The fractional part of the golden ratio: the step that keeps an additive sequence most even. */
const GOLDEN_STEP = (Math.sqrt(5) - 1) / 2;

/**
 * Fractions in [0, 1) that stay evenly spread however many are taken in a row, and in
 * any regular pick of them (every second, every fourth): each is the last plus the
 * golden ratio's fractional part, wrapped (an additive recurrence; by the three-gap
 * theorem n of them in a row leave no gap wider than about 2.6 / n). Uniform random
 * draws spread as much only on average: 50 of them put their median anywhere within
 * about ±0.07 of the middle, so two sets of answers delayed by them differ by chance.
 */
export function evenSpread(start = Math.random()): () => number {
  let x = start % 1;
  return () => (x = (x + GOLDEN_STEP) % 1);
}
