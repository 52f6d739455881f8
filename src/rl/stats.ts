// Small statistics helpers shared by rewards, advantages and metrics. They follow torch's
// conventions (docs/ttrv.md §1.5) and keep a unanimous group's deviation at exactly zero.

/** True when every value is exactly equal (also for zero or one value). */
export function allEqual(values: readonly number[]): boolean {
  const first = values[0];
  return values.every((v) => v === first);
}

/**
 * The arithmetic mean; NaN for no values (as torch.mean). When every value is identical it
 * returns that value itself: summing 0.1 three times and dividing by 3 gives
 * 0.10000000000000002, which would leave a unanimous group with a tiny non-zero deviation.
 */
export function mean(values: readonly number[]): number {
  const first = values[0];
  if (first === undefined) return Number.NaN;
  if (allEqual(values)) return first;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** The sample standard deviation with n − 1 in the denominator (torch.std); 0 for n < 2. */
export function unbiasedStd(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const m = mean(values);
  let squares = 0;
  for (const v of values) squares += (v - m) ** 2;
  return Math.sqrt(squares / (n - 1));
}
