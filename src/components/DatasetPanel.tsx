import { useState } from 'react';
import type { DatasetSplit } from '../datasets';
import {
  type DatasetSchedule,
  PAPER_DATASET_SCHEDULE,
  SINGLE_EXAMPLE_SCHEDULE,
  type SingleExampleSchedule,
} from '../rl/datasetSchedule';
import type { DatasetRun } from '../store';

type Props = {
  splits: DatasetSplit[];
  run: DatasetRun;
  ready: boolean;
  onRun: (split: DatasetSplit, schedule: DatasetSchedule | SingleExampleSchedule) => void;
};

type Mode = 'subset' | 'single example';

type Row = [label: string, base: number | undefined, adapted: number | undefined];

function percent(x: number | undefined): string {
  return x === undefined ? '–' : `${(x * 100).toFixed(1)} %`;
}

/**
 * Dataset mode: adapt on an unlabeled subset of a split (or on one of its items repeated as the
 * batch), then greedy accuracy on all of it.
 */
export function DatasetPanel({ splits, run, ready, onRun }: Props) {
  const [name, setName] = useState('');
  const [mode, setMode] = useState<Mode>('subset');
  const [schedule, setSchedule] = useState<DatasetSchedule>({ ...PAPER_DATASET_SCHEDULE });
  const [single, setSingle] = useState<SingleExampleSchedule>({ ...SINGLE_EXAMPLE_SCHEDULE });
  const split = splits.find((s) => s.name === name) ?? splits.find((s) => s.shifted) ?? splits[0];
  if (!split) return null;
  const report = run.report;
  const rows: Row[] = report
    ? [
        ['all questions', report.base.accuracy, report.adapted.accuracy],
        ...Object.keys(report.base.per_type).map(
          (t): Row => [t, report.base.per_type[t], report.adapted.per_type[t]],
        ),
      ]
    : [];
  const numberInput = (
    label: string,
    value: number,
    set: (value: number) => void,
    max?: number,
  ) => (
    <label>
      {label}
      <input
        type="number"
        min={1}
        max={max}
        value={value}
        disabled={run.running}
        onChange={(event) => set(Number(event.currentTarget.value))}
      />
    </label>
  );
  const field = (key: keyof DatasetSchedule, label: string) =>
    numberInput(label, schedule[key], (value) => setSchedule({ ...schedule, [key]: value }));
  const singleField = (key: 'steps' | 'promptsPerStep', label: string) =>
    numberInput(label, single[key], (value) => setSingle({ ...single, [key]: value }));
  return (
    <section className="panel dataset-panel" data-testid="dataset-panel">
      <h2>Dataset mode</h2>
      <p className="hint">
        Adapt on a random unlabeled subset of a split (the paper: 20 images, 2 epochs, 8 prompts per
        step), or on a single example repeated as the whole batch of every step, then compare greedy
        accuracy on the whole split. Labels are used only to score.
      </p>
      <div className="dataset-form">
        <label>
          split
          <select
            value={split.name}
            disabled={run.running}
            onChange={(event) => setName(event.currentTarget.value)}
          >
            {splits.map((s) => (
              <option key={s.name} value={s.name}>
                {s.name} ({s.itemCount}
                {s.shifted ? ', shifted' : ''})
              </option>
            ))}
          </select>
        </label>
        <label>
          adapt on
          <select
            value={mode}
            disabled={run.running}
            data-testid="dataset-mode"
            onChange={(event) => setMode(event.currentTarget.value as Mode)}
          >
            <option value="subset">a random subset</option>
            <option value="single example">a single example</option>
          </select>
        </label>
        {mode === 'subset' ? (
          <>
            {field('subset', 'items adapted')}
            {field('epochs', 'epochs')}
            {field('promptsPerStep', 'prompts per step')}
          </>
        ) : (
          <>
            {numberInput(
              'example number',
              single.example + 1,
              (value) => setSingle({ ...single, example: value - 1 }),
              split.itemCount,
            )}
            {singleField('steps', 'steps')}
            {singleField('promptsPerStep', 'copies per step')}
          </>
        )}
        <button
          type="button"
          data-testid="dataset-run"
          disabled={!ready || run.running}
          onClick={() => onRun(split, mode === 'subset' ? schedule : single)}
        >
          {run.running ? 'Running…' : 'Run'}
        </button>
      </div>
      <p className="hint">{split.description}</p>
      {run.progress && run.running && (
        <p className="run-note" data-testid="dataset-progress">
          {run.progress.phase}: {run.progress.done} / {run.progress.total}
        </p>
      )}
      {report && (
        <table className="dataset-results" data-testid="dataset-results">
          <thead>
            <tr>
              <th />
              <th>base</th>
              <th>adapted</th>
              <th>change</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([label, base, adapted]) => (
              <tr key={label}>
                <th>{label}</th>
                <td>{percent(base)}</td>
                <td
                  data-testid={label === 'all questions' ? 'dataset-adapted-accuracy' : undefined}
                >
                  {percent(adapted)}
                </td>
                <td>
                  {base === undefined || adapted === undefined
                    ? '–'
                    : `${adapted >= base ? '+' : ''}${((adapted - base) * 100).toFixed(1)}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {report?.example && (
        <p className="dataset-example" data-testid="dataset-example">
          <img src={report.example.image} alt="" />
          <span>
            Example {report.example.number}, “{report.example.question}” (label{' '}
            <strong>{report.example.label}</strong>): base answer{' '}
            <strong>{report.example.base || '(none)'}</strong>, adapted{' '}
            <strong>{report.example.adapted || '(none)'}</strong>.
          </span>
        </p>
      )}
      {report && (
        <p className="hint">
          {report.example
            ? `Adapted on example ${report.example.number} alone`
            : `${report.itemsAdapted} items adapted on`}
          , {report.itemsEvaluated} evaluated. The adapter is now the session's: compare or export
          it above.
        </p>
      )}
    </section>
  );
}
