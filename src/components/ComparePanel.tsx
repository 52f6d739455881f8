import type { AnswerSummary, Comparison, ViewVotes } from '../store';

function Distribution({ summary }: { summary: AnswerSummary }) {
  return (
    <ul className="distribution">
      {summary.distribution.map(({ answer, count }) => (
        <li key={answer}>
          <span className="answer-label">{answer === '' ? '(no answer)' : answer}</span>
          <span className="bar" style={{ width: `${(100 * count) / summary.votes}%` }} />
          <span className="share">{((100 * count) / summary.votes).toFixed(0)} %</span>
        </li>
      ))}
    </ul>
  );
}

type SideProps = { title: string; summary: AnswerSummary | null; testId: string; empty: string };

function Side({ title, summary, testId, empty }: SideProps) {
  return (
    <div className="compare-side">
      <h3>{title}</h3>
      <p className="greedy">
        greedy:{' '}
        <strong data-testid={testId} title={summary?.greedyText}>
          {summary ? summary.greedy || '(no answer)' : ''}
        </strong>
        {!summary && <span className="hint">{empty}</span>}
      </p>
      {summary && (
        <>
          <p className="hint">{summary.votes} samples at the run's temperature</p>
          <Distribution summary={summary} />
        </>
      )}
    </div>
  );
}

/** The latest step's votes per view (view_consistency): what each view of the image answered. */
function ViewRows({ views }: { views: ViewVotes[] }) {
  return (
    <div className="view-votes" data-testid="view-votes">
      <h3>Latest step's votes per view (pooled for the reward)</h3>
      <ul>
        {views.map(({ view, distribution, votes }, k) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a view is its position: view 0 is the image
          <li key={k} data-testid={`view-votes-${k}`}>
            <span className="view-name">
              view {k} ({view}):
            </span>{' '}
            {distribution
              .map(
                ({ answer, count }) =>
                  `${answer === '' ? '(no answer)' : answer} ${count}/${votes}`,
              )
              .join(', ')}
          </li>
        ))}
      </ul>
    </div>
  );
}

type Props = {
  comparison: Comparison;
  /** The latest step's votes per view (view_consistency), or null. */
  views: ViewVotes[] | null;
  ready: boolean;
  onRefresh: () => void;
};

/**
 * Base (adapter off) and adapted answers side by side: greedy, and the sampled distribution; under
 * view_consistency, the latest step's votes per view below them.
 */
export function ComparePanel({ comparison, views, ready, onRefresh }: Props) {
  return (
    <section className="panel compare-panel">
      <h2>
        Base vs adapted
        <button
          type="button"
          className="small"
          disabled={!ready || comparison.busy}
          onClick={onRefresh}
        >
          {comparison.busy ? 'Answering…' : 'Ask again'}
        </button>
      </h2>
      <div className="compare-grid">
        <Side
          title="Base model"
          summary={comparison.base}
          testId="base-answer"
          empty="Press Start, Step or Ask again."
        />
        <Side
          title="Adapted (base + LoRA)"
          summary={comparison.adapted}
          testId="adapted-answer"
          empty="Shown after the first step."
        />
      </div>
      {views && <ViewRows views={views} />}
    </section>
  );
}
