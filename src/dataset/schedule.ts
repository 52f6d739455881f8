// Dataset mode's schedule (docs/ttrv.md §3): adapt on a small unlabeled subset of a test split for a few
// epochs, promptsPerStep prompts per step (paper: 20 images, 2 epochs, 8 prompts per step); or,
// in single-example mode, on one item repeated as the whole batch of every step.

import { PlaygroundError } from '../errors';
import type {
  DatasetProtocol,
  DatasetSchedule,
  Evaluation,
  SingleExampleSchedule,
} from '../protocol';
import { seededRandom } from '../random';
import type { TtrvConfig } from '../rl/config';

export const PAPER_DATASET_SCHEDULE: Readonly<DatasetSchedule> = {
  subset: 20,
  epochs: 2,
  promptsPerStep: 8,
};

/** Fisher–Yates with the caller's uniform [0, 1) source, so the schedule is seedable. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * The item indices of each step: a random subset of the split, reshuffled every epoch, cut into
 * steps of promptsPerStep (an epoch's last step may be smaller: no item is seen twice per epoch).
 */
export function adaptationBatches(
  itemCount: number,
  schedule: DatasetSchedule,
  random: () => number,
): number[][] {
  const { subset, epochs, promptsPerStep } = schedule;
  if (![subset, epochs, promptsPerStep].every((v) => Number.isInteger(v) && v >= 1)) {
    throw new PlaygroundError(
      'bad-settings',
      'subset, epochs and prompts per step must be positive integers',
    );
  }
  const chosen = shuffled(
    Array.from({ length: itemCount }, (_, i) => i),
    random,
  ).slice(0, subset);
  const steps: number[][] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = shuffled(chosen, random);
    for (let at = 0; at < order.length; at += promptsPerStep) {
      steps.push(order.slice(at, at + promptsPerStep));
    }
  }
  return steps;
}

/** As many prompts as the paper's dataset schedule (5 steps × 8 = 20 images × 2 epochs). */
export const SINGLE_EXAMPLE_SCHEDULE: Readonly<SingleExampleSchedule> = {
  example: 0,
  steps: 5,
  promptsPerStep: 8,
};

/**
 * TTRV's protocol (its examples/ttrv/run.sh; docs/ttrv.md §3): 20 unlabeled items of the evaluated split,
 * 2 epochs, 32 votes of which the first 16 are trained, greedy accuracy over the whole split.
 */
export const TTRV_PROTOCOL: Readonly<DatasetProtocol> = {
  schedule: PAPER_DATASET_SCHEDULE,
  num_votes: 32,
  num_generations: 16,
  // bench:quality on demo model v2, mean of seeds 0-2, greedy gain on sketch / noise / cast: 3e-3
  // (the single-image default) +0.049 / +0.001 / +0.025; 5e-3 +0.042 / +0.021 / +0.072 (seed 0:
  // +0.10 on each), same clean split, larger type drops (docs/decisions/0026-dataset-mode-learning-rate-5e-3.md).
  learning_rate: 5e-3,
  evaluate: 'whole split',
  sampled: true,
};

/**
 * The settings a dataset run samples and trains with: the page's, with the protocol's votes,
 * trained completions and learning rate in place of the single-image ones (dataset mode has its
 * own rate, TTRV_PROTOCOL's). runDataset runs with these, and the benchmarks report these.
 */
export function datasetRunSettings<Settings extends TtrvConfig>(
  settings: Settings,
  protocol: DatasetProtocol,
): Settings {
  return {
    ...settings,
    num_votes: protocol.num_votes,
    num_generations: protocol.num_generations,
    learning_rate: protocol.learning_rate,
  };
}

/** The item indices of each step: the example, promptsPerStep times, for every step. */
export function singleExampleBatches(
  itemCount: number,
  schedule: SingleExampleSchedule,
): number[][] {
  const { example, steps, promptsPerStep } = schedule;
  if (![steps, promptsPerStep].every((v) => Number.isInteger(v) && v >= 1)) {
    throw new PlaygroundError(
      'bad-settings',
      'steps and prompts per step must be positive integers',
    );
  }
  if (!(Number.isInteger(example) && example >= 0 && example < itemCount)) {
    throw new PlaygroundError(
      'bad-settings',
      `the example must be one of the split's items, 1 to ${itemCount}`,
    );
  }
  return Array.from({ length: steps }, () => Array<number>(promptsPerStep).fill(example));
}

/** A run's batches of item indices under its protocol, drawn from `seed` (the run's seed): what
 * the playground adapts on, and what a TRL export of the run trains on. */
export function protocolBatches(
  itemCount: number,
  protocol: DatasetProtocol,
  seed: number,
): number[][] {
  const { schedule } = protocol;
  return 'example' in schedule
    ? singleExampleBatches(itemCount, schedule)
    : adaptationBatches(itemCount, schedule, seededRandom(seed));
}

/** The items a run scores: every item, or those none of its batches adapted on. */
export function scoredIndices(
  itemCount: number,
  batches: readonly (readonly number[])[],
  evaluation: Evaluation,
): number[] {
  const adaptedOn = new Set(batches.flat());
  return Array.from({ length: itemCount }, (_, i) => i).filter(
    (i) => evaluation === 'whole split' || !adaptedOn.has(i),
  );
}
