import { useState } from 'react';
import type { ModelChoice } from '../models';
import { HUB_MODELS } from '../models';
import type { ModelState } from '../store';

type Props = { model: ModelState; onLoad: (choice: ModelChoice) => void };

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/** Built-in demo model (default, offline), SmolVLM from the Hub, or a local folder. */
export function ModelPicker({ model, onLoad }: Props) {
  const [hubId, setHubId] = useState<string>(HUB_MODELS[0]);
  const busy = model.state === 'loading';
  const files = Object.entries(model.progress);
  return (
    <section className="model-picker">
      <div className="model-row">
        <span className="model-status" data-testid="model-status" data-state={model.state}>
          {model.state === 'ready' && `Model: ${model.label}`}
          {model.state === 'loading' && `Loading ${model.label}…`}
          {model.state === 'error' && `Model failed to load: ${model.message}`}
          {model.state === 'idle' && 'No model loaded'}
        </span>
        <button type="button" disabled={busy} onClick={() => onLoad({ kind: 'demo' })}>
          Demo model
        </button>
        <select
          aria-label="Hub model"
          value={hubId}
          disabled={busy}
          onChange={(event) => setHubId(event.currentTarget.value)}
        >
          {HUB_MODELS.map((id) => (
            <option key={id}>{id}</option>
          ))}
        </select>
        <button type="button" disabled={busy} onClick={() => onLoad({ kind: 'hub', id: hubId })}>
          Load from Hub
        </button>
        <label className="button-like">
          Local folder…
          <input
            type="file"
            hidden
            disabled={busy}
            // @ts-expect-error: webkitdirectory is not in React's input attributes
            webkitdirectory=""
            onChange={(event) => {
              const picked = Array.from(event.currentTarget.files ?? []);
              if (picked.length > 0) onLoad({ kind: 'folder', files: picked });
            }}
          />
        </label>
      </div>
      {busy && files.length > 0 && (
        <ul className="download-progress" data-testid="download-progress">
          {files.map(([file, p]) => (
            <li key={file}>
              <span>{file}</span>
              {p.total > 0 ? <progress max={p.total} value={p.loaded} /> : <progress />}
              <span>{p.total > 0 ? `${mb(p.loaded)} / ${mb(p.total)}` : mb(p.loaded)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
