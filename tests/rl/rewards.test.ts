import { describe, expect, it } from 'vitest';
import {
  answerEntropy,
  computeRewards,
  confidenceRewards,
  countVotes,
  entropyReward,
  frequencyRewards,
  guardedMajorityRewards,
  guardedPrompts,
  guardSkips,
  imageRewards,
  majorityAnswer,
  majorityRewards,
  REWARD_KINDS,
  REWARDS,
  type RewardKind,
  type RewardSettings,
  rewardsReading,
  ttrvRewards,
  viewConsistencyRewards,
} from '../../src/rl/rewards';

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

describe('guardedMajorityRewards', () => {
  // A holds 2 of 4 votes: a majority share of exactly 0.5.
  const HALF = ['A', 'B', 'A', 'C'];

  it('gives the majority rewards when the majority share reaches the threshold', () => {
    expect(guardedMajorityRewards(['A', 'A', 'B', 'A'], 4, 0.5)).toEqual([1, 1, 0, 1]);
  });

  it('lets a share exactly at the threshold through, and skips one just below it', () => {
    expect(guardedMajorityRewards(HALF, 4, 0.5)).toEqual([1, 0, 1, 0]);
    expect(guardedMajorityRewards(HALF, 4, 0.51)).toEqual([0, 0, 0, 0]);
    // 3 of 10 is the double nearest 0.3, as the literal is: at the threshold, not below it.
    const tenth = ['A', 'A', 'A', 'B', 'B', 'C', 'D', 'E', 'F', 'G'];
    expect(guardSkips(tenth, 0.3)).toBe(false);
    expect(guardedMajorityRewards(tenth, 3, 0.3)).toEqual([1, 1, 1]);
  });

  it('gives all-zero rewards below the threshold, so the prompt has no ranking', () => {
    // 3 of 8 votes for A.
    const weak = ['A', 'B', 'A', 'C', 'A', 'B', 'D', 'E'];
    expect(guardSkips(weak, 0.5)).toBe(true);
    expect(guardedMajorityRewards(weak, 4, 0.5)).toEqual([0, 0, 0, 0]);
    expect(majorityRewards(weak, 4)).toEqual([1, 0, 1, 0]);
  });

  it('checks numGenerations as the other rewards do', () => {
    expect(guardedMajorityRewards([], 0, 0.5)).toEqual([]);
    expect(() => guardedMajorityRewards(HALF, 5, 0.5)).toThrow(RangeError);
  });
});

describe('guardedPrompts', () => {
  it("marks each of a step's prompts the guard skips, and is null without a guard", () => {
    const votes = [
      ['A', 'A', 'B'],
      ['A', 'B', 'C'],
    ];
    expect(guardedPrompts(votes, { reward: 'guarded_majority', guard_threshold: 0.5 })).toEqual([
      false,
      true,
    ]);
    expect(guardedPrompts(votes, { reward: 'majority', guard_threshold: 0.5 })).toBeNull();
  });
});

describe('confidenceRewards', () => {
  it("rewards each completion with its tokens' mean log-prob, the surer one higher", () => {
    const rewards = confidenceRewards(
      [
        [-0.1, -0.3],
        [-2, -1, -3],
      ],
      2,
    );
    expect(rewards[0]).toBeCloseTo(-0.2, 14);
    expect(rewards[1]).toBeCloseTo(-2, 14);
    expect(rewards[0]).toBeGreaterThan(rewards[1] as number);
  });

  it('gives an empty completion the lowest reward among the trained ones', () => {
    // The third completion is not trained, so its −10 is not the group's lowest.
    expect(confidenceRewards([[-0.5], [], [-1.5], [-10]], 3)).toEqual([-0.5, -1.5, -1.5]);
    expect(confidenceRewards([[], []], 2)).toEqual([0, 0]);
  });

  it('rejects a numGenerations larger than the completions', () => {
    expect(() => confidenceRewards([[-1]], 2)).toThrow(RangeError);
  });
});

describe('viewConsistencyRewards', () => {
  it("rewards each view's completions by their answer's share of all views' votes", () => {
    // Pooled over 12 votes: star 7, circle 4, "" 1.
    const views = [
      ['star', 'circle', 'star', 'star'],
      ['circle', 'circle', 'star', ''],
      ['star', 'star', 'circle', 'star'],
    ];
    expect(viewConsistencyRewards(views, 3)).toEqual([
      [7 / 12, 4 / 12, 7 / 12],
      [4 / 12, 4 / 12, 7 / 12],
      [7 / 12, 7 / 12, 4 / 12],
    ]);
    // The second view alone would give circle 0.5 and star 0.25: pooling outvotes it.
    expect(frequencyRewards(views[1] as string[], 3)).toEqual([0.5, 0.5, 0.25]);
  });

  it('is the frequency reward for one view', () => {
    expect(viewConsistencyRewards([VOTES], 4)).toEqual([frequencyRewards(VOTES, 4)]);
  });

  it("rejects a numGenerations larger than a view's votes", () => {
    expect(() => viewConsistencyRewards([['A', 'B'], ['A']], 2)).toThrow(RangeError);
  });
});

describe('imageRewards', () => {
  const SETTINGS = { alpha: 0.75, guard_threshold: 0.5, num_generations: 2 };
  const views = [
    { answers: ['A', 'B'], logprobs: [[-1], [-2]] },
    { answers: ['A', 'A'], logprobs: [[-1], [-1]] },
  ];

  it('pools the views for view_consistency and rewards each view alone otherwise', () => {
    expect(imageRewards(views, { ...SETTINGS, reward: 'view_consistency' })).toEqual([
      [0.75, 0.25],
      [0.75, 0.75],
    ]);
    expect(imageRewards(views, { ...SETTINGS, reward: 'frequency' })).toEqual([
      [0.5, 0.5],
      [1, 1],
    ]);
  });
});

describe('REWARDS', () => {
  it('describes every reward in one line and names the settings only it reads', () => {
    expect(REWARD_KINDS).toEqual([
      'ttrv',
      'frequency',
      'majority',
      'guarded_majority',
      'confidence',
      'view_consistency',
      'perception',
    ]);
    for (const kind of REWARD_KINDS) {
      expect(REWARDS[kind].description, kind).toMatch(/^[^\n]{20,}$/);
    }
    expect(rewardsReading('alpha')).toEqual(['ttrv', 'perception']);
    expect(rewardsReading('perception_coef')).toEqual(['perception']);
    expect(rewardsReading('guard_threshold')).toEqual(['guarded_majority']);
    expect(rewardsReading('num_views')).toEqual(['view_consistency']);
    expect(rewardsReading('view_augmentations')).toEqual(['view_consistency']);
    expect(rewardsReading('temperature')).toEqual([]);
  });
});

describe('computeRewards', () => {
  // VOTES with each completion's token log-probs.
  const INPUTS = { answers: VOTES, logprobs: [[-0.5], [-1, -2], [-0.25, -0.75], [-4]] };
  const SETTINGS: Omit<RewardSettings, 'reward'> = {
    alpha: 0.75,
    guard_threshold: 0.5,
    num_generations: 3,
  };

  it('dispatches on every reward kind', () => {
    const expected: Record<RewardKind, number[]> = {
      ttrv: [0.5, 0.25, 0.5].map((r) => r + 0.75 * VOTES_ENTROPY_REWARD),
      frequency: [0.5, 0.25, 0.5],
      majority: [1, 0, 1],
      // A's share is 0.5: at the threshold, so the majority rewards.
      guarded_majority: [1, 0, 1],
      confidence: [-0.5, -1.5, -0.5],
      // One prompt is one view: the pool is its own votes.
      view_consistency: [0.5, 0.25, 0.5],
      // The votes get TTRV's reward; the perception term is a loss term (ttrvStep).
      perception: [0.5, 0.25, 0.5].map((r) => r + 0.75 * VOTES_ENTROPY_REWARD),
    };
    for (const reward of REWARD_KINDS) {
      const got = computeRewards(INPUTS, { ...SETTINGS, reward });
      expect(got, reward).toHaveLength(3);
      got.forEach((r, j) => {
        expect(r, `${reward}[${j}]`).toBeCloseTo(expected[reward][j] as number, 14);
      });
    }
  });

  it('gives the frequency reward whatever alpha says, unlike ttrv', () => {
    for (const alpha of [0, 0.75, 3]) {
      expect(computeRewards(INPUTS, { ...SETTINGS, alpha, reward: 'frequency' })).toEqual([
        0.5, 0.25, 0.5,
      ]);
    }
    expect(computeRewards(INPUTS, { ...SETTINGS, reward: 'ttrv' })).not.toEqual([0.5, 0.25, 0.5]);
  });

  it('applies guard_threshold to guarded_majority', () => {
    expect(
      computeRewards(INPUTS, { ...SETTINGS, guard_threshold: 0.6, reward: 'guarded_majority' }),
    ).toEqual([0, 0, 0]);
  });
});
