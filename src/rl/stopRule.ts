// When a run of steps stops by itself: max_steps reached, or agreement reached
// early_stop_agreement (at full agreement every reward is equal, so a group-baseline step would
// change nothing).
import type { TtrvConfig } from './config';
import type { StepMetrics } from './metrics';

/**
 * Why the run stops before its next step, as the sentence the page shows; null: take the step.
 * `lastStep` is the step just taken in this run, or null before the run's first step (so that
 * Continue after an early stop takes a step).
 */
export function stopReason(
  stepsTaken: number,
  lastStep: StepMetrics | null,
  config: Pick<TtrvConfig, 'max_steps' | 'early_stop_agreement'>,
): string | null {
  const threshold = config.early_stop_agreement;
  if (lastStep && threshold !== null && lastStep.agreement >= threshold) {
    return `Stopped early: agreement ${(lastStep.agreement * 100).toFixed(0)} % reached early_stop_agreement.`;
  }
  if (stepsTaken >= config.max_steps) return `Reached max_steps (${config.max_steps}).`;
  return null;
}
