// The learning-rate schedule under Hugging Face's names (lr_scheduler_type, warmup_steps,
// max_steps), evaluated per 0-based optimiser step.

export type LrSchedulerType = 'constant_with_warmup' | 'linear' | 'cosine';

export interface LrSchedule {
  learning_rate: number;
  lr_scheduler_type: LrSchedulerType;
  warmup_steps: number;
  max_steps: number;
}

/**
 * The rate for 0-based step s. Warm-up steps s < W run at lr·(s+1)/(W+1), so even the first
 * step moves the adapter (Hugging Face's s/W would make step 0 a wasted rollout at rate 0).
 * After warm-up: constant, or decayed over progress = min(1, (s−W)/max(1, max_steps−W)),
 * linearly (×(1−progress)) or by half a cosine (×(1+cos π·progress)/2).
 */
export function learningRateAt(step: number, schedule: LrSchedule): number {
  if (!Number.isInteger(step) || step < 0) {
    throw new RangeError(`step must be a non-negative integer, got ${step}`);
  }
  const { learning_rate: lr, warmup_steps: warmup, max_steps: maxSteps } = schedule;
  if (step < warmup) return (lr * (step + 1)) / (warmup + 1);
  const progress = Math.min(1, (step - warmup) / Math.max(1, maxSteps - warmup));
  switch (schedule.lr_scheduler_type) {
    case 'constant_with_warmup':
      return lr;
    case 'linear':
      return lr * (1 - progress);
    case 'cosine':
      return (lr * (1 + Math.cos(Math.PI * progress))) / 2;
    default: {
      const unknown: never = schedule.lr_scheduler_type;
      throw new RangeError(`Unknown lr_scheduler_type "${String(unknown)}"`);
    }
  }
}
