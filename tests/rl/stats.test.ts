import { describe, expect, it } from 'vitest';
import { allEqual, mean, unbiasedStd } from '../../src/rl/stats';

describe('allEqual', () => {
  it('is true only when every value is exactly equal', () => {
    expect(allEqual([0.1, 0.1, 0.1])).toBe(true);
    expect(allEqual([7])).toBe(true);
    expect(allEqual([])).toBe(true);
    // 1 + 2⁻⁵² is the next double after 1: equal to 1e-15 but not exactly.
    expect(allEqual([1, 1 + 2 ** -52])).toBe(false);
  });
});

describe('mean', () => {
  it('returns the value itself when all values are identical', () => {
    // Naively (0.1 + 0.1 + 0.1) / 3 = 0.30000000000000004 / 3 = 0.10000000000000002.
    expect((0.1 + 0.1 + 0.1) / 3).not.toBe(0.1);
    expect(mean([0.1, 0.1, 0.1])).toBe(0.1);
  });

  it('averages distinct values, and is NaN for none', () => {
    // (1 + 2 + 3 + 4) / 4 = 10 / 4
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(mean([])).toBeNaN();
  });
});

describe('unbiasedStd', () => {
  it('divides by n − 1 like torch.std', () => {
    // mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; sqrt(32 / 7) (n − 1 = 7, not 8).
    expect(unbiasedStd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138089935299395, 14);
    // mean 2; squared deviations 1 + 1 = 2; sqrt(2 / 1).
    expect(unbiasedStd([1, 3])).toBeCloseTo(Math.SQRT2, 14);
  });

  it('is 0 below two values and exactly 0 for a unanimous group', () => {
    expect(unbiasedStd([])).toBe(0);
    expect(unbiasedStd([3.7])).toBe(0);
    expect(unbiasedStd([0.1, 0.1, 0.1])).toBe(0);
  });
});
