// Rewards from votes (spec §1.3–1.4): TTRV's frequency + entropy reward and TTRL's majority
// reward. `votes` are the extracted answers of all num_votes completions; only the first
// num_generations are trained on, but the distribution comes from all of them.

export type RewardKind = 'ttrv' | 'majority';

export interface RewardSettings {
  reward: RewardKind;
  /** Weight of the entropy term; one value per prompt, so a group baseline cancels it. */
  alpha: number;
  num_generations: number;
}

/** How often each answer occurs, in the order answers are first seen. */
export function countVotes(votes: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const vote of votes) counts.set(vote, (counts.get(vote) ?? 0) + 1);
  return counts;
}

/** The most common answer's share of the votes: how far they agree. */
export function agreement(votes: readonly string[]): number {
  if (votes.length === 0) throw new RangeError('agreement needs at least one vote');
  return Math.max(...countVotes(votes).values()) / votes.length;
}

/** Entropy in nats of the empirical answer distribution, H(p) = −Σ p ln p; 0 for no votes. */
export function answerEntropy(votes: readonly string[]): number {
  let entropy = 0;
  for (const count of countVotes(votes).values()) {
    const p = count / votes.length;
    entropy -= p * Math.log(p);
  }
  return entropy;
}

/**
 * TTRV's diversity-control reward −H(p) / ln M over M distinct answers, in [−1, 0]; 0 when
 * M ≤ 1, where the normalisation is undefined and there is no diversity to control.
 */
export function entropyReward(votes: readonly string[]): number {
  const distinct = countVotes(votes).size;
  if (distinct <= 1) return 0;
  return -answerEntropy(votes) / Math.log(distinct);
}

function checkGenerations(votes: readonly string[], numGenerations: number): void {
  if (!Number.isInteger(numGenerations) || numGenerations < 0) {
    throw new RangeError(`numGenerations must be a non-negative integer, got ${numGenerations}`);
  }
  if (numGenerations > votes.length) {
    throw new RangeError(
      `numGenerations (${numGenerations}) cannot exceed the number of votes (${votes.length})`,
    );
  }
}

/** p(a_j) = count(a_j) / all votes, for each of the first numGenerations votes. */
export function frequencyRewards(votes: readonly string[], numGenerations: number): number[] {
  checkGenerations(votes, numGenerations);
  const counts = countVotes(votes);
  return votes.slice(0, numGenerations).map((vote) => (counts.get(vote) ?? 0) / votes.length);
}

/** TTRV's combined reward r_j = p(a_j) + alpha · entropyReward (spec §1.4). */
export function ttrvRewards(
  votes: readonly string[],
  numGenerations: number,
  alpha: number,
): number[] {
  const bonus = alpha * entropyReward(votes);
  return frequencyRewards(votes, numGenerations).map((r) => r + bonus);
}

/**
 * The most common answer; among tied answers the one seen first among the votes, as Python's
 * Counter.most_common(1) (TTRL) picks it. Throws for no votes.
 */
export function majorityAnswer(votes: readonly string[]): string {
  let best: string | undefined;
  let bestCount = 0;
  // Map iteration follows first appearance, and only a strictly larger count replaces the
  // leader, so the earliest of the tied answers wins.
  for (const [answer, count] of countVotes(votes)) {
    if (count > bestCount) {
      best = answer;
      bestCount = count;
    }
  }
  if (best === undefined) throw new RangeError('majorityAnswer needs at least one vote');
  return best;
}

/** TTRL's reward: 1 for each of the first numGenerations votes that match the majority, else 0. */
export function majorityRewards(votes: readonly string[], numGenerations: number): number[] {
  checkGenerations(votes, numGenerations);
  if (numGenerations === 0) return [];
  const majority = majorityAnswer(votes);
  return votes.slice(0, numGenerations).map((vote) => (vote === majority ? 1 : 0));
}

/** The rewards of the first num_generations completions under the chosen reward. */
export function computeRewards(votes: readonly string[], settings: RewardSettings): number[] {
  switch (settings.reward) {
    case 'ttrv':
      return ttrvRewards(votes, settings.num_generations, settings.alpha);
    case 'majority':
      return majorityRewards(votes, settings.num_generations);
    default: {
      const unknown: never = settings.reward;
      throw new RangeError(`Unknown reward "${String(unknown)}"`);
    }
  }
}
