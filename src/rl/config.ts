// The settings of a TTRV run, under the names users know from TRL's GRPOConfig (docs/ttrv.md §4), with
// defaults and validation the UI shows next to the inputs. The LoRA settings (PEFT's names) are
// the engine's (src/layout/loraSettings.ts); src/settings.ts joins the two.
import type { Baseline, RewardScaling } from './advantages';
import { REWARD_KINDS, type RewardKind } from './rewards';
import type { LrSchedulerType } from './schedule';

export type LossType = 'token_mean' | 'sequence_mean';

/**
 * What an augmented view of the image may change (view_consistency; src/image/augment.ts applies
 * them): a random crop, a horizontal flip, a small brightness / contrast / saturation change.
 */
export const VIEW_AUGMENTATIONS = ['crop', 'flip', 'color'] as const;
export type ViewAugmentation = (typeof VIEW_AUGMENTATIONS)[number];

export interface TtrvConfig {
  // Voting and sampling
  num_votes: number;
  num_generations: number;
  temperature: number;
  top_p: number;
  /** null: no top-k filter (the paper uses none). */
  top_k: number | null;
  max_completion_length: number;
  // Reward and advantage
  reward: RewardKind;
  /** Weight of TTRV's entropy term (reward ttrv); cancels exactly under baseline "group" (docs/ttrv.md §1.5). */
  alpha: number;
  /** guarded_majority: a prompt whose most common answer holds a smaller share gives no update. */
  guard_threshold: number;
  /** view_consistency: the image and num_views − 1 augmented views of it pool their votes. */
  num_views: number;
  /** view_consistency: what the augmented views change. */
  view_augmentations: ViewAugmentation[];
  /**
   * perception: the weight of the term −γ · (logp(completion | image) − logp(completion | masked
   * image)) in the loss, in units of the advantages (which the group's std scales to ~1).
   */
  perception_coef: number;
  baseline: Baseline;
  scale_rewards: RewardScaling;
  // Loss
  loss_type: LossType;
  /** PPO clip range; matters only when num_iterations > 1. */
  epsilon: number;
  num_iterations: number;
  /** KL coefficient; 0 skips the reference (adapter-off) pass. */
  beta: number;
  /** Loss gets −entropy_coef · mean token entropy: negative pushes token entropy down. */
  entropy_coef: number;
  // Optimiser and schedule
  learning_rate: number;
  lr_scheduler_type: LrSchedulerType;
  warmup_steps: number;
  max_steps: number;
  /** Clip the gradient norm to this; 0 turns clipping off (as Hugging Face). */
  max_grad_norm: number;
  weight_decay: number;
  seed: number;
  /** Stop when the step's mean agreement reaches this share; null never stops early. */
  early_stop_agreement: number | null;
}

export const DEFAULT_TTRV_CONFIG: Readonly<TtrvConfig> = {
  // The paper samples 32 votes and trains on 16; on the demo model 32 / 16 gained nothing reliable
  // in dataset mode over 16 / 8 (docs/decisions/0016-dataset-settings-on-demo-model-v1.md) at twice the sampling and training cost.
  num_votes: 16,
  num_generations: 8,
  temperature: 1.0,
  top_p: 1.0,
  top_k: null,
  // One-token answers (a letter or a class name) need few tokens.
  max_completion_length: 8,
  reward: 'ttrv',
  alpha: 0.75,
  // Half the votes: a prompt is trained only when its most common answer has at least as many
  // votes as all the others together.
  guard_threshold: 0.5,
  // The image and three views: each view costs a vision-encoder pass once and num_votes samples
  // every step, so four views are four times a plain step's sampling.
  num_views: 4,
  view_augmentations: [...VIEW_AUGMENTATIONS],
  // A tenth of a typical advantage per token: enough to move the masked-image log-probs within a
  // run, small beside the agreement signal it rides on (bench:zoo measures it).
  perception_coef: 0.1,
  baseline: 'group',
  scale_rewards: 'group',
  loss_type: 'token_mean',
  epsilon: 0.2,
  num_iterations: 1,
  // The paper uses 0.001; over a handful of steps that KL term is negligible next to advantages
  // of order 1, and 0 saves the reference forward pass (TRL's default too).
  beta: 0.0,
  entropy_coef: 0,
  // LoRA needs a far larger rate than the paper's full fine-tune (5e-7). Single-image runs on the
  // demo model v2 (`npm run bench:converge`, docs/decisions/0019-single-image-defaults.md): 5e-4
  // for 10 steps converged on 23.6 % of the items and kept the base majority on 52.8 %; 3e-3 for
  // up to 20 steps with early stop at 0.9 converged on 50 % (median 7 steps) and kept it on 77.8 %.
  // On v3 the same 3e-3 converged on 83.3 % (median 10), 2e-3 on 75 % (docs/decisions/0023); on v4
  // (shipped) 3e-3 converges on 94.4 % (median 6) and keeps the majority on 83.3 % (docs/results.md).
  // (On v1, dataset mode: 5e-4 kept every split within ±0.007.)
  learning_rate: 3e-3,
  // verl's (TTRV's) default is a constant rate without warm-up.
  lr_scheduler_type: 'constant_with_warmup',
  warmup_steps: 0,
  // A single-image run's budget; on v4 the converging items need a median of 6 steps (v3: 10).
  max_steps: 20,
  max_grad_norm: 1.0,
  weight_decay: 0.01,
  seed: 0,
  // "Converged" as bench:converge measures it: 90 % of the votes agree. (At full agreement every
  // reward is equal, so a group-baseline step would change nothing anyway.)
  early_stop_agreement: 0.9,
};

export interface TtrvConfigIssue {
  field: keyof TtrvConfig;
  message: string;
}

/** Every problem with the settings, as sentences for the UI; empty when the run can start. */
export function validateTtrvConfig(config: TtrvConfig): TtrvConfigIssue[] {
  const issues: TtrvConfigIssue[] = [];
  const check = (ok: boolean, field: keyof TtrvConfig, message: string) => {
    if (!ok) issues.push({ field, message });
  };
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const isInteger = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;
  const oneOf = (field: keyof TtrvConfig, allowed: readonly string[]) =>
    check(
      allowed.includes(config[field] as string),
      field,
      `${field} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`,
    );

  check(
    isInteger(config.num_votes, 2),
    'num_votes',
    'num_votes must be an integer ≥ 2: rewards come from agreement between votes',
  );
  check(
    isInteger(config.num_generations, 1),
    'num_generations',
    'num_generations must be a positive integer',
  );
  check(
    !(config.num_generations > config.num_votes),
    'num_generations',
    `num_generations (${config.num_generations}) cannot exceed num_votes (${config.num_votes}): ` +
      'the trained completions are the first num_generations of the votes',
  );
  const groupStatistics = config.baseline === 'group' || config.scale_rewards === 'group';
  check(
    !(groupStatistics && config.num_generations === 1),
    'num_generations',
    'num_generations must be ≥ 2 when baseline or scale_rewards is "group": ' +
      'a single completion is its own mean, so its advantage is always 0',
  );
  check(
    isNumber(config.temperature) && config.temperature > 0,
    'temperature',
    'temperature must be > 0: at 0 every vote is the greedy answer and no reward varies',
  );
  check(
    isNumber(config.top_p) && config.top_p > 0 && config.top_p <= 1,
    'top_p',
    'top_p must be in (0, 1]',
  );
  check(
    config.top_k === null || isInteger(config.top_k, 1),
    'top_k',
    'top_k must be a positive integer, or empty for no top-k filter',
  );
  check(
    isInteger(config.max_completion_length, 1),
    'max_completion_length',
    'max_completion_length must be a positive integer (tokens)',
  );
  oneOf('reward', REWARD_KINDS);
  check(isNumber(config.alpha), 'alpha', 'alpha must be a number');
  check(
    isNumber(config.guard_threshold) && config.guard_threshold > 0 && config.guard_threshold <= 1,
    'guard_threshold',
    'guard_threshold must be in (0, 1], a share of the votes: 0.5 skips prompts whose most ' +
      'common answer has less than half of them, 1 keeps only unanimous prompts',
  );
  check(
    isInteger(config.num_views, 1),
    'num_views',
    'num_views must be a positive integer: 1 is the image alone, each more is one augmented view ' +
      '(one more vision-encoder pass, and num_votes more samples every step)',
  );
  const augmentations: readonly string[] = Array.isArray(config.view_augmentations)
    ? config.view_augmentations
    : [];
  const unknownAugmentations = augmentations.filter(
    (a) => !(VIEW_AUGMENTATIONS as readonly string[]).includes(a),
  );
  check(
    unknownAugmentations.length === 0 && new Set(augmentations).size === augmentations.length,
    'view_augmentations',
    `view_augmentations must list some of ${VIEW_AUGMENTATIONS.join(', ')}, each once` +
      (unknownAugmentations.length > 0 ? ` (unknown: ${unknownAugmentations.join(', ')})` : ''),
  );
  check(
    !(augmentations.length === 0 && config.num_views > 1),
    'view_augmentations',
    'view_augmentations is empty, so every view would be the image itself: turn on crop, flip or ' +
      'color, or set num_views to 1',
  );
  check(
    !(augmentations.length === 1 && augmentations[0] === 'flip' && config.num_views > 2),
    'num_views',
    `num_views (${config.num_views}) is more than 2 with flip alone: the image and its mirror are ` +
      'the only views it makes; set num_views to 2 or turn on crop or color',
  );
  check(
    isNumber(config.perception_coef) && config.perception_coef >= 0,
    'perception_coef',
    'perception_coef must be a number ≥ 0: the weight of the masked-image term (0 is TTRV alone)',
  );
  oneOf('baseline', ['group', 'batch', 'none']);
  oneOf('scale_rewards', ['group', 'batch', 'none']);
  oneOf('loss_type', ['token_mean', 'sequence_mean']);
  check(
    isNumber(config.epsilon) && config.epsilon > 0 && config.epsilon < 1,
    'epsilon',
    'epsilon (the clip range) must be in (0, 1)',
  );
  check(
    isInteger(config.num_iterations, 1),
    'num_iterations',
    'num_iterations must be a positive integer',
  );
  check(isNumber(config.beta) && config.beta >= 0, 'beta', 'beta must be ≥ 0 (0 turns KL off)');
  check(isNumber(config.entropy_coef), 'entropy_coef', 'entropy_coef must be a number');
  check(
    isNumber(config.learning_rate) && config.learning_rate > 0,
    'learning_rate',
    'learning_rate must be > 0',
  );
  oneOf('lr_scheduler_type', ['constant_with_warmup', 'linear', 'cosine']);
  check(isInteger(config.max_steps, 1), 'max_steps', 'max_steps must be a positive integer');
  check(
    isInteger(config.warmup_steps, 0) && config.warmup_steps < config.max_steps,
    'warmup_steps',
    `warmup_steps must be an integer from 0 to max_steps − 1 (${config.max_steps - 1})`,
  );
  check(
    isNumber(config.max_grad_norm) && config.max_grad_norm >= 0,
    'max_grad_norm',
    'max_grad_norm must be ≥ 0 (0 turns clipping off)',
  );
  check(
    isNumber(config.weight_decay) && config.weight_decay >= 0,
    'weight_decay',
    'weight_decay must be ≥ 0',
  );
  check(
    isInteger(config.seed, 0) && config.seed <= 0xffffffff,
    'seed',
    'seed must be an integer from 0 to 4294967295',
  );
  check(
    config.early_stop_agreement === null ||
      (isNumber(config.early_stop_agreement) &&
        config.early_stop_agreement > 0 &&
        config.early_stop_agreement <= 1),
    'early_stop_agreement',
    'early_stop_agreement must be in (0, 1], or empty to never stop early',
  );
  return issues;
}
