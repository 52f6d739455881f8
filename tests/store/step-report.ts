// The one StepReport the page-side tests build: the worker's step report with only the metrics
// and distribution they read filled in (a field added to StepReport is added here once).
import type { StepReport } from '../../src/protocol';
import type { StepMetrics } from '../../src/rl/metrics';

export function stepReport(
  step: number,
  agreement: number,
  distribution: StepReport['distribution'],
): StepReport {
  return {
    metrics: { step, agreement } as StepMetrics,
    distribution,
    views: null,
    skipped: null,
    guard: null,
    promptMs: 0,
    completions: null,
  };
}
