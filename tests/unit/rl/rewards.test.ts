import { describe, expect, it } from 'vitest';
import {
  answerEntropy,
  computeRewards,
  countVotes,
  entropyReward,
  frequencyRewards,
  majorityAnswer,
  majorityRewards,
  ttrvRewards,
} from '../../../src/rl/rewards';

// Counts A:2, B:1, C:1 of 4, so p = 0.5, 0.25, 0.25 over M = 3 answers.
const VOTES = ['A', 'B', 'A', 'C'];
// H = −(0.5 ln 0.5 + 2 · 0.25 ln 0.25) = 0.5 ln 2 + ln 2 = 1.5 ln 2.
const VOTES_ENTROPY = 1.0397207708399179;
// −1.5 ln 2 / ln 3
const VOTES_ENTROPY_REWARD = -0.946394630357186;

describe('countVotes', () => {
  it('counts each answer in order of first appearance', () => {
    expect([...countVotes(['B', 'A', 'B', ''])]).toEqual([
      ['B', 2],
      ['A', 1],
      ['', 1],
    ]);
  });
});

describe('answerEntropy and entropyReward', () => {
  it('computes the entropy in nats and its normalised negative', () => {
    expect(answerEntropy(VOTES)).toBeCloseTo(VOTES_ENTROPY, 14);
    expect(entropyReward(VOTES)).toBeCloseTo(VOTES_ENTROPY_REWARD, 14);
  });

  it('gives −1 for a uniform split and 0 for one answer or none', () => {
    // H = ln 2 over M = 2.
    expect(entropyReward(['A', 'B'])).toBeCloseTo(-1, 14);
    expect(answerEntropy(['A', 'A', 'A'])).toBe(0);
    expect(entropyReward(['A', 'A', 'A'])).toBe(0);
    expect(answerEntropy([])).toBe(0);
    expect(entropyReward([])).toBe(0);
  });

  it('counts unextracted answers ("") as an answer of their own', () => {
    // '' : 2, A : 1 → M = 2, not 1.
    expect(entropyReward(['', '', 'A'])).toBeLessThan(0);
  });
});

describe('frequencyRewards', () => {
  it("rewards each completion with its answer's share of the votes", () => {
    expect(frequencyRewards(VOTES, 4)).toEqual([0.5, 0.25, 0.5, 0.25]);
  });

  it('takes the shares over all votes but rewards only the first numGenerations', () => {
    // A is 2 of 6 votes although both trained completions say A.
    expect(frequencyRewards(['A', 'A', 'B', 'B', 'B', 'B'], 2)).toEqual([2 / 6, 2 / 6]);
  });

  it('rejects a numGenerations larger than the votes or not an integer', () => {
    expect(() => frequencyRewards(VOTES, 5)).toThrow(RangeError);
    expect(() => frequencyRewards(VOTES, 1.5)).toThrow(RangeError);
    expect(() => frequencyRewards(VOTES, -1)).toThrow(RangeError);
  });
});

describe('ttrvRewards', () => {
  it('adds alpha times the entropy reward to every frequency reward', () => {
    const rewards = ttrvRewards(VOTES, 2, 0.75);
    // 0.5 + 0.75 · (−0.946394630357186) and 0.25 + the same.
    expect(rewards[0]).toBeCloseTo(-0.20979597276788953, 14);
    expect(rewards[1]).toBeCloseTo(0.25 + 0.75 * VOTES_ENTROPY_REWARD, 14);
  });

  it('is the frequency reward when all votes agree', () => {
    expect(ttrvRewards(['A', 'A', 'A'], 3, 0.75)).toEqual([1, 1, 1]);
  });
});

describe('majorityAnswer', () => {
  it('picks the most common answer', () => {
    expect(majorityAnswer(['B', 'A', 'A'])).toBe('A');
  });

  it('breaks ties by the answer seen first, like Counter.most_common(1)', () => {
    expect(majorityAnswer(['B', 'A', 'A', 'B'])).toBe('B');
    expect(majorityAnswer(['A', 'B', 'B', 'A'])).toBe('A');
  });

  it('throws for no votes', () => {
    expect(() => majorityAnswer([])).toThrow(RangeError);
  });
});

describe('majorityRewards', () => {
  it('gives 1 to completions with the majority answer and 0 otherwise', () => {
    // A has 2 votes, the first three completions say B, A, A.
    expect(majorityRewards(['B', 'A', 'A', 'C'], 3)).toEqual([0, 1, 1]);
  });
});

describe('computeRewards', () => {
  it('dispatches on the reward kind', () => {
    expect(computeRewards(VOTES, { reward: 'majority', alpha: 0.75, num_generations: 3 })).toEqual([
      1, 0, 1,
    ]);
    expect(computeRewards(VOTES, { reward: 'ttrv', alpha: 0, num_generations: 3 })).toEqual([
      0.5, 0.25, 0.5,
    ]);
  });
});
