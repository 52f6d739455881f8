import { useState } from 'react';
import { type PlaygroundSettings, REWARD_KINDS } from '../../settings';
import type { RunRecord, RunsState } from '../../store';
import { RunsOverlay } from '../charts/RunsOverlay';
import { RunEntry } from './RunEntry';

type Reward = PlaygroundSettings['reward'];

type Props = {
  runs: RunsState;
  /** The stored run on screen, or null. */
  shownId: string | null;
  /** The model the run on screen was made on, when it is not the loaded one. */
  otherModel: RunRecord['model'] | null;
  loadedModel: string;
  /** GPU work can start now (a model is ready, nothing runs). */
  ready: boolean;
  /** The reward the settings hold now: ticked first for a comparison. */
  reward: Reward;
  onReopen: (id: string) => void;
  onRename: (id: string, name: string) => void;
  onDelete: (id: string) => void;
  onExport: (id: string, what: 'json' | 'csv' | 'adapter') => void;
  onToggleOverlay: (id: string) => void;
  onLoadModel: () => void;
  onCompareRewards: (rewards: Reward[]) => void;
};

/** The stored runs: reopen, rename, delete, export, tick to overlay; and the reward comparison. */
export function RunsPanel(props: Props) {
  const { runs, otherModel } = props;
  // Ticked at first: the reward in use and `majority` (or `ttrv`). Not `frequency`: beside `ttrv` it
  // makes the same update under the group baseline (its entropy term cancels, docs/results.md), so
  // the two curves would be one.
  const [rewards, setRewards] = useState<Reward[]>(() => [
    props.reward,
    props.reward === 'majority' ? 'ttrv' : 'majority',
  ]);
  const ticked = new Set(runs.overlay.map((o) => o.id));
  const toggleReward = (reward: Reward) =>
    setRewards((now) =>
      now.includes(reward) ? now.filter((r) => r !== reward) : [...now, reward],
    );
  return (
    <section className="panel runs-panel">
      <h2>Runs</h2>
      {runs.storage && (
        <p className="run-warning" role="alert" data-testid="storage-note">
          {runs.storage}
        </p>
      )}
      {otherModel && (
        <p className="run-note" data-testid="run-other-model">
          This run was made on {otherModel.label} (text weights {otherModel.weights}); the loaded
          model is {props.loadedModel}.{' '}
          <button type="button" data-testid="load-run-model" onClick={props.onLoadModel}>
            Load {otherModel.label}
          </button>
        </p>
      )}
      {runs.list.length === 0 ? (
        <p className="hint">Runs are kept in this browser from their first step on.</p>
      ) : (
        <ul className="runs-list" data-testid="runs-list">
          {runs.list.map((record) => (
            <RunEntry
              key={record.id}
              record={record}
              shown={record.id === props.shownId}
              ticked={ticked.has(record.id)}
              canOpen={props.ready}
              onReopen={() => props.onReopen(record.id)}
              onRename={(name) => props.onRename(record.id, name)}
              onDelete={() => props.onDelete(record.id)}
              onExport={(what) => props.onExport(record.id, what)}
              onToggle={() => props.onToggleOverlay(record.id)}
            />
          ))}
        </ul>
      )}
      <fieldset className="compare-rewards" disabled={!props.ready || runs.comparing !== null}>
        <legend>Compare rewards on this image</legend>
        {REWARD_KINDS.map((reward) => (
          <label key={reward}>
            <input
              type="checkbox"
              data-testid={`compare-reward-${reward}`}
              checked={rewards.includes(reward)}
              onChange={() => toggleReward(reward)}
            />
            {reward}
          </label>
        ))}
        <button
          type="button"
          data-testid="compare-rewards"
          disabled={rewards.length < 2}
          title="Each reward from a fresh adapter, with these settings' seed and max_steps, one after another"
          onClick={() => props.onCompareRewards(rewards)}
        >
          {runs.comparing
            ? `Comparing… (${runs.comparing.length} to go)`
            : 'Compare rewards on this image'}
        </button>
      </fieldset>
      {runs.overlay.length > 0 && <RunsOverlay runs={runs.overlay} />}
    </section>
  );
}
