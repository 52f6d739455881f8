import type { DatasetReport } from '../store';

type Scores = NonNullable<DatasetReport['scores']>;
type Group = Omit<Scores, 'per_type'>;

function percent(x: number | null): string {
  return x === null ? '–' : `${(x * 100).toFixed(1)} %`;
}

function change(before: number, after: number): string {
  return `${after >= before ? '+' : ''}${((after - before) * 100).toFixed(1)}`;
}

/**
 * A labeled dataset run's scores, before and after, overall and per question type: greedy
 * accuracy (TTRV's number) with its change, avg@16, the base model's maj@32 beside them (what an
 * agreement reward can at most teach) and a vote over augmented views (a baseline that trains
 * nothing), format failures and flips (docs/ttrv.md §3, "What to report").
 */
export function DatasetResults({ scores }: { scores: Scores }) {
  const rows: [string, Group][] = [['all questions', scores], ...Object.entries(scores.per_type)];
  return (
    <table className="dataset-results" data-testid="dataset-results">
      <thead>
        <tr>
          <th />
          <th>base</th>
          <th>adapted</th>
          <th>change</th>
          <th title="mean accuracy of 16 samples at the run's temperature">avg@16</th>
          <th title="accuracy of the base model's majority of 32 samples: the sharpening ceiling">
            base maj@32
          </th>
          <th title="the most common greedy answer over the image and its augmented views (Zero-style): a baseline that trains nothing">
            base view vote
          </th>
          <th title="greedy replies that are no answer of their question type">format failures</th>
          <th title="items wrong → right / right → wrong">flips</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([label, group]) => (
          <tr key={label}>
            <th>
              {label} <span className="hint">({group.n_items})</span>
            </th>
            <td>{percent(group.base.accuracy)}</td>
            <td data-testid={label === 'all questions' ? 'dataset-adapted-accuracy' : undefined}>
              {percent(group.adapted.accuracy)}
            </td>
            <td>{change(group.base.accuracy, group.adapted.accuracy)}</td>
            <td>
              {percent(group.base.avg16)} → {percent(group.adapted.avg16)}
            </td>
            <td>{percent(group.base.maj32)}</td>
            <td>{percent(group.base.view_vote)}</td>
            <td>
              {percent(group.base.format_failures)} → {percent(group.adapted.format_failures)}
            </td>
            <td>
              +{group.flips.to_correct} / −{group.flips.to_wrong}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
