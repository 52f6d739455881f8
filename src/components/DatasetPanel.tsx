import { useState } from 'react';
import {
  type DatasetSchedule,
  PAPER_DATASET_SCHEDULE,
  SINGLE_EXAMPLE_SCHEDULE,
  type SingleExampleSchedule,
} from '../dataset/schedule';
import type { DatasetSplit } from '../dataset/splits';
import type { DatasetRun } from '../store';

type Props = {
  splits: DatasetSplit[];
  run: DatasetRun;
  ready: boolean;
  onRun: (split: DatasetSplit, schedule: DatasetSchedule | SingleExampleSchedule) => void;
  onCancel: () => void;
  /** Checks a picked folder and adds it as a split; resolves to its name, or null if refused. */
  onOpenFolder: (files: File[]) => Promise<string | null>;
};

type Mode = 'subset' | 'single example';

type Row = [label: string, base: number | undefined, adapted: number | undefined];

function percent(x: number | undefined): string {
  return x === undefined ? '–' : `${(x * 100).toFixed(1)} %`;
}

/**
 * Dataset mode: adapt on an unlabeled subset of a split (or on one of its items repeated as the
 * batch), then greedy accuracy on all of it when it has labels. A split is a shipped demo split
 * or a picked folder in the same layout.
 */
export function DatasetPanel({ splits, run, ready, onRun, onCancel, onOpenFolder }: Props) {
  const [name, setName] = useState('');
  const [mode, setMode] = useState<Mode>('subset');
  const [schedule, setSchedule] = useState<DatasetSchedule>({ ...PAPER_DATASET_SCHEDULE });
  const [single, setSingle] = useState<SingleExampleSchedule>({ ...SINGLE_EXAMPLE_SCHEDULE });
  const split = splits.find((s) => s.name === name) ?? splits.find((s) => s.shifted) ?? splits[0];
  const report = run.report;
  const base = report?.base;
  const adapted = report?.adapted;
  const rows: Row[] =
    base && adapted
      ? [
          ['all questions', base.accuracy, adapted.accuracy],
          ...Object.keys(base.per_type).map((t): Row => [t, base.per_type[t], adapted.per_type[t]]),
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
        accuracy on the whole split. Labels are used only to score. Your own folder works too: an{' '}
        <code>items.jsonl</code> (one JSON object a line: <code>image</code>, <code>question</code>,
        optionally <code>answer</code> and <code>type</code>) and its images.
      </p>
      <div className="dataset-form">
        {split && (
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
                  {s.shifted ? ', shifted' : ''}
                  {s.labeled ? '' : ', unlabeled'})
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="button-like">
          Local folder…
          <input
            type="file"
            data-testid="dataset-folder-input"
            disabled={run.running}
            // @ts-expect-error: webkitdirectory is not in React's input attributes
            webkitdirectory=""
            onChange={async (event) => {
              const input = event.currentTarget;
              const picked = Array.from(input.files ?? []);
              input.value = ''; // picking the same folder again (after fixing it) fires again
              const opened = picked.length > 0 ? await onOpenFolder(picked) : null;
              if (opened) setName(opened);
            }}
          />
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
              split?.itemCount,
            )}
            {singleField('steps', 'steps')}
            {singleField('promptsPerStep', 'copies per step')}
          </>
        )}
        <button
          type="button"
          data-testid="dataset-run"
          disabled={!ready || run.running || !split}
          onClick={() => split && onRun(split, mode === 'subset' ? schedule : single)}
        >
          {run.running ? 'Running…' : 'Run'}
        </button>
        {run.running && (
          <button
            type="button"
            data-testid="dataset-cancel"
            disabled={run.cancelling}
            onClick={onCancel}
          >
            {run.cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </div>
      {split && (
        <p className="hint" data-testid="dataset-description">
          {split.description}
        </p>
      )}
      {run.progress && run.running && (
        <p className="run-note" data-testid="dataset-progress">
          {run.progress.phase}: {run.progress.done} / {run.progress.total}
        </p>
      )}
      {report && rows.length === 0 && (
        <p className="run-note" data-testid="dataset-no-labels">
          No labels: accuracy is not scored.
        </p>
      )}
      {rows.length > 0 && (
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
            {rows.map(([label, before, after]) => (
              <tr key={label}>
                <th>{label}</th>
                <td>{percent(before)}</td>
                <td
                  data-testid={label === 'all questions' ? 'dataset-adapted-accuracy' : undefined}
                >
                  {percent(after)}
                </td>
                <td>
                  {before === undefined || after === undefined
                    ? '–'
                    : `${after >= before ? '+' : ''}${((after - before) * 100).toFixed(1)}`}
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
            Example {report.example.number}, “{report.example.question}”
            {report.example.label !== null && (
              <>
                {' '}
                (label <strong>{report.example.label}</strong>)
              </>
            )}
            : base answer <strong>{report.example.base || '(none)'}</strong>, adapted{' '}
            <strong>{report.example.adapted || '(none)'}</strong>.
          </span>
        </p>
      )}
      {report?.agreement && (
        <p className="hint" data-testid="dataset-agreement">
          Agreement of the sampled answers: {percent(report.agreement.first)} at the first
          adaptation step, {percent(report.agreement.last)} at the last.
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
