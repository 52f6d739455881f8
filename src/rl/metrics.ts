// Per-step metrics under TRL's GRPOTrainer log names where one exists, and their JSON/CSV export.
import type { TtrvConfig } from './config';
import { agreement, answerEntropy, countVotes } from './rewards';
import { allEqual, mean, unbiasedStd } from './stats';

export interface StepMetrics {
  step: number;
  learning_rate: number;
  /** Mean reward over every trained completion of the step. */
  reward: number;
  /** Mean over prompts of the within-prompt (unbiased) reward std. */
  reward_std: number;
  /** Share of prompts whose rewards are all equal, so they give no gradient. */
  frac_reward_zero_std: number;
  /** Mean over prompts of the most common answer's share of the votes (view_consistency: of an
   * image's votes pooled over its views, the share its reward is made of). */
  agreement: number;
  /** Mean over prompts of the answer distribution's entropy, in nats (pooled as agreement). */
  answer_entropy: number;
  distinct_answers: number;
  /** Prompts the guard skipped (reward guarded_majority); null under the other rewards. */
  guard_skipped: number | null;
  /**
   * Mean token log-prob of the trained completions with the image minus with it masked (reward
   * perception; null under the others): how much the answers lean on the image.
   */
  perception_gap: number | null;
  loss: number;
  /** null when beta = 0 skips the reference pass. */
  kl: number | null;
  /** Mean token entropy of the policy over the completions. */
  entropy: number;
  grad_norm: number;
  'completions/mean_length': number;
  /** Share of completions that hit max_completion_length without an end token. */
  'completions/clipped_ratio': number;
  'clip_ratio/region_mean': number;
  vote_ms: number;
  train_ms: number;
  step_time: number;
}

// Typed as a mapped type over StepMetrics, so a name missing here or not in StepMetrics fails to
// compile; the listing order is the CSV column order (string keys keep insertion order).
const METRIC_COLUMNS: { readonly [K in keyof StepMetrics]: true } = {
  step: true,
  learning_rate: true,
  reward: true,
  reward_std: true,
  frac_reward_zero_std: true,
  agreement: true,
  answer_entropy: true,
  distinct_answers: true,
  guard_skipped: true,
  perception_gap: true,
  loss: true,
  kl: true,
  entropy: true,
  grad_norm: true,
  'completions/mean_length': true,
  'completions/clipped_ratio': true,
  'clip_ratio/region_mean': true,
  vote_ms: true,
  train_ms: true,
  step_time: true,
};

/** Every metric name, in the order of the CSV columns. */
export const METRIC_NAMES: readonly (keyof StepMetrics)[] = Object.freeze(
  Object.keys(METRIC_COLUMNS) as (keyof StepMetrics)[],
);

export type VoteMetrics = Pick<
  StepMetrics,
  | 'reward'
  | 'reward_std'
  | 'frac_reward_zero_std'
  | 'agreement'
  | 'answer_entropy'
  | 'distinct_answers'
>;

/** One prompt's extracted votes (all num_votes) and the rewards of its trained completions. */
export interface PromptVotes {
  votes: readonly string[];
  rewards: readonly number[];
}

/** The step's reward and agreement metrics over its prompts. */
export function voteMetrics(prompts: readonly PromptVotes[]): VoteMetrics {
  if (prompts.length === 0) throw new RangeError('voteMetrics needs at least one prompt');
  prompts.forEach(({ votes, rewards }, i) => {
    if (votes.length === 0 || rewards.length === 0) {
      throw new RangeError(`Prompt ${i} has no votes or no rewards`);
    }
  });
  return {
    reward: mean(prompts.flatMap((p) => p.rewards)),
    reward_std: mean(prompts.map((p) => unbiasedStd(p.rewards))),
    frac_reward_zero_std: prompts.filter((p) => allEqual(p.rewards)).length / prompts.length,
    agreement: mean(prompts.map((p) => agreement(p.votes))),
    answer_entropy: mean(prompts.map((p) => answerEntropy(p.votes))),
    distinct_answers: mean(prompts.map((p) => countVotes(p.votes).size)),
  };
}

/** A share as the page writes it: "37.5 %". */
function percent(share: number): string {
  return `${Number((share * 100).toFixed(1))} %`;
}

/**
 * What the guard did in a step, as a sentence for the page; null when it skipped no prompt (or the
 * reward has no guard). `skipped` is guardedPrompts' answer for the step's prompts.
 */
export function guardNote(
  votesPerPrompt: readonly (readonly string[])[],
  skipped: readonly boolean[] | null,
  threshold: number,
): string | null {
  const shares = votesPerPrompt.filter((_, i) => skipped?.[i]).map(agreement);
  if (shares.length === 0) return null;
  const why = `majority ${shares.map(percent).join(', ')} < guard_threshold ${percent(threshold)}`;
  return votesPerPrompt.length === 1
    ? `skipped by the guard (${why}): no update from this prompt`
    : `${shares.length} of ${votesPerPrompt.length} prompts skipped by the guard (${why}): no update from them`;
}

export interface CompletionLength {
  tokens: number;
  /** False when generation stopped at max_completion_length rather than at an end token. */
  terminated: boolean;
}

/** Mean completion length in tokens and the share cut off by max_completion_length. */
export function completionMetrics(
  completions: readonly CompletionLength[],
): Pick<StepMetrics, 'completions/mean_length' | 'completions/clipped_ratio'> {
  if (completions.length === 0) {
    throw new RangeError('completionMetrics needs at least one completion');
  }
  return {
    'completions/mean_length': mean(completions.map((c) => c.tokens)),
    'completions/clipped_ratio':
      completions.filter((c) => !c.terminated).length / completions.length,
  };
}

/** The run as JSON {config, steps} with 2-space indent; config is null when not given. */
export function metricsToJson(steps: readonly StepMetrics[], config?: TtrvConfig): string {
  return JSON.stringify({ config: config ?? null, steps }, null, 2);
}

/** One CSV cell (RFC 4180): null is empty; quoted when it holds a comma, quote or line break. */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A header of METRIC_NAMES and one row per step, every line ending in CRLF (RFC 4180). */
export function metricsToCsv(steps: readonly StepMetrics[]): string {
  const lines = [
    METRIC_NAMES.map(csvField).join(','),
    ...steps.map((step) => METRIC_NAMES.map((name) => csvField(step[name])).join(',')),
  ];
  return lines.map((line) => `${line}\r\n`).join('');
}
