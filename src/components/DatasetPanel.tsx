import { useState } from 'react';
import { SINGLE_EXAMPLE_SCHEDULE, TTRV_PROTOCOL } from '../dataset/schedule';
import type { DatasetSplit } from '../dataset/splits';
import type {
  DatasetProtocol,
  DatasetSchedule,
  Evaluation,
  SingleExampleSchedule,
} from '../protocol';
import type { DatasetRun } from '../store';
import { DatasetResults } from './DatasetResults';

type Props = {
  splits: DatasetSplit[];
  run: DatasetRun;
  ready: boolean;
  onRun: (split: DatasetSplit, protocol: DatasetProtocol) => void;
  onCancel: () => void;
  /** Checks a picked folder and adds it as a split; resolves to its name, or null if refused. */
  onOpenFolder: (files: File[]) => Promise<string | null>;
};

type Mode = 'subset' | 'single example';

function percent(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

/**
 * Dataset mode: adapt on an unlabeled subset of a split (or on one of its items repeated as the
 * batch), then greedy accuracy on all of it when it has labels. A split is a shipped demo split
 * or a picked folder in the same layout.
 */
export function DatasetPanel({ splits, run, ready, onRun, onCancel, onOpenFolder }: Props) {
  const [name, setName] = useState('');
  const [mode, setMode] = useState<Mode>('subset');
  const [schedule, setSchedule] = useState<DatasetSchedule>({
    ...(TTRV_PROTOCOL.schedule as DatasetSchedule),
  });
  const [single, setSingle] = useState<SingleExampleSchedule>({ ...SINGLE_EXAMPLE_SCHEDULE });
  const [votes, setVotes] = useState({
    num_votes: TTRV_PROTOCOL.num_votes,
    num_generations: TTRV_PROTOCOL.num_generations,
  });
  const [learningRate, setLearningRate] = useState(TTRV_PROTOCOL.learning_rate);
  const [evaluate, setEvaluate] = useState<Evaluation>(TTRV_PROTOCOL.evaluate);
  const [sampled, setSampled] = useState(TTRV_PROTOCOL.sampled);
  const split = splits.find((s) => s.name === name) ?? splits.find((s) => s.shifted) ?? splits[0];
  const report = run.report;
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
  const voteField = (key: keyof typeof votes, label: string) =>
    numberInput(label, votes[key], (value) => setVotes({ ...votes, [key]: value }));
  const protocol = (): DatasetProtocol => ({
    schedule: mode === 'subset' ? schedule : single,
    ...votes,
    learning_rate: learningRate,
    evaluate,
    sampled,
  });
  return (
    <section className="panel dataset-panel" data-testid="dataset-panel">
      <h2>Dataset mode</h2>
      <p className="hint">
        Adapt on a random unlabeled subset of a split (TTRV's protocol: 20 images of the split, 2
        epochs, 32 votes of which 16 are trained), or on a single example repeated as the whole
        batch of every step, then compare greedy accuracy on the whole split (TTRV) or on the items
        not adapted on. Labels are used only to score. Your own folder works too: an{' '}
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
        {voteField('num_votes', 'votes per prompt')}
        {voteField('num_generations', 'of them trained')}
        <label title="Dataset mode's own rate, chosen by measurement (bench:quality); single-image runs use the settings' learning_rate">
          learning rate
          <input
            type="number"
            min={0}
            step="any"
            value={learningRate}
            disabled={run.running}
            data-testid="dataset-learning-rate"
            onChange={(event) => setLearningRate(Number(event.currentTarget.value))}
          />
        </label>
        <label>
          score
          <select
            value={evaluate}
            disabled={run.running}
            data-testid="dataset-evaluate"
            onChange={(event) => setEvaluate(event.currentTarget.value as Evaluation)}
          >
            <option value="whole split">every item (TTRV)</option>
            <option value="held out">only items not adapted on</option>
          </select>
        </label>
        <label title="32 sampled answers an item with the base model, 16 with the adapter, and the base model's greedy answer to num_views views of each image: many times slower than greedy alone">
          <input
            type="checkbox"
            checked={sampled}
            disabled={run.running}
            data-testid="dataset-sampled"
            onChange={(event) => setSampled(event.currentTarget.checked)}
          />
          also avg@16, maj@32 and the view vote
        </label>
        <button
          type="button"
          data-testid="dataset-run"
          disabled={!ready || run.running || !split}
          onClick={() => split && onRun(split, protocol())}
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
      {report && !report.scores && (
        <p className="run-note" data-testid="dataset-no-labels">
          No labels: accuracy is not scored.
        </p>
      )}
      {report?.scores && <DatasetResults scores={report.scores} />}
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
            {report.example.base === null ? (
              ': not scored (held out runs score only the items not adapted on).'
            ) : (
              <>
                : base answer <strong>{report.example.base || '(none)'}</strong>, adapted{' '}
                <strong>{report.example.adapted || '(none)'}</strong>.
              </>
            )}
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
          , {report.itemsEvaluated} evaluated (
          {report.protocol.evaluate === 'whole split'
            ? "the whole split: TTRV's protocol"
            : 'held out: only the items not adapted on'}
          ; {report.protocol.num_votes} votes, {report.protocol.num_generations} trained, learning
          rate {report.protocol.learning_rate}). The adapter is now the session's: compare or export
          it above.
        </p>
      )}
    </section>
  );
}
