import { describe, expect, it } from 'vitest';
import type { StepMetrics } from '../../../src/rl/metrics';
import { stopReason } from '../../../src/rl/stopRule';

const step = (agreement: number) => ({ agreement }) as StepMetrics;

describe('stopReason', () => {
  const config = { max_steps: 3, early_stop_agreement: 0.9 };

  it('takes steps until max_steps, then says it was reached', () => {
    expect(stopReason(0, null, config)).toBeNull();
    expect(stopReason(2, step(0.5), config)).toBeNull();
    expect(stopReason(3, step(0.5), config)).toBe('Reached max_steps (3).');
  });

  it('stops early once the last step reached early_stop_agreement', () => {
    expect(stopReason(1, step(0.9), config)).toBe(
      'Stopped early: agreement 90 % reached early_stop_agreement.',
    );
    expect(stopReason(1, step(0.89), config)).toBeNull();
  });

  it('never stops early with early_stop_agreement null, and Continue takes a step', () => {
    expect(stopReason(1, step(1), { ...config, early_stop_agreement: null })).toBeNull();
    // Before a run's first step there is no last step: an earlier run's agreement does not count.
    expect(stopReason(1, null, config)).toBeNull();
  });
});
