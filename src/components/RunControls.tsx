import type { RunState } from '../store';

type Props = {
  run: RunState;
  maxSteps: number;
  ready: boolean;
  onStart: () => void;
  onPause: () => void;
  onStep: () => void;
  onReset: () => void;
};

export function RunControls({ run, maxSteps, ready, onStart, onPause, onStep, onReset }: Props) {
  const running = run.status === 'running' || run.status === 'pausing';
  const latest = run.history.at(-1);
  return (
    <section className="panel run-controls">
      <div className="buttons">
        <button
          type="button"
          className="primary"
          data-testid="start-button"
          disabled={!ready || running}
          onClick={onStart}
        >
          {run.history.length > 0 ? 'Continue' : 'Start'}
        </button>
        <button type="button" data-testid="pause-button" disabled={!running} onClick={onPause}>
          {run.status === 'pausing' ? 'Pausing…' : 'Pause'}
        </button>
        <button
          type="button"
          data-testid="step-button"
          disabled={!ready || running}
          onClick={onStep}
        >
          Step
        </button>
        <button type="button" data-testid="reset-button" onClick={onReset}>
          Reset
        </button>
      </div>
      <dl className="run-numbers">
        <div>
          <dt>step</dt>
          <dd data-testid="step-count" data-value={run.history.length}>
            {run.history.length} / {maxSteps}
          </dd>
        </div>
        <div>
          <dt>agreement</dt>
          <dd data-testid="agreement-value" data-value={latest?.agreement ?? ''}>
            {latest ? `${(latest.agreement * 100).toFixed(0)} %` : '–'}
          </dd>
        </div>
        <div>
          <dt>answer entropy</dt>
          <dd data-testid="entropy-value" data-value={latest?.answer_entropy ?? ''}>
            {latest ? `${latest.answer_entropy.toFixed(3)} nats` : '–'}
          </dd>
        </div>
        {latest?.perception_gap != null && (
          <div title="mean token log-prob of the trained answers with the image minus with it masked: how much they lean on the image (reward perception)">
            <dt>perception gap</dt>
            <dd data-testid="perception-gap-value" data-value={latest.perception_gap}>
              {`${latest.perception_gap.toFixed(3)} nats`}
            </dd>
          </div>
        )}
        <div>
          <dt>status</dt>
          <dd data-testid="run-status" data-value={run.status}>
            {run.status}
          </dd>
        </div>
      </dl>
      {run.note && (
        <p className="run-note" data-testid="run-note">
          {run.note}
        </p>
      )}
      {run.guard && (
        <p className="run-guard" data-testid="guard-note">
          {run.guard}
        </p>
      )}
      {run.warning && (
        <p className="run-warning" role="alert" data-testid="collapse-warning">
          {run.warning}
        </p>
      )}
    </section>
  );
}
