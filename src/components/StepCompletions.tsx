import { useState } from 'react';
import type { StepCompletion } from '../store';

type Props = {
  /** Each step's completions (null: a dataset step, not looked inside). */
  completions: (StepCompletion[] | null)[];
};

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const fixed = (value: number | null, digits = 3) => (value === null ? '–' : value.toFixed(digits));

/** A token's background: green where the step made it likelier, red where less likely. */
function tint(delta: number): string {
  const strength = Math.min(1, Math.abs(delta) / 0.5);
  const rgb = delta >= 0 ? '22, 163, 74' : '220, 38, 38';
  return `rgba(${rgb}, ${(0.1 + 0.6 * strength).toFixed(2)})`;
}

/** Inside a step: every sampled completion, its reward and advantage, and how the step moved it. */
export function StepCompletions({ completions }: Props) {
  const latest = completions.length - 1;
  const [picked, setPicked] = useState<number | null>(null);
  const [row, setRow] = useState<number | null>(null);
  const stepIndex = picked !== null && picked <= latest ? picked : latest;
  const rows = completions[stepIndex] ?? null;
  if (latest < 0) return null;
  const chosen = row !== null ? rows?.[row] : undefined;
  return (
    <section className="panel step-completions" data-testid="step-completions">
      <h2>
        Inside step{' '}
        <select
          aria-label="step"
          data-testid="step-completions-step"
          value={stepIndex}
          onChange={(event) => {
            setPicked(Number(event.currentTarget.value));
            setRow(null);
          }}
        >
          {completions.map((_, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: steps are only ever appended
            <option key={i} value={i}>
              {i + 1}
            </option>
          ))}
        </select>
      </h2>
      {rows === null ? (
        <p className="hint">This step was a dataset run's: its completions are not kept.</p>
      ) : (
        <>
          <table className="completions-table">
            <thead>
              <tr>
                <th>view</th>
                <th>completion</th>
                <th>answer</th>
                <th>reward</th>
                <th>advantage</th>
                <th>trained</th>
                <th title="sum of the token log-probs under the adapter before the step">
                  log p before
                </th>
                <th title="the same after the step">log p after</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c, i) => (
                <tr
                  // biome-ignore lint/suspicious/noArrayIndexKey: a step's completions never change
                  key={i}
                  data-testid="completion-row"
                  className={i === row ? 'picked' : undefined}
                  onClick={() => setRow(i)}
                >
                  <td>{c.view}</td>
                  <td className="completion-text">{c.text}</td>
                  <td>{c.answer || '(none)'}</td>
                  <td>{fixed(c.reward)}</td>
                  <td data-testid="completion-advantage">{fixed(c.advantage)}</td>
                  <td>{c.trained ? 'yes' : 'no'}</td>
                  <td>{fixed(sum(c.before))}</td>
                  <td>{fixed(sum(c.after))}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {chosen ? (
            <p className="completion-tokens" data-testid="completion-tokens">
              {chosen.tokens.map((token, t) => {
                const delta = (chosen.after[t] ?? 0) - (chosen.before[t] ?? 0);
                return (
                  <span
                    // biome-ignore lint/suspicious/noArrayIndexKey: tokens of one completion, fixed
                    key={t}
                    data-delta={delta}
                    title={`log p ${fixed(chosen.before[t] ?? null)} → ${fixed(chosen.after[t] ?? null)} (Δ ${delta.toFixed(3)})`}
                    style={{ background: tint(delta) }}
                  >
                    {token || '⏎'}
                  </span>
                );
              })}
            </p>
          ) : (
            <p className="hint">
              Click a completion to colour its tokens by how the step moved them.
            </p>
          )}
        </>
      )}
    </section>
  );
}
