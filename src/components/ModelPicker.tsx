import { useEffect, useState } from 'react';
import type {
  DeviceLimits,
  ModelChoice,
  ModelEstimate,
  VisionDtype,
  WeightFormat,
} from '../models';
import {
  HUB_MODELS,
  recommendedWeightFormat,
  VISION_DTYPES,
  WEIGHT_FORMAT_LABELS,
} from '../models';
import type { EstimateState, LoadPhase, ModelState } from '../store';

/** Where a model comes from, without its formats. */
type Source = { kind: 'demo' } | { kind: 'hub'; id: string } | { kind: 'folder'; files: File[] };

type Props = {
  model: ModelState;
  estimate: EstimateState | null;
  /** Where the model would run: the WebGPU device's limits, 'cpu' (Wasm), or null while the GPU
   * is still being checked (no recommendation yet). */
  device: DeviceLimits | 'cpu' | null;
  onLoad: (choice: ModelChoice) => void;
  onEstimate: (choice: ModelChoice) => void;
};

/** The load's phases as the progress list names them, in the order they start. */
const LOAD_PHASES: [LoadPhase, string][] = [
  ['processor', 'processor and tokenizer'],
  ['vision-file', 'vision encoder: reading the file'],
  ['vision-session', 'vision encoder: creating its session'],
  ['text-file', 'text weights: reading'],
  ['text-convert', 'text weights: converting'],
];

/** One load phase: waiting, running (no end known), or done with its time. */
function PhaseRow({ label, ms }: { label: string; ms: number | null | undefined }) {
  const state = ms === undefined ? 'waiting' : ms === null ? 'running' : 'done';
  return (
    <li data-testid="load-phase" data-state={state}>
      <span>{label}</span>
      {ms === null ? <progress /> : <progress max={1} value={ms === undefined ? 0 : 1} />}
      <span>{typeof ms === 'number' ? `${(ms / 1000).toFixed(1)} s` : state}</span>
    </li>
  );
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/** What loading the model would take, and the format recommended for this device. */
function EstimateLine({
  estimate,
  recommended,
  device,
}: {
  estimate: EstimateState;
  recommended: WeightFormat | null;
  device: Props['device'];
}) {
  if (estimate.state === 'loading') return <>Reading the model's sizes…</>;
  const e = estimate.estimate as ModelEstimate;
  if (estimate.state === 'failed') return <>Sizes unknown: {estimate.message}</>;
  const formats = (['f32', 'q8', 'q4'] as const).map((f) => `${f} ${mb(e.textDeviceBytes[f])}`);
  return (
    <>
      {e.label}: {e.kind === 'folder' ? 'reads' : 'downloads'} {mb(e.textFileBytes)} of text weights
      {e.vision && ` + ${mb(e.vision.fileBytes)} vision encoder (${e.vision.dtype})`}
      {e.kind === 'folder' && ' from the folder'}; text weights{' '}
      {device === 'cpu' ? 'in memory (CPU)' : 'on the GPU'}: {formats.join(' · ')}.
      {recommended && ` Recommended here: ${recommended}.`}
      {device && !recommended && ' Too large for this device in every format.'}
      {e.notes.length > 0 && ` ${e.notes.join(' ')}`}
    </>
  );
}

/** Built-in demo model (default, offline), SmolVLM from the Hub, or a local folder; the text
 * model's weights in full precision or quantised, the format recommended by the model's size and
 * this device's limits until the user picks one. */
export function ModelPicker({ model, estimate, device, onLoad, onEstimate }: Props) {
  const [hubId, setHubId] = useState<string>(HUB_MODELS[0]);
  const [picked, setPicked] = useState<WeightFormat | null>(null);
  const [vision, setVision] = useState<VisionDtype | 'default'>('default');
  /** Which source the estimate line is about: the one loaded last, or the Hub list once used. */
  const [target, setTarget] = useState<Source>({ kind: 'demo' });
  const visionChoice = vision === 'default' ? {} : { vision };
  useEffect(() => {
    const dtype = vision === 'default' ? {} : { vision };
    onEstimate({ ...target, ...dtype });
  }, [onEstimate, target, vision]);
  const recommended =
    estimate?.state === 'ready' && estimate.estimate && device
      ? recommendedWeightFormat(estimate.estimate, device === 'cpu' ? null : device)
      : null;
  const weights = picked ?? recommended ?? 'f32';
  const formats = { weights, ...visionChoice };
  /** Loads `source` and points the estimate line at it. */
  const load = (source: Source) => {
    setTarget(source);
    onLoad({ ...source, ...formats });
  };
  const busy = model.state === 'loading';
  /** Ready, with the vision encoder's session still being created (a step waits for it). */
  const visionPending =
    model.state === 'ready' && typeof model.phases['vision-session'] !== 'number';
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
          onChange={(event) => setPicked(event.currentTarget.value as WeightFormat)}
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
        <button type="button" disabled={busy} onClick={() => load({ kind: 'demo' })}>
          Demo model
        </button>
        <select
          aria-label="Hub model"
          value={hubId}
          disabled={busy}
          onFocus={() => setTarget({ kind: 'hub', id: hubId })}
          onChange={(event) => {
            setHubId(event.currentTarget.value);
            setTarget({ kind: 'hub', id: event.currentTarget.value });
          }}
        >
          {HUB_MODELS.map((id) => (
            <option key={id}>{id}</option>
          ))}
        </select>
        <button type="button" disabled={busy} onClick={() => load({ kind: 'hub', id: hubId })}>
          Load from Hub
        </button>
        <label className="button-like">
          Local folder…
          <input
            type="file"
            hidden
            disabled={busy}
            data-testid="model-folder-input"
            // @ts-expect-error: webkitdirectory is not in React's input attributes
            webkitdirectory=""
            onChange={(event) => {
              const picked = Array.from(event.currentTarget.files ?? []);
              if (picked.length > 0) load({ kind: 'folder', files: picked });
            }}
          />
        </label>
      </div>
      {estimate && (
        <p className="hint" data-testid="model-estimate" data-state={estimate.state}>
          <EstimateLine estimate={estimate} recommended={recommended} device={device} />
        </p>
      )}
      {model.state === 'ready' && model.info && model.info.notes.length > 0 && (
        <p className="hint" data-testid="model-notes">
          {model.info.notes.join(' ')}
        </p>
      )}
      {visionPending && (
        <p className="hint" data-testid="vision-pending">
          Ready for an image and a question; the vision encoder is still loading, and the first step
          waits for it.
        </p>
      )}
      {(busy || visionPending) && (
        <ul className="download-progress" data-testid="download-progress">
          {LOAD_PHASES.map(([phase, label]) => (
            <PhaseRow key={phase} label={label} ms={model.phases[phase]} />
          ))}
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
