import { useMemo } from 'react';
import type { StepMetrics } from '../../rl/metrics';
import type { OverlayRun } from '../../store';
import { MetricChart } from './MetricChart';
import { PALETTE } from './MetricsCharts';

type Props = { runs: OverlayRun[] };

const OVERLAID: { id: string; title: string; pick: (m: StepMetrics) => number | null }[] = [
  { id: 'overlay-agreement', title: 'Agreement', pick: (m) => m.agreement },
  { id: 'overlay-reward', title: 'Reward (mean)', pick: (m) => m.reward },
  { id: 'overlay-kl', title: 'KL to the base model (β > 0 only)', pick: (m) => m.kl },
  { id: 'overlay-entropy', title: 'Answer entropy (nats)', pick: (m) => m.answer_entropy },
];

/** Ticked runs' curves, one chart per metric, one colour per run; runs of different lengths share
 * the step axis (a shorter run's line just ends). */
export function RunsOverlay({ runs }: Props) {
  const steps = useMemo(() => {
    const longest = Math.max(0, ...runs.map((r) => r.history.length));
    return Array.from({ length: longest }, (_, i) => i + 1);
  }, [runs]);
  const charts = useMemo(
    () =>
      OVERLAID.map((chart) =>
        runs.map((run, k) => ({
          label: run.label,
          values: steps.map((_, i) => {
            const m = run.history[i];
            return m ? chart.pick(m) : null;
          }),
          color: PALETTE[k % PALETTE.length] as string,
        })),
      ),
    [runs, steps],
  );
  return (
    <div className="chart-grid" data-testid="runs-overlay" data-runs={runs.length}>
      {OVERLAID.map((chart, c) => (
        <MetricChart
          key={chart.id}
          title={chart.title}
          steps={steps}
          series={charts[c] ?? []}
          testId={chart.id}
          legendValues={false}
        />
      ))}
    </div>
  );
}
