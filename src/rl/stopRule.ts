// When a run of steps stops by itself, and when it should worry the person watching it:
// max_steps reached, or agreement reached early_stop_agreement ("converged": at full agreement
// every reward is equal, so a group-baseline step would change nothing); and the signs of collapse
// that TTRV's and TTRL's long runs showed (agreement at 100 % on an answer the base model did not
// favour, KL to the base model rising step after step).
import type { TtrvConfig } from './config';
import type { StepMetrics } from './metrics';

export type Stop = { kind: 'converged' | 'max_steps'; note: string };

/**
 * Why the run stops before its next step; null: take the step. `lastStep` is the step just taken
 * in this run, or null before the run's first step (so that Continue after an early stop takes a
 * step).
 */
export function stopReason(
  stepsTaken: number,
  lastStep: StepMetrics | null,
  config: Pick<TtrvConfig, 'max_steps' | 'early_stop_agreement'>,
): Stop | null {
  const threshold = config.early_stop_agreement;
  if (lastStep && threshold !== null && lastStep.agreement >= threshold) {
    return {
      kind: 'converged',
      note: `Converged: agreement ${(lastStep.agreement * 100).toFixed(0)} % reached early_stop_agreement.`,
    };
  }
  if (stepsTaken >= config.max_steps) {
    return { kind: 'max_steps', note: `Reached max_steps (${config.max_steps}).` };
  }
  return null;
}

/** Steps in a row over which a rising KL is called drift. */
export const KL_RISING_STEPS = 3;

/**
 * A warning when the run looks like collapse rather than sharpening, else null: every vote agrees
 * on an answer that is not the base model's majority answer, or the KL to the base model has risen
 * for KL_RISING_STEPS steps in a row.
 */
export function collapseWarning(
  history: readonly StepMetrics[],
  /** The answer of the last step's votes with the most votes. */
  lastAnswer: string | null,
  /** The base model's most common sampled answer (the compare panel's), if known. */
  baseMajority: string | null,
): string | null {
  const last = history.at(-1);
  if (last && last.agreement >= 1 && lastAnswer !== null && baseMajority !== null) {
    if (lastAnswer !== baseMajority) {
      return `Every vote now says “${lastAnswer}”, but the base model's most common answer was “${baseMajority}”: the adapter may have collapsed onto another answer rather than sharpened the model's own. Compare base and adapted before trusting it.`;
    }
  }
  const kls = history.slice(-(KL_RISING_STEPS + 1)).map((step) => step.kl);
  const rising =
    kls.length === KL_RISING_STEPS + 1 &&
    kls.every((kl, i) => kl !== null && (i === 0 || kl > (kls[i - 1] as number)));
  if (rising) {
    return `The KL to the base model has risen for ${KL_RISING_STEPS} steps in a row: the adapter is drifting away from the base model. Pause, or raise beta.`;
  }
  return null;
}
