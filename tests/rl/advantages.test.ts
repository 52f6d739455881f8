import { describe, expect, it } from 'vitest';
import { ADVANTAGE_EPSILON, computeAdvantages } from '../../src/rl/advantages';
import { ttrvRewards } from '../../src/rl/rewards';

describe('computeAdvantages', () => {
  it('standardises within the group (GRPO defaults)', () => {
    // mean 0.25; squared deviations 0.5625 + 3 · 0.0625 = 0.75; std = sqrt(0.75 / 3) = 0.5.
    // A = 0.75 / 0.500001 and −0.25 / 0.500001.
    const [advantages] = computeAdvantages([[1, 0, 0, 0]], 'group', 'group');
    const expected = [1.499997000006, -0.499999000002, -0.499999000002, -0.499999000002];
    expected.forEach((a, i) => {
      expect(advantages?.[i]).toBeCloseTo(a, 12);
    });
    expect(ADVANTAGE_EPSILON).toBe(1e-6);
  });

  it('uses the batch mean and std across prompts', () => {
    // All rewards 1, 0, 1, 1: mean 0.75; squared deviations 3 · 0.0625 + 0.5625 = 0.75;
    // std = sqrt(0.75 / 3) = 0.5.
    const advantages = computeAdvantages(
      [
        [1, 0],
        [1, 1],
      ],
      'batch',
      'batch',
    );
    const d = 0.5 + 1e-6;
    expect(advantages[0]?.[0]).toBeCloseTo(0.25 / d, 12);
    expect(advantages[0]?.[1]).toBeCloseTo(-0.75 / d, 12);
    expect(advantages[1]?.[0]).toBeCloseTo(0.25 / d, 12);
    expect(advantages[1]?.[1]).toBeCloseTo(0.25 / d, 12);
  });

  it('mixes group baseline with batch scaling and vice versa', () => {
    const groups = [
      [1, 0],
      [1, 1],
    ];
    // Group means 0.5 and 1, batch std 0.5 (as above).
    const groupBatch = computeAdvantages(groups, 'group', 'batch');
    expect(groupBatch[0]?.[0]).toBeCloseTo(0.5 / 0.500001, 12);
    expect(groupBatch[0]?.[1]).toBeCloseTo(-0.5 / 0.500001, 12);
    expect(groupBatch[1]).toEqual([0, 0]);
    // Batch mean 0.75; group 1 std sqrt(0.5² · 2 / 1) = sqrt(0.5); group 2 std 0 → zeros.
    const batchGroup = computeAdvantages(groups, 'batch', 'group');
    expect(batchGroup[0]?.[0]).toBeCloseTo(0.25 / (Math.SQRT1_2 + 1e-6), 12);
    expect(batchGroup[0]?.[1]).toBeCloseTo(-0.75 / (Math.SQRT1_2 + 1e-6), 12);
    expect(batchGroup[1]).toEqual([0, 0]);
  });

  it('returns r − baseline unscaled when scale_rewards is none', () => {
    // Group mean 0.375: 0.5 − 0.375 and 0.25 − 0.375.
    expect(computeAdvantages([[0.5, 0.25]], 'group', 'none')).toEqual([[0.125, -0.125]]);
    expect(computeAdvantages([[0.7]], 'none', 'none')).toEqual([[0.7]]);
  });

  it('gives 0, not a 10⁶ blow-up, when the scaling std is exactly 0', () => {
    // Without the guard: 0.7 / (0 + 1e-6) = 700000.
    expect(computeAdvantages([[0.7, 0.7]], 'none', 'group')).toEqual([[0, 0]]);
    expect(computeAdvantages([[0.7, 0.7], [0.7]], 'none', 'batch')).toEqual([[0, 0], [0]]);
    // Three times 0.1: a naive mean leaves r − mean ≈ −1.4e-17, still exactly 0 here.
    expect(computeAdvantages([[0.1, 0.1, 0.1]], 'group', 'none')).toEqual([[0, 0, 0]]);
  });

  it('gives 0 for a group of one under group statistics', () => {
    expect(computeAdvantages([[0.7]], 'group', 'group')).toEqual([[0]]);
    expect(computeAdvantages([[0.7]], 'none', 'group')).toEqual([[0]]);
  });

  it("gives a skipped group (the guard's) 0 and leaves it out of the batch statistics", () => {
    const groups = [
      [1, 0],
      [0, 0],
    ];
    // Not skipped, the zeros would move the batch mean to 0.25 and get −0.25 / std each.
    expect(computeAdvantages(groups, 'batch', 'none')[1]).toEqual([-0.25, -0.25]);
    // Skipped: batch mean 0.5 and std sqrt(0.5) over [1, 0] alone.
    const advantages = computeAdvantages(groups, 'batch', 'batch', [false, true]);
    expect(advantages[0]?.[0]).toBeCloseTo(0.5 / (Math.SQRT1_2 + 1e-6), 12);
    expect(advantages[0]?.[1]).toBeCloseTo(-0.5 / (Math.SQRT1_2 + 1e-6), 12);
    expect(advantages[1]).toEqual([0, 0]);
    expect(computeAdvantages(groups, 'batch', 'batch', [true, true])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('rejects non-finite rewards', () => {
    expect(() => computeAdvantages([[1, Number.NaN]], 'group', 'group')).toThrow(RangeError);
  });
});

describe("TTRV's entropy term (one value per prompt)", () => {
  // A ×4, B ×2, C ×1, D ×1 of 8: p = 1/2, 1/4, 1/8, 1/8;
  // H = 0.5 ln 2 + 0.25 · 2 ln 2 + 2 · 0.125 · 3 ln 2 = 1.75 ln 2; M = 4, ln 4 = 2 ln 2,
  // so the entropy reward is −1.75 / 2 = −0.875.
  const votes = ['A', 'B', 'A', 'C', 'A', 'D', 'B', 'A'];
  // First 6: A, B, A, C, A, D → frequency rewards 1/2, 1/4, 1/2, 1/8, 1/2, 1/8.
  const plain = ttrvRewards(votes, 6, 0);
  const withEntropy = ttrvRewards(votes, 6, 0.75);

  it('cancels exactly under the group baseline', () => {
    const [a0] = computeAdvantages([plain], 'group', 'group');
    const [a1] = computeAdvantages([withEntropy], 'group', 'group');
    expect(a0).toHaveLength(6);
    a0?.forEach((a, i) => {
      expect(Math.abs(a - (a1?.[i] ?? Number.NaN))).toBeLessThan(1e-12);
    });
  });

  it('shifts every advantage by alpha · r_ent / (std + ε) under baseline none', () => {
    // mean 1/3; squared deviations 3 · (1/6)² + (1/12)² + 2 · (5/24)² = 102/576;
    // std = sqrt(102 / 576 / 5) = 0.18819316317727025 (the constant does not change it).
    // Shift = 0.75 · (−0.875) / (0.18819316317727025 + 1e-6) = −3.4870900825008193.
    const [a0] = computeAdvantages([plain], 'none', 'group');
    const [a1] = computeAdvantages([withEntropy], 'none', 'group');
    a0?.forEach((a, i) => {
      expect((a1?.[i] ?? Number.NaN) - a).toBeCloseTo(-3.4870900825008193, 9);
    });
  });
});
