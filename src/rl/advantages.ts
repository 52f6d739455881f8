// GRPO advantages (docs/ttrv.md §1.5): A = (r − baseline) / (std + ε), with what is subtracted and what
// divides chosen separately, under TRL's names.
import { allEqual, mean, unbiasedStd } from './stats';

/** What is subtracted: the prompt's mean (GRPO), the step's mean, or nothing (REINFORCE). */
export type Baseline = 'group' | 'batch' | 'none';
/** What divides: the prompt's std, the step's std, or nothing. */
export type RewardScaling = 'group' | 'batch' | 'none';

/** Added to the std before dividing (TRL and verl use this value). */
export const ADVANTAGE_EPSILON = 1e-6;

/**
 * One advantage per reward, groups as given (one group per prompt). Stds are unbiased
 * (torch.std). When the std used for scaling is exactly 0 the advantages are 0: the rewards
 * carry no ranking, and dividing a non-zero difference by ε alone would blow it up by 10⁶.
 * A group of one therefore gets 0 under group scaling, and under the group baseline it is its
 * own mean. With scaling "none" the advantage is just r − baseline. A group marked in `skipped`
 * (the guard's, src/rl/rewards.ts) gets advantage 0 and stays out of the batch mean and std: its
 * equal rewards alone would give 0 only under the group baseline, not under "batch".
 */
export function computeAdvantages(
  groupRewards: readonly (readonly number[])[],
  baseline: Baseline,
  scaleRewards: RewardScaling,
  skipped: readonly boolean[] = [],
): number[][] {
  for (const r of groupRewards.flat()) {
    if (!Number.isFinite(r)) throw new RangeError(`Rewards must be finite numbers, got ${r}`);
  }
  const all = groupRewards.filter((_, i) => !skipped[i]).flat();
  // Exactly equal rewards give an exactly zero std; allEqual states that without arithmetic.
  const batchMean = mean(all);
  const batchStd = allEqual(all) ? 0 : unbiasedStd(all);

  return groupRewards.map((rewards, i) => {
    if (skipped[i]) return rewards.map(() => 0);
    let subtract: number;
    switch (baseline) {
      case 'group':
        subtract = mean(rewards);
        break;
      case 'batch':
        subtract = batchMean;
        break;
      case 'none':
        subtract = 0;
        break;
      default: {
        const unknown: never = baseline;
        throw new RangeError(`Unknown baseline "${String(unknown)}"`);
      }
    }
    let std: number | null;
    switch (scaleRewards) {
      case 'group':
        std = allEqual(rewards) ? 0 : unbiasedStd(rewards);
        break;
      case 'batch':
        std = batchStd;
        break;
      case 'none':
        std = null;
        break;
      default: {
        const unknown: never = scaleRewards;
        throw new RangeError(`Unknown scale_rewards "${String(unknown)}"`);
      }
    }
    if (std === null) return rewards.map((r) => r - subtract);
    if (std === 0) return rewards.map(() => 0);
    const divisor = std + ADVANTAGE_EPSILON;
    return rewards.map((r) => (r - subtract) / divisor);
  });
}
