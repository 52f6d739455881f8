// Label-free rewards (docs/ttrv.md §1.3–1.4): TTRV's frequency + entropy reward, TTRL's majority reward
// and its guarded form, a confidence reward from the policy's own log-probs, agreement across
// augmented views of the image, and TTRV's reward with a perception term (masked image). `votes` are the extracted answers of all num_votes completions;
// only the first num_generations are trained on, but the distribution comes from all of them.
import { mean } from './stats';

/**
 * What a reward is computed from: the votes' answers, the answers of every augmented view of the
 * image pooled, the sampled tokens' log-probs, or the votes plus the completions re-scored after
 * a masked image.
 */
export type RewardInput = 'votes' | 'views' | 'logprobs' | 'masked';

/** The settings that only some rewards read. */
export type RewardOnlySetting =
  | 'alpha'
  | 'guard_threshold'
  | 'num_views'
  | 'view_augmentations'
  | 'perception_coef';

export interface RewardInfo {
  /** One line: what it does and where it comes from (the settings panel shows it). */
  description: string;
  input: RewardInput;
  /** The settings only this reward reads (the panel turns them off for the others). */
  settings: readonly RewardOnlySetting[];
}

/**
 * Every reward, in the order the settings panel lists them: the one list that the reward type,
 * its validation, the panel and the TRL export take their names from.
 */
export const REWARDS = {
  ttrv: {
    description:
      'p(answer) + α · (−H(p) / ln M): the share of the votes for the answer plus a per-prompt ' +
      'entropy term — TTRV (arXiv 2510.06783)',
    input: 'votes',
    settings: ['alpha'],
  },
  frequency: {
    description:
      'p(answer): the share of the votes for the answer — TTRV with α = 0 (a public re-run found ' +
      'it best)',
    input: 'votes',
    settings: [],
  },
  majority: {
    description: '1 for the most common answer, 0 for the rest — TTRL (arXiv 2504.16084)',
    input: 'votes',
    settings: [],
  },
  guarded_majority: {
    description:
      'majority, but a prompt whose most common answer holds less than guard_threshold of the ' +
      'votes gives no update — TTRL-Guard (arXiv 2605.19444), DARE (arXiv 2601.21804)',
    input: 'votes',
    settings: ['guard_threshold'],
  },
  confidence: {
    description:
      "the completion's mean token log-prob, whatever the other votes say — RENT's confidence " +
      'reward (arXiv 2505.22660)',
    input: 'logprobs',
    settings: [],
  },
  view_consistency: {
    description:
      "the answer's share of the votes pooled over num_views augmented views of the image (crops, " +
      'flips, colour) — agreement across views as in TPT (arXiv 2209.07511) and Zero (arXiv ' +
      '2405.18330)',
    input: 'views',
    settings: ['num_views', 'view_augmentations'],
  },
  perception: {
    description:
      "TTRV's reward, plus perception_coef × the drop of each completion's log-prob when the " +
      'image is masked, so the answer has to come from the image — PAPO (perception-aware policy optimisation), DVRP ("Thinking with Deltas")',
    input: 'masked',
    settings: ['alpha', 'perception_coef'],
  },
} as const satisfies Record<string, RewardInfo>;

export type RewardKind = keyof typeof REWARDS;

/** The rewards' names, in REWARDS' order. */
export const REWARD_KINDS: readonly RewardKind[] = Object.freeze(
  Object.keys(REWARDS) as RewardKind[],
);

/** The rewards that read a setting (alpha: ttrv); empty for a setting every reward uses or none. */
export function rewardsReading(setting: string): RewardKind[] {
  return REWARD_KINDS.filter((kind) =>
    (REWARDS[kind].settings as readonly string[]).includes(setting),
  );
}

export interface RewardSettings {
  reward: RewardKind;
  /** Weight of the entropy term (ttrv); one value per prompt, so a group baseline cancels it. */
  alpha: number;
  /** guarded_majority skips a prompt whose majority share is below this. */
  guard_threshold: number;
  num_generations: number;
}

/** What computeRewards reads of one prompt's votes (the session's Votes has both). */
export interface RewardInputs {
  /** The extracted answers of all num_votes completions. */
  answers: readonly string[];
  /** Per completion, the log-probs of its sampled tokens. */
  logprobs: readonly (readonly number[])[];
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

function checkGenerations(completions: number, numGenerations: number): void {
  if (!Number.isInteger(numGenerations) || numGenerations < 0) {
    throw new RangeError(`numGenerations must be a non-negative integer, got ${numGenerations}`);
  }
  if (numGenerations > completions) {
    throw new RangeError(
      `numGenerations (${numGenerations}) cannot exceed the number of votes (${completions})`,
    );
  }
}

/** p(a_j) = count(a_j) / all votes, for each of the first numGenerations votes. */
export function frequencyRewards(votes: readonly string[], numGenerations: number): number[] {
  // One prompt's votes are a pool of one view.
  return viewConsistencyRewards([votes], numGenerations)[0] as number[];
}

/** TTRV's combined reward r_j = p(a_j) + alpha · entropyReward (docs/ttrv.md §1.4). */
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
  checkGenerations(votes.length, numGenerations);
  if (numGenerations === 0) return [];
  const majority = majorityAnswer(votes);
  return votes.slice(0, numGenerations).map((vote) => (vote === majority ? 1 : 0));
}

/** Whether the guard skips a prompt: its most common answer holds less than `threshold` of the
 * votes (a share exactly at the threshold passes). */
export function guardSkips(votes: readonly string[], threshold: number): boolean {
  return agreement(votes) < threshold;
}

/**
 * The majority reward behind a guard (TTRL-Guard, arXiv 2605.19444; DARE, arXiv 2601.21804): both
 * report that rewarding a weak majority teaches the model to flip right answers to wrong. A
 * prompt whose votes barely agree gets all-zero rewards: equal rewards carry no ranking, so its
 * GRPO advantages are 0 (computeAdvantages takes the skipped prompts too, so that holds under
 * every baseline, not only the group's) and it gives no update.
 */
export function guardedMajorityRewards(
  votes: readonly string[],
  numGenerations: number,
  threshold: number,
): number[] {
  checkGenerations(votes.length, numGenerations);
  if (numGenerations === 0) return [];
  if (guardSkips(votes, threshold)) return Array<number>(numGenerations).fill(0);
  return majorityRewards(votes, numGenerations);
}

/** For each prompt of a step, whether the guard skips it; null when the reward has no guard. */
export function guardedPrompts(
  votesPerPrompt: readonly (readonly string[])[],
  settings: Pick<RewardSettings, 'reward' | 'guard_threshold'>,
): boolean[] | null {
  if (settings.reward !== 'guarded_majority') return null;
  return votesPerPrompt.map((votes) => guardSkips(votes, settings.guard_threshold));
}

/**
 * A confidence reward (RENT, arXiv 2505.22660): r_j = the mean log-prob of completion j's own
 * sampled tokens (its negative mean NLL), for the first numGenerations completions. It ignores
 * the votes' agreement entirely: the policy is rewarded for what it is already sure of. RENT
 * rewards low entropy of the full next-token distributions; this uses the sampled tokens'
 * log-probs instead, which the vote already has (no extra pass). A completion without tokens has
 * no confidence to measure and gets the group's lowest reward (0 when every one is empty).
 */
export function confidenceRewards(
  logprobs: readonly (readonly number[])[],
  numGenerations: number,
): number[] {
  checkGenerations(logprobs.length, numGenerations);
  const means = logprobs
    .slice(0, numGenerations)
    .map((tokens) => (tokens.length === 0 ? null : mean(tokens)));
  const measured = means.filter((m): m is number => m !== null);
  const lowest = measured.length > 0 ? Math.min(...measured) : 0;
  return means.map((m) => m ?? lowest);
}

/**
 * Agreement across views (view_consistency): every view of one image sampled its own votes, and
 * each of a view's first numGenerations completions is rewarded with its answer's share of the
 * votes of all the views together. Pooling asks for the answer that survives a crop, a flip or a
 * colour change, not merely the one this view's samples repeat; each view's completions stay a
 * GRPO group of their own (their advantages compare completions that saw the same pixels).
 */
export function viewConsistencyRewards(
  votesPerView: readonly (readonly string[])[],
  numGenerations: number,
): number[][] {
  for (const votes of votesPerView) checkGenerations(votes.length, numGenerations);
  const pooled = votesPerView.flat();
  const counts = countVotes(pooled);
  return votesPerView.map((votes) =>
    votes.slice(0, numGenerations).map((vote) => (counts.get(vote) ?? 0) / pooled.length),
  );
}

/**
 * The rewards of one image's prompts, one per view (view 0 the image itself): view_consistency
 * pools the votes of all of them; every other reward rewards each prompt from its own votes.
 */
export function imageRewards(views: readonly RewardInputs[], settings: RewardSettings): number[][] {
  if (settings.reward === 'view_consistency') {
    return viewConsistencyRewards(
      views.map((v) => v.answers),
      settings.num_generations,
    );
  }
  return views.map((v) => computeRewards(v, settings));
}

/** The rewards of one prompt's first num_generations completions under the chosen reward. */
export function computeRewards(votes: RewardInputs, settings: RewardSettings): number[] {
  const { answers } = votes;
  const n = settings.num_generations;
  switch (settings.reward) {
    case 'ttrv':
      return ttrvRewards(answers, n, settings.alpha);
    case 'frequency':
      // TTRV with α = 0, whatever the alpha setting says.
      return frequencyRewards(answers, n);
    case 'majority':
      return majorityRewards(answers, n);
    case 'guarded_majority':
      return guardedMajorityRewards(answers, n, settings.guard_threshold);
    case 'confidence':
      return confidenceRewards(votes.logprobs, n);
    case 'view_consistency':
      // A prompt alone is an image with one view: its votes are the whole pool.
      return frequencyRewards(answers, n);
    case 'perception':
      // The perception term is not a reward of the votes but a loss term on the masked image's
      // re-scoring (src/ttrv/step.ts, perceptionGroups): the votes get TTRV's reward.
      return ttrvRewards(answers, n, settings.alpha);
    default: {
      const unknown: never = settings.reward;
      throw new RangeError(`Unknown reward "${String(unknown)}"`);
    }
  }
}
