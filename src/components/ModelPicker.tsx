import { useState } from 'react';
import type { ModelChoice, VisionDtype, WeightFormat } from '../models';
import { HUB_MODELS, VISION_DTYPES, WEIGHT_FORMAT_LABELS } from '../models';
import type { ModelState } from '../store';

type Props = { model: ModelState; onLoad: (choice: ModelChoice) => void };

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/** Built-in demo model (default, offline), SmolVLM from the Hub, or a local folder; the text
 * model's weights in full precision or quantised. */
export function ModelPicker({ model, onLoad }: Props) {
  const [hubId, setHubId] = useState<string>(HUB_MODELS[0]);
  const [weights, setWeights] = useState<WeightFormat>('f32');
  const [vision, setVision] = useState<VisionDtype | 'default'>('default');
  const formats = { weights, ...(vision === 'default' ? {} : { vision }) };
  const busy = model.state === 'loading';
  const files = Object.entries(model.progress);
  return (
    <section className="model-picker">
      <div className="model-row">
        <span className="model-status" data-testid="model-status" data-state={model.state}>
          {model.state === 'ready' &&
            `Model: ${model.label}${model.info ? ` (text weights ${model.info.weights}, ${mb(model.info.textBytes)}; vision encoder ${model.info.visionDtype})` : ''}`}
          {model.state === 'loading' && `Loading ${model.label}…`}
          {model.state === 'error' && `Model failed to load: ${model.message}`}
          {model.state === 'idle' && 'No model loaded'}
        </span>
        <select
          aria-label="text weights"
          data-testid="weight-format"
          title="How the text model's frozen weights are stored on the GPU; the LoRA always trains in float32"
          value={weights}
          disabled={busy}
          onChange={(event) => setWeights(event.currentTarget.value as WeightFormat)}
        >
          {Object.entries(WEIGHT_FORMAT_LABELS).map(([format, label]) => (
            <option key={format} value={format}>
              {label}
            </option>
          ))}
        </select>
        <select
          aria-label="vision encoder"
          data-testid="vision-dtype"
          title="The vision encoder's ONNX file; a repo without it loads the next one (fp32 last), with a note"
          value={vision}
          disabled={busy}
          onChange={(event) => setVision(event.currentTarget.value as VisionDtype | 'default')}
        >
          <option value="default">vision: default</option>
          {VISION_DTYPES.map((dtype) => (
            <option key={dtype} value={dtype}>
              vision: {dtype}
            </option>
          ))}
        </select>
        <button type="button" disabled={busy} onClick={() => onLoad({ kind: 'demo', ...formats })}>
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
        <button
          type="button"
          disabled={busy}
          onClick={() => onLoad({ kind: 'hub', id: hubId, ...formats })}
        >
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
              if (picked.length > 0) onLoad({ kind: 'folder', files: picked, ...formats });
            }}
          />
        </label>
      </div>
      {model.state === 'ready' && model.info && model.info.notes.length > 0 && (
        <p className="hint" data-testid="model-notes">
          {model.info.notes.join(' ')}
        </p>
      )}
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
