import { useMemo } from 'react';
import type { StepMetrics } from '../../rl/metrics';
import type { PlaygroundSettings } from '../../settings';
import type { AnswerShare } from '../../store';
import type { ChartSeries } from './MetricChart';
import { MetricChart } from './MetricChart';

type Props = {
  history: StepMetrics[];
  distributions: AnswerShare[][];
  /** The reward in use, named in the reward chart's title and legend. */
  reward: PlaygroundSettings['reward'];
};

export const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#d97706',
  '#7c3aed',
  '#0891b2',
  '#6b7280',
];
const MAX_NAMED_ANSWERS = 6;

function line(label: string, values: (number | null)[], color: string): ChartSeries {
  return { label, values, color };
}

/** Mean with a ±std band, as TRL logs reward and reward_std. */
function meanBand(label: string, mean: number[], std: number[], color: string): ChartSeries[] {
  return [
    line(label, mean, color),
    {
      label: '+std',
      values: mean.map((m, i) => m + (std[i] ?? 0)),
      color,
      faint: true,
      fillTo: '−std',
    },
    { label: '−std', values: mean.map((m, i) => m - (std[i] ?? 0)), color, faint: true },
  ];
}

/**
 * Shares of the most frequent answers at each step, stacked: series k is the running sum of the
 * first k answers' shares, and each band between neighbours is one answer.
 */
function answerStack(distributions: AnswerShare[][]): ChartSeries[] {
  const totals = new Map<string, number>();
  for (const step of distributions) {
    for (const { answer, count } of step) totals.set(answer, (totals.get(answer) ?? 0) + count);
  }
  const named = [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_NAMED_ANSWERS)
    .map(([a]) => a);
  const groups = [...named, null];
  const shares = distributions.map((step) => {
    const votes = step.reduce((sum, s) => sum + s.count, 0) || 1;
    return groups.map(
      (g) =>
        step
          .filter((s) => (g === null ? !named.includes(s.answer) : s.answer === g))
          .reduce((sum, s) => sum + s.count, 0) / votes,
    );
  });
  const labelOf = (g: string | null) => (g === null ? 'other' : g === '' ? '(no answer)' : g);
  return groups.map((g, k) => {
    const color = PALETTE[k % PALETTE.length] as string;
    return {
      label: labelOf(g),
      values: shares.map((row) => row.slice(0, k + 1).reduce((a, b) => a + b, 0)),
      color,
      fill: `${color}99`,
      fillTo: k > 0 ? labelOf(groups[k - 1] ?? null) : undefined,
    };
  });
}

type LineChart = {
  id: string;
  title: string;
  lines: { label: string; pick: (m: StepMetrics) => number | null }[];
  yRange?: [number, number];
};

const LINE_CHARTS: LineChart[] = [
  {
    id: 'chart-agreement',
    title: 'Agreement (share of the most common answer)',
    lines: [{ label: 'agreement', pick: (m) => m.agreement }],
    yRange: [0, 1],
  },
  {
    id: 'chart-entropy',
    title: 'Answer entropy (nats)',
    lines: [{ label: 'answer entropy', pick: (m) => m.answer_entropy }],
  },
  { id: 'chart-loss', title: 'Loss', lines: [{ label: 'loss', pick: (m) => m.loss }] },
  {
    id: 'chart-kl',
    title: 'KL to the base model (β > 0 only)',
    lines: [{ label: 'kl', pick: (m) => m.kl }],
  },
  {
    id: 'chart-grad-norm',
    title: 'Gradient norm (before clipping)',
    lines: [{ label: 'grad norm', pick: (m) => m.grad_norm }],
  },
  {
    id: 'chart-step-time',
    title: 'Step time (ms)',
    lines: [
      { label: 'vote ms', pick: (m) => m.vote_ms },
      { label: 'train ms', pick: (m) => m.train_ms },
    ],
  },
];

export function MetricsCharts({ history, distributions, reward }: Props) {
  const steps = useMemo(() => history.map((m) => m.step), [history]);
  const lineSeries = useMemo(
    () =>
      LINE_CHARTS.map((chart, c) =>
        chart.lines.map((l, k) =>
          line(l.label, history.map(l.pick), PALETTE[(c + k) % PALETTE.length] as string),
        ),
      ),
    [history],
  );
  const rewardBand = useMemo(
    () =>
      meanBand(
        `reward (${reward})`,
        history.map((m) => m.reward),
        history.map((m) => m.reward_std),
        PALETTE[2] as string,
      ),
    [history, reward],
  );
  const answers = useMemo(() => answerStack(distributions), [distributions]);

  if (history.length === 0) {
    return (
      <section className="panel charts-panel" data-testid="charts">
        <h2>Training curves</h2>
        <p className="hint">Charts appear after the first step.</p>
      </section>
    );
  }
  return (
    <section className="panel charts-panel" data-testid="charts">
      <h2>Training curves</h2>
      <div className="chart-grid">
        {LINE_CHARTS.map((chart, c) => (
          <MetricChart
            key={chart.id}
            title={chart.title}
            steps={steps}
            series={lineSeries[c] ?? []}
            yRange={chart.yRange}
            testId={chart.id}
          />
        ))}
        <MetricChart
          title={`Reward: ${reward} (mean ± std)`}
          steps={steps}
          series={rewardBand}
          testId="chart-reward"
        />
        <MetricChart
          title="Answer distribution over steps"
          steps={steps.slice(0, distributions.length)}
          series={answers}
          yRange={[0, 1]}
          testId="chart-answers"
        />
      </div>
    </section>
  );
}
