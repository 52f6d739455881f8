import { describe, expect, it } from 'vitest';
import { type LrSchedule, learningRateAt } from '../../src/rl/schedule';

// Warm-up W = 3, then 10 decay steps to max_steps = 13.
const base = { learning_rate: 1e-3, warmup_steps: 3, max_steps: 13 };
const constant: LrSchedule = { ...base, lr_scheduler_type: 'constant_with_warmup' };
const linear: LrSchedule = { ...base, lr_scheduler_type: 'linear' };
const cosine: LrSchedule = { ...base, lr_scheduler_type: 'cosine' };

describe('learningRateAt', () => {
  it('warms up as lr · (s + 1) / (W + 1), the same for every type', () => {
    for (const schedule of [constant, linear, cosine]) {
      // 1e-3 · 1/4, 2/4, 3/4, then the full rate at s = W.
      expect(learningRateAt(0, schedule)).toBeCloseTo(2.5e-4, 15);
      expect(learningRateAt(1, schedule)).toBeCloseTo(5e-4, 15);
      expect(learningRateAt(2, schedule)).toBeCloseTo(7.5e-4, 15);
      expect(learningRateAt(3, schedule)).toBe(1e-3);
    }
  });

  it('holds the rate after warm-up for constant_with_warmup', () => {
    expect(learningRateAt(8, constant)).toBe(1e-3);
    expect(learningRateAt(100, constant)).toBe(1e-3);
  });

  it('decays linearly to 0 at max_steps and stays there', () => {
    // s = 8: progress (8 − 3) / (13 − 3) = 0.5 → 1e-3 · 0.5.
    expect(learningRateAt(8, linear)).toBeCloseTo(5e-4, 15);
    expect(learningRateAt(13, linear)).toBe(0);
    expect(learningRateAt(20, linear)).toBe(0);
  });

  it('decays by half a cosine', () => {
    // s = 5: progress 0.2 → (1 + cos 0.2π) / 2 = (1 + 0.80901699) / 2 = 0.90450850.
    expect(learningRateAt(5, cosine)).toBeCloseTo(9.045084971874737e-4, 15);
    // s = 8: progress 0.5 → (1 + cos π/2) / 2 = 0.5.
    expect(learningRateAt(8, cosine)).toBeCloseTo(5e-4, 15);
    expect(learningRateAt(13, cosine)).toBe(0);
  });

  it('runs at the full rate from step 0 without warm-up', () => {
    expect(learningRateAt(0, { ...linear, warmup_steps: 0 })).toBe(1e-3);
    // 1 of 13 steps of linear decay: 1e-3 · 12/13.
    expect(learningRateAt(1, { ...linear, warmup_steps: 0 })).toBeCloseTo(1e-3 * (12 / 13), 15);
  });

  it('guards the progress denominator when max_steps ≤ warm-up', () => {
    // W = max_steps = 2: s = 2 has progress 0 / max(1, 0) = 0; s = 3 has min(1, 1) = 1.
    const short: LrSchedule = { ...linear, warmup_steps: 2, max_steps: 2 };
    expect(learningRateAt(2, short)).toBe(1e-3);
    expect(learningRateAt(3, short)).toBe(0);
  });

  it('throws on a negative or non-integer step', () => {
    expect(() => learningRateAt(-1, constant)).toThrow(RangeError);
    expect(() => learningRateAt(1.5, constant)).toThrow(RangeError);
    expect(() => learningRateAt(Number.NaN, constant)).toThrow(RangeError);
  });
});
