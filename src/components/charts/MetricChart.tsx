import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export type ChartSeries = {
  label: string;
  values: (number | null)[];
  color: string;
  /** Fill the band between this series and the one named here (mean ± std, stacked shares). */
  fillTo?: string;
  /** The band's colour; defaults to a light tint of `color`. */
  fill?: string;
  /** A thin, light line: the edge of a band rather than a quantity of its own. */
  faint?: boolean;
};

type Props = {
  title: string;
  steps: number[];
  series: ChartSeries[];
  height?: number;
  yRange?: [number, number];
  testId?: string;
  /** Show each series' value at the cursor in the legend (off: names only, one short line). */
  legendValues?: boolean;
};

function toData(steps: number[], series: ChartSeries[]): uPlot.AlignedData {
  // A step skipped for a non-finite loss shows as a gap, not as an axis stretched to infinity.
  const finite = (v: number | null) => (v !== null && Number.isFinite(v) ? v : null);
  return [steps, ...series.map((s) => s.values.map(finite))];
}

const STEP_TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

function buildOptions(props: Props, width: number): uPlot.Options {
  const { series, height = 160, yRange, legendValues = true } = props;
  const bands: uPlot.Band[] = [];
  series.forEach((s, i) => {
    const to = s.fillTo ? series.findIndex((other) => other.label === s.fillTo) : -1;
    if (to >= 0) bands.push({ series: [i + 1, to + 1], fill: s.fill ?? `${s.color}22` });
  });
  return {
    width,
    height,
    legend: { show: series.length > 1, live: legendValues },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false }, y: yRange ? { range: yRange } : {} },
    // Steps are whole numbers: no ticks at step 1.2.
    axes: [{ label: 'step', size: 30, incrs: STEP_TICKS }, { size: 60 }],
    bands,
    series: [
      { label: 'step' },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.faint ? `${s.color}55` : s.color,
        width: s.faint ? 1 : 2,
        points: { show: props.steps.length < 30 },
      })),
    ],
  };
}

/** A live line chart: one uPlot instance per mount, data swapped in place as steps arrive. */
export function MetricChart(props: Props) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const seriesKey = props.series.map((s) => s.label).join('|');

  // biome-ignore lint/correctness/useExhaustiveDependencies: rebuild only when the set of series changes
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const chart = new uPlot(
      buildOptions(props, element.clientWidth || 300),
      toData(props.steps, props.series),
      element,
    );
    plot.current = chart;
    const observer = new ResizeObserver(() => {
      chart.setSize({ width: element.clientWidth, height: props.height ?? 160 });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [seriesKey]);

  useEffect(() => {
    plot.current?.setData(toData(props.steps, props.series));
  }, [props.steps, props.series]);

  return (
    <figure className="chart" data-testid={props.testId} data-points={props.steps.length}>
      <figcaption>{props.title}</figcaption>
      <div ref={container} className="chart-canvas" />
    </figure>
  );
}
