import { describe, expect, it } from 'vitest';
import type { StepMetrics } from '../../src/rl/metrics';
import { collapseWarning, stopReason } from '../../src/rl/stopRule';

const step = (agreement: number, kl: number | null = null) => ({ agreement, kl }) as StepMetrics;

describe('stopReason', () => {
  const config = { max_steps: 3, early_stop_agreement: 0.9 };

  it('takes steps until max_steps, then says it was reached', () => {
    expect(stopReason(0, null, config)).toBeNull();
    expect(stopReason(2, step(0.5), config)).toBeNull();
    expect(stopReason(3, step(0.5), config)).toEqual({
      kind: 'max_steps',
      note: 'Reached max_steps (3).',
    });
  });

  it('says the run converged once the last step reached early_stop_agreement', () => {
    expect(stopReason(1, step(0.9), config)).toEqual({
      kind: 'converged',
      note: 'Converged: agreement 90 % reached early_stop_agreement.',
    });
    expect(stopReason(3, step(0.95), config)?.kind).toBe('converged');
    expect(stopReason(1, step(0.89), config)).toBeNull();
  });

  it('never stops early with early_stop_agreement null, and Continue takes a step', () => {
    expect(stopReason(1, step(1), { ...config, early_stop_agreement: null })).toBeNull();
    // Before a run's first step there is no last step: an earlier run's agreement does not count.
    expect(stopReason(1, null, config)).toBeNull();
  });
});

describe('collapseWarning', () => {
  it('warns when every vote agrees on an answer the base model did not favour', () => {
    expect(collapseWarning([step(0.5), step(1)], 'B', 'C')).toMatch(/“B”.*“C”/);
    expect(collapseWarning([step(0.5), step(1)], 'C', 'C')).toBeNull();
    expect(collapseWarning([step(0.5), step(0.94)], 'B', 'C')).toBeNull();
    expect(collapseWarning([step(1)], 'B', null)).toBeNull(); // base majority not known
  });

  it('warns when KL has risen for three steps in a row, not for two or a dip', () => {
    const kls = (values: (number | null)[]) => values.map((kl) => step(0.5, kl));
    expect(collapseWarning(kls([0.01, 0.02, 0.03, 0.04]), null, null)).toMatch(/3 steps in a row/);
    expect(collapseWarning(kls([0.02, 0.03, 0.04]), null, null)).toBeNull();
    expect(collapseWarning(kls([0.01, 0.02, 0.015, 0.04]), null, null)).toBeNull();
    expect(collapseWarning(kls([null, null, null, null]), null, null)).toBeNull(); // beta 0
  });
});
