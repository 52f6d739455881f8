// A playground run's settings as TRL's GRPOConfig and PEFT's LoraConfig arguments (TRL 1.9), by
// name, with what differs said where TRL has no exact equivalent. The exported train_ttrv.py
// gets them as Python literals (renderRunSettings).

import type { DatasetProtocol } from '../protocol';
import { REWARD_KINDS, REWARDS, type RewardInput } from '../rl/rewards';
import type { PlaygroundSettings } from '../settings';

/** What ran: single-image steps on the page's image, or a dataset run under a protocol. */
export type TrlRunShape = { kind: 'image' } | { kind: 'dataset'; protocol: DatasetProtocol };

export type PythonValue = number | string | boolean | null | readonly string[];

export type MappedSetting = {
  /** The argument's name in TRL / PEFT / the script. */
  name: string;
  value: PythonValue;
  /** The playground setting it comes from, or why it is set. */
  from: string;
};

export type TrlRecipe = {
  grpo: MappedSetting[];
  lora: MappedSetting[];
  /** What the script itself implements: the reward, its grouping, early stop, prompts per step. */
  ttrv: MappedSetting[];
  /** Where TRL does not do exactly what the playground did, one sentence each. */
  differences: string[];
};

/** The run's votes per prompt and trained completions (a dataset protocol sets its own). */
function votesOf(settings: PlaygroundSettings, run: TrlRunShape) {
  return run.kind === 'dataset'
    ? { votes: run.protocol.num_votes, trained: run.protocol.num_generations }
    : { votes: settings.num_votes, trained: settings.num_generations };
}

/** The LoRA's modules as a PEFT regex: only the language model's layers, never the vision tower's
 * projections of the same names (the playground adapts the text model only). */
export function targetModulesRegex(modules: readonly string[]): string {
  return `^(?!.*(?:vision|visual)).*\\.(?:${modules.join('|')})$`;
}

/**
 * Why a reward that is not computed from one prompt's votes cannot run as a TRL reward function:
 * TRL 1.9 passes reward functions the prompts, completions, their token ids and the dataset's
 * columns, but not the sampled tokens' log-probs (a confidence reward would need another forward
 * pass inside the reward), and it groups completions by prompt only (views of one image would be
 * unrelated prompts, each rewarded by its own votes).
 */
const NOT_EXPORTABLE: Record<Exclude<RewardInput, 'votes'>, string> = {
  logprobs:
    "it is computed from the log-probs of the sampled tokens, which TRL's reward functions are not given",
  views:
    "it pools the votes of augmented views of each image, which TRL's GRPOTrainer would sample as " +
    'unrelated prompts',
  masked:
    'its perception term re-scores every completion after a masked image, a second forward pass ' +
    "that TRL's reward functions cannot run",
};

/** Refuses a reward that a TRL reward function cannot compute (NOT_EXPORTABLE says why). */
function checkExportable(reward: PlaygroundSettings['reward']): void {
  const { input } = REWARDS[reward];
  if (input === 'votes') return;
  const exportable = REWARD_KINDS.filter((kind) => REWARDS[kind].input === 'votes');
  throw new RangeError(
    `The "${reward}" reward cannot be exported to TRL: ${NOT_EXPORTABLE[input]}. Choose another ` +
      `reward (${exportable.join(', ')}) to export the run.`,
  );
}

export function trlRecipe(settings: PlaygroundSettings, run: TrlRunShape): TrlRecipe {
  checkExportable(settings.reward);
  const { votes, trained } = votesOf(settings, run);
  const schedule = run.kind === 'dataset' ? run.protocol.schedule : null;
  const differences: string[] = [];
  if (trained < votes) {
    differences.push(
      `The playground samples ${votes} votes per prompt and trains on the first ${trained}; TRL trains ` +
        `every completion it samples, so num_generations is ${votes}: the rewards see all ${votes} votes ` +
        `as in TTRV, and all ${votes} are trained (the same expected gradient with less variance, at ` +
        `${votes / trained}× the backward work).`,
    );
  }
  if (settings.baseline !== 'group') {
    differences.push(
      `baseline "${settings.baseline}" has no TRL equivalent: TRL always subtracts the group's mean ` +
        '(the playground\'s "group").',
    );
  }
  if (settings.reward === 'guarded_majority' && settings.scale_rewards === 'batch') {
    differences.push(
      'scale_rewards "batch": TRL\'s batch std includes the zero rewards of the prompts the guard ' +
        'skips; the playground leaves them out of it (their advantages are 0 in both).',
    );
  }
  differences.push(
    settings.loss_type === 'token_mean'
      ? 'loss_type "token_mean" (the mean over every completion token of the step, as verl) is ' +
          'TRL\'s "dapo" (normalised by the active tokens of the whole accumulated batch).'
      : 'loss_type "sequence_mean" (each completion\'s token mean, then the mean over completions) ' +
          'is TRL\'s "grpo".',
  );
  if (schedule && 'subset' in schedule && schedule.subset % schedule.promptsPerStep !== 0) {
    differences.push(
      `TRL's sampler drops an epoch's incomplete last batch: ${schedule.subset} items at ` +
        `${schedule.promptsPerStep} per step train ${Math.floor(schedule.subset / schedule.promptsPerStep)} ` +
        `steps per epoch, where the playground also trains the remaining ${schedule.subset % schedule.promptsPerStep}.`,
    );
  }
  const promptsPerStep = schedule ? schedule.promptsPerStep : 1;
  const length: MappedSetting[] =
    schedule && 'subset' in schedule
      ? [
          { name: 'num_train_epochs', value: schedule.epochs, from: "the protocol's epochs" },
          { name: 'max_steps', value: -1, from: 'epochs decide' },
        ]
      : [
          {
            name: 'max_steps',
            value: schedule && 'steps' in schedule ? schedule.steps : settings.max_steps,
            from: schedule ? "the single-example protocol's steps" : 'max_steps',
          },
        ];
  return {
    grpo: [
      run.kind === 'dataset'
        ? {
            name: 'learning_rate',
            value: run.protocol.learning_rate,
            from: "the protocol's learning rate",
          }
        : { name: 'learning_rate', value: settings.learning_rate, from: 'learning_rate' },
      { name: 'lr_scheduler_type', value: settings.lr_scheduler_type, from: 'lr_scheduler_type' },
      { name: 'warmup_steps', value: settings.warmup_steps, from: 'warmup_steps' },
      ...length,
      { name: 'max_grad_norm', value: settings.max_grad_norm, from: 'max_grad_norm' },
      { name: 'weight_decay', value: settings.weight_decay, from: 'weight_decay' },
      { name: 'adam_beta1', value: 0.9, from: "the playground's AdamW" },
      { name: 'adam_beta2', value: 0.999, from: "the playground's AdamW" },
      { name: 'seed', value: settings.seed, from: 'seed' },
      { name: 'num_generations', value: votes, from: 'num_votes (see "What differs")' },
      { name: 'temperature', value: settings.temperature, from: 'temperature' },
      { name: 'top_p', value: settings.top_p, from: 'top_p' },
      { name: 'top_k', value: settings.top_k ?? 0, from: 'top_k (TRL: 0 is no filter)' },
      {
        name: 'max_completion_length',
        value: settings.max_completion_length,
        from: 'max_completion_length',
      },
      { name: 'beta', value: settings.beta, from: 'beta (0: no reference model)' },
      { name: 'epsilon', value: settings.epsilon, from: 'epsilon' },
      { name: 'num_iterations', value: settings.num_iterations, from: 'num_iterations' },
      { name: 'scale_rewards', value: settings.scale_rewards, from: 'scale_rewards' },
      {
        name: 'loss_type',
        value: settings.loss_type === 'token_mean' ? 'dapo' : 'grpo',
        from: `loss_type "${settings.loss_type}"`,
      },
      { name: 'entropy_coef', value: settings.entropy_coef, from: 'entropy_coef (same sign)' },
    ],
    lora: [
      { name: 'r', value: settings.r, from: 'r' },
      { name: 'lora_alpha', value: settings.lora_alpha, from: 'lora_alpha' },
      { name: 'lora_dropout', value: settings.lora_dropout, from: 'lora_dropout' },
      {
        name: 'target_modules',
        value: targetModulesRegex(settings.target_modules),
        from: `target_modules ${settings.target_modules.join(', ')}, language model only`,
      },
    ],
    ttrv: [
      { name: 'reward', value: settings.reward, from: 'reward' },
      { name: 'alpha', value: settings.alpha, from: 'alpha (ttrv; cancels under the group mean)' },
      {
        name: 'guard_threshold',
        value: settings.guard_threshold,
        from: 'guard_threshold (guarded_majority)',
      },
      {
        name: 'early_stop_agreement',
        value: run.kind === 'image' ? settings.early_stop_agreement : null,
        from:
          run.kind === 'image'
            ? 'early_stop_agreement (a callback)'
            : 'dataset runs never stop early',
      },
      { name: 'prompts_per_step', value: promptsPerStep, from: 'distinct prompts per step' },
      { name: 'playground_num_generations', value: trained, from: 'trained votes, for the record' },
    ],
    differences,
  };
}

/** A value as Python source. */
export function pythonLiteral(value: PythonValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${value} has no Python literal here`);
    return String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
}

function pythonDict(name: string, settings: readonly MappedSetting[]): string {
  const lines = settings.map((s) => `    ${s.name}=${pythonLiteral(s.value)},  # ${s.from}`);
  return `${name} = dict(\n${lines.join('\n')}\n)`;
}

/** The block train_ttrv.py starts with: the base model and the recipe, as Python. */
export function renderRunSettings(recipe: TrlRecipe, baseModel: string): string {
  return [
    `BASE_MODEL = ${pythonLiteral(baseModel)}`,
    pythonDict('GRPO_SETTINGS', recipe.grpo),
    pythonDict('LORA_SETTINGS', recipe.lora),
    pythonDict('TTRV_SETTINGS', recipe.ttrv),
  ].join('\n');
}
