// Dataset mode's schedule (spec §3): adapt on a small unlabeled subset of a test split for a few
// epochs, promptsPerStep prompts per step (paper: 20 images, 2 epochs, 8 prompts per step).

export type DatasetSchedule = {
  /** Items adapted on, drawn at random from the split (paper: 20). */
  subset: number;
  epochs: number;
  promptsPerStep: number;
};

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
    throw new Error('subset, epochs and prompts per step must be positive integers');
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
