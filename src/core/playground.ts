// The playground's core: one session's model, image, prepared prompt and adapter, and the rules
// that keep them consistent whatever the page asks and whatever fails.
// - Engine calls run one at a time, in the order they were made (EXEMPT_CALLS excepted): two
//   interleaved calls would free arrays the other uses and share one stack of GPU error scopes.
// - Work in flight can be stopped (stop()): sampling checks the signal between tokens.
// - GPU work runs in an out-of-memory error scope; what ran under an error is thrown away, never
//   shown or kept. A lost device refuses further GPU work with 'gpu-lost'.
// - After every good step the adapter is copied to the CPU: export works from that copy after the
//   GPU is gone, and a failed step falls back on it.
// Every error leaves as a PlaygroundError with a code. The worker is a thin comlink adapter over
// this; it runs in Node on Wasm too (tests/core/playground.gpu.test.ts).
import type { RawImage } from '@huggingface/transformers';
import { type Device, init, tree } from '@jax-js/jax';
import { labeledItems } from '../dataset/items';
import type { OpenedDataset } from '../dataset/run';
import { openDataset, runDataset } from '../dataset/run';
import type { TrainState } from '../engine';
import {
  exportLoraTensors,
  importLoraTensors,
  initTrainState,
  NonFiniteLogitsError,
  weightBytes,
} from '../engine';
import { errorCodeOf, PlaygroundError, stoppedError } from '../errors';
import { AdapterError } from '../formats/peftAdapter';
import type { Float32Tensor } from '../formats/safetensors';
import { ImageInputError } from '../image/prepareImage';
import { type LoraSettings, loraSettingsOf, sameLoraSettings } from '../layout/loraSettings';
import { MAX_QUESTION_LENGTH } from '../limits';
import type { ModelChoice, ModelEstimate } from '../models';
import { DownloadError } from '../net/resumableReader';
import type {
  Comparison,
  DatasetProgress,
  DatasetProtocol,
  DatasetReport,
  DatasetSource,
  ErrorCode,
  FolderSummary,
  ImageInfo,
  LoadProgress,
  ModelInfo,
  PlaygroundCalls,
  StepReport,
} from '../protocol';
import { type PlaygroundSettings, validateSettings } from '../settings';
import { summarizeAnswers } from '../ttrv/answers';
import type { PromptViews } from '../ttrv/step';
import {
  addedViews,
  checkedAdapterTensors,
  disposeTrainState,
  freshTrainState,
  stepReport,
  ttrvStep,
} from '../ttrv/step';
import type { PreparedPrompt, VisionLanguageModel } from '../vlm/visionLanguageModel';
import {
  disposeVisionLanguageModel,
  estimateVisionLanguageModel,
  loadVisionLanguageModel,
  preparePrompt,
  prepareViewPrompts,
} from '../vlm/visionLanguageModel';
import { exportAdapterZip, readAdapterZip } from './adapterFiles';

/** What the core needs of its surroundings: a page's worker, or Node in the tests. */
export type PlaygroundHost = {
  /** The origin the demo model is served from. */
  origin: string;
  /** The vision encoder's execution provider when there is no WebGPU ('cpu' in Node). */
  visionFallback: 'wasm' | 'cpu';
  /** A picked, dropped or pasted image, bounded, as the processor's image; bad files: bad-image. */
  readImage: (file: Blob) => Promise<{ image: RawImage; info: ImageInfo }>;
  /** A URL the page can show a picked file at. */
  fileUrl: (file: File) => string;
};

/** What the core uses of the WebGPU device jax-js computes on (a fake one in Node tests). */
export type GuardedDevice = Pick<GPUDevice, 'pushErrorScope' | 'popErrorScope' | 'lost'>;

/** How long an error waits for device.lost to settle before it is taken as the error itself. */
const LOSS_SETTLE_MS = 100;

/** Any error as a PlaygroundError: the named errors of the lower layers get their codes. */
function asPlaygroundError(error: unknown): PlaygroundError {
  if (error instanceof PlaygroundError) return error;
  const codes: [new (...args: never[]) => Error, ErrorCode][] = [
    [NonFiniteLogitsError, 'non-finite'],
    [AdapterError, 'bad-adapter'],
    [ImageInputError, 'bad-image'],
    [DownloadError, 'load-failed'],
  ];
  const code = codes.find(([kind]) => error instanceof kind)?.[1] ?? 'internal';
  return new PlaygroundError(code, error instanceof Error ? error.message : String(error));
}

function checkSettings(config: PlaygroundSettings): void {
  const issues = validateSettings(config);
  if (issues.length > 0) {
    throw new PlaygroundError(
      'bad-settings',
      `Settings: ${issues.map((i) => i.message).join('; ')}`,
    );
  }
}

function checkQuestion(question: string): string {
  const trimmed = question.trim();
  if (!trimmed) {
    throw new PlaygroundError(
      'bad-question',
      'The question is empty: type a question about the image.',
    );
  }
  if (trimmed.length > MAX_QUESTION_LENGTH) {
    throw new PlaygroundError(
      'bad-question',
      `The question is ${trimmed.length.toLocaleString()} characters long; keep it under ${MAX_QUESTION_LENGTH.toLocaleString()}.`,
    );
  }
  return trimmed;
}

/** The core as the worker holds it: the protocol's calls, and what only the worker may touch. */
export type Playground = PlaygroundCalls & {
  /** Computes on this WebGPU device from now on; its loss is watched. */
  attachGpu(device: GuardedDevice, shaderF16: boolean): void;
  /** For devtools and the e2e tests only: runs once inside the next GPU call's error scope. */
  diagnostics: { inNextGpuWork: (() => void) | null };
};

export function createPlayground(host: PlaygroundHost): Playground {
  let vlm: VisionLanguageModel | null = null;
  let image: RawImage | null = null;
  let prompt: PreparedPrompt | null = null;
  /** The prompts of the image's augmented views (view_consistency), beside `prompt` (view 0),
   * and the question and view plans they were made for. */
  let addedViewPrompts: { key: string; prompts: PreparedPrompt[] } | null = null;
  let train: TrainState | null = null;
  /** The last adapter that came out of a good step (or an import), on the CPU; null: untrained. */
  let savedAdapter: { lora: LoraSettings; tensors: Float32Tensor[] } | null = null;
  let steps = 0;
  let gpu: { device: GuardedDevice; shaderF16: boolean; lost: string | null } | null = null;
  /** Aborted by stop(); the next call gets a fresh one. */
  let controller = new AbortController();
  /** The signal of the call running now (calls run one at a time). */
  let inFlight = controller.signal;
  let queue: Promise<unknown> = Promise.resolve();
  /** For devtools and the e2e tests only: runs once inside the next GPU call's error scope. */
  const diagnostics: { inNextGpuWork: (() => void) | null } = { inNextGpuWork: null };

  const gpuLostError = (reason: string) =>
    new PlaygroundError(
      'gpu-lost',
      `The GPU was lost (${reason}). Your adapter is safe: export it, then reload the page.`,
    );

  const loadedModel = (): VisionLanguageModel => {
    if (!vlm) {
      throw new PlaygroundError(
        'no-model',
        'No model is loaded yet: pick one and wait for it to load.',
      );
    }
    return vlm;
  };

  /** The model, for work on the GPU. */
  const requireModel = (): VisionLanguageModel => {
    if (gpu?.lost) throw gpuLostError(gpu.lost);
    return loadedModel();
  };

  const dropViews = () => {
    for (const view of addedViewPrompts?.prompts ?? []) view.embeds.dispose();
    addedViewPrompts = null;
  };

  const dropPrompt = () => {
    prompt?.embeds.dispose();
    prompt = null;
    dropViews();
  };

  const dropAdapter = () => {
    if (train) disposeTrainState(train);
    train = null;
    savedAdapter = null;
    steps = 0;
  };

  const requireImage = (): RawImage => {
    if (!image)
      throw new PlaygroundError('no-image', 'No image yet: choose, drop or paste one first.');
    return image;
  };

  const promptFor = async (question: string): Promise<PreparedPrompt> => {
    const model = requireModel();
    const text = checkQuestion(question);
    const picked = requireImage();
    if (prompt?.question === text) return prompt;
    dropPrompt();
    prompt = await preparePrompt(model, picked, text);
    return prompt;
  };

  /**
   * The image's prompt and those of its augmented views under these settings (view_consistency;
   * none for the other rewards), kept while the question and the views' plans stay the same: the
   * vision encoder runs once per view, not once per step.
   */
  const viewsFor = async (question: string, config: PlaygroundSettings): Promise<PromptViews> => {
    const asked = await promptFor(question);
    const plans = addedViews(config);
    const key = JSON.stringify([asked.question, plans]);
    if (addedViewPrompts?.key !== key) {
      dropViews();
      const prompts = await prepareViewPrompts(
        requireModel(),
        requireImage(),
        asked.question,
        plans,
      );
      addedViewPrompts = { key, prompts };
    }
    return [asked, ...addedViewPrompts.prompts];
  };

  /** The training state for these LoRA settings: kept while they match, else a fresh adapter. */
  const trainStateFor = (config: PlaygroundSettings): TrainState => {
    const model = requireModel();
    const lora = loraSettingsOf(config);
    if (train && sameLoraSettings(train.adapter.config, lora)) return train;
    if (savedAdapter) {
      throw new PlaygroundError(
        'bad-settings',
        'r, lora_alpha or target_modules changed after training started: press Reset to start a new adapter with them.',
      );
    }
    dropAdapter();
    train = freshTrainState(model, lora, config.seed);
    return train;
  };

  /**
   * After a failed step the live adapter may be half-consumed: rebuild it from the CPU copy of the
   * last good step (the optimiser's moments restart), or start over if there is none.
   */
  const restoreSavedAdapter = (model: VisionLanguageModel) => {
    train = null; // its arrays may already be released: never dispose them twice
    if (!savedAdapter) {
      steps = 0;
      return;
    }
    const tensors = new Map(savedAdapter.tensors.map((t) => [t.name, t.data]));
    train = initTrainState({
      config: savedAdapter.lora,
      params: importLoraTensors(model.text, savedAdapter.lora, tensors),
    });
  };

  /** Whether the device reports its loss within LOSS_SETTLE_MS: failed work often comes first. */
  const settleLoss = async () => {
    if (!gpu || gpu.lost) return;
    await Promise.race([gpu.device.lost, new Promise((r) => setTimeout(r, LOSS_SETTLE_MS))]);
  };

  /**
   * Runs GPU work and turns a lost device or an out-of-memory error into a clear error. Work that
   * ran under an out-of-memory error is garbage even when it finished: its value goes to `discard`
   * (release it, restore what it replaced) and never reaches the caller.
   */
  const guarded = async <T>(work: () => Promise<T>, discard: (garbage: T) => void = () => {}) => {
    const device = gpu?.device ?? null;
    device?.pushErrorScope('out-of-memory');
    const injected = diagnostics.inNextGpuWork;
    diagnostics.inNextGpuWork = null;
    const outcome = await Promise.resolve()
      .then(() => {
        injected?.();
        return work();
      })
      .then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    const oom = await device?.popErrorScope();
    if (oom) {
      if (outcome.ok) discard(outcome.value);
      dropPrompt(); // the cached prompt may have been built under the error too
      // Dawn's message goes on with a call trace: its first line says what failed.
      const what = oom.message.split('\n')[0]?.trim();
      throw new PlaygroundError(
        'gpu-out-of-memory',
        `The GPU ran out of memory (${what}). Nothing computed then is shown. Try fewer num_votes, a shorter max_completion_length or a smaller model; your adapter from the last good step is kept.`,
      );
    }
    if (!outcome.ok) {
      await settleLoss();
      if (gpu?.lost) throw gpuLostError(gpu.lost);
      throw outcome.error;
    }
    if (gpu?.lost) throw gpuLostError(gpu.lost);
    return outcome.value;
  };

  const calls = {
    async loadModel(
      choice: ModelChoice,
      onProgress: (progress: LoadProgress) => void,
    ): Promise<ModelInfo> {
      if (!gpu) await init('wasm');
      const device: Device = gpu ? 'webgpu' : 'wasm';
      const loaded = await guarded(
        () =>
          loadVisionLanguageModel(choice, {
            origin: host.origin,
            device,
            visionDevice: gpu ? 'webgpu' : host.visionFallback,
            shaderF16: gpu?.shaderF16 ?? false,
            onProgress,
          }),
        disposeVisionLanguageModel,
      ).catch((error: unknown) => {
        const failed = asPlaygroundError(error);
        if (failed.code !== 'internal') throw failed;
        throw new PlaygroundError('load-failed', failed.message);
      });
      dropPrompt();
      dropAdapter();
      if (vlm) disposeVisionLanguageModel(vlm);
      vlm = loaded;
      const c = loaded.text.config;
      return {
        id: loaded.id,
        label: loaded.label,
        layers: c.numLayers,
        hiddenSize: c.hiddenSize,
        vocabSize: c.vocabSize,
        device,
        weights: loaded.text.format,
        textBytes: weightBytes(loaded.text.weights),
        visionDtype: loaded.visionDtype,
        notes: loaded.notes,
      };
    },

    async setImage(file: Blob): Promise<ImageInfo> {
      const read = await host.readImage(file);
      image = read.image;
      dropPrompt();
      return read.info;
    },

    /** Greedy answer and sampled distribution, with the adapter off and on. */
    async compare(question: string, config: PlaygroundSettings): Promise<Comparison> {
      checkSettings(config);
      const signal = inFlight;
      return guarded(async () => {
        const model = requireModel();
        const asked = await promptFor(question);
        const base = await summarizeAnswers(model, null, asked, config, signal);
        const adapted =
          train && savedAdapter
            ? await summarizeAnswers(model, train.adapter, asked, config, signal)
            : null;
        return { base, adapted };
      });
    },

    async step(question: string, config: PlaygroundSettings): Promise<StepReport> {
      checkSettings(config);
      const signal = inFlight;
      const model = requireModel();
      const { outcome, tensors, promptMs } = await guarded(
        async () => {
          const prepared = performance.now();
          const views = await viewsFor(question, config);
          const promptMs = performance.now() - prepared;
          const state = trainStateFor(config);
          try {
            const outcome = await ttrvStep(model, state, [views], config, steps, signal, true);
            const tensors = outcome.skipped
              ? null
              : await checkedAdapterTensors(model.text, outcome.state, config);
            return { outcome, tensors, promptMs };
          } catch (error) {
            // A stop lands only while voting, before the update: the live adapter is intact.
            if (errorCodeOf(error) !== 'stopped') restoreSavedAdapter(model);
            throw error;
          }
        },
        ({ outcome }) => {
          disposeTrainState(outcome.state);
          restoreSavedAdapter(model);
        },
      );
      train = outcome.state;
      steps += 1;
      if (tensors) savedAdapter = { lora: outcome.state.adapter.config, tensors };
      return stepReport(outcome, promptMs);
    },

    /**
     * Dataset mode (docs/ttrv.md §3, src/dataset/run.ts). The adapter it trains becomes the session's
     * adapter only once the run has finished cleanly: a failed or stopped run leaves the user's
     * adapter as it was.
     */
    async runDataset(
      source: DatasetSource,
      config: PlaygroundSettings,
      protocol: DatasetProtocol,
      onProgress: (progress: DatasetProgress) => void,
    ): Promise<DatasetReport> {
      checkSettings(config);
      const signal = inFlight;
      const model = requireModel();
      const dataset = await openFolder(source);
      const lora = loraSettingsOf(config);
      const { report, trained, tensors } = await guarded(
        () => runDataset(model, dataset, config, lora, protocol, onProgress, signal),
        ({ trained }) => disposeTrainState(trained),
      );
      dropAdapter();
      train = trained;
      savedAdapter = { lora, tensors };
      return report;
    },

    async resetAdapter(): Promise<void> {
      dropAdapter();
    },

    async importAdapter(bytes: Uint8Array, taken = 0): Promise<LoraSettings> {
      const model = requireModel();
      let read: ReturnType<typeof readAdapterZip>;
      try {
        read = readAdapterZip(bytes, model.text);
      } catch (error) {
        if (!(error instanceof AdapterError)) throw error;
        throw new PlaygroundError(
          'bad-adapter',
          `This adapter does not fit ${model.label}: ${error.message}`,
        );
      }
      const { params, tensors } = await guarded(
        async () => {
          const params = importLoraTensors(model.text, read.lora, read.tensors);
          return { params, tensors: await exportLoraTensors(model.text, params) };
        },
        (garbage) => tree.dispose(garbage.params),
      );
      dropAdapter();
      train = initTrainState({ config: read.lora, params });
      savedAdapter = { lora: read.lora, tensors };
      steps = taken;
      return read.lora;
    },
  };

  /** Calls that touch neither the engine nor the live session: they may run beside the others. */
  const exemptCalls = {
    /** The PEFT zip of the last good adapter, from its CPU copy: works after the GPU is gone. */
    async exportAdapter(): Promise<Uint8Array> {
      const model = loadedModel();
      if (!savedAdapter) {
        throw new PlaygroundError(
          'no-adapter',
          'There is no adapter to export yet: run at least one step first.',
        );
      }
      return exportAdapterZip(
        model.id,
        model.text,
        savedAdapter.lora,
        savedAdapter.tensors,
        model.text.format,
      );
    },

    /** What loading `choice` would download and hold on the device, read without loading it. */
    async estimateModel(choice: ModelChoice): Promise<ModelEstimate> {
      return estimateVisionLanguageModel(choice, {
        origin: host.origin,
        shaderF16: gpu?.shaderF16 ?? false,
      }).catch((error: unknown) => {
        throw new PlaygroundError('load-failed', asPlaygroundError(error).message);
      });
    },

    /**
     * Checks a picked dataset folder before any run: its items.jsonl, and that every image it
     * names is there and readable. Nothing of the session changes.
     */
    async openDatasetFolder(files: File[]): Promise<FolderSummary> {
      const folder = await openFolder({ kind: 'folder', files });
      for (const i of folder.items.keys()) await folder.image(i);
      return {
        name: folder.name,
        itemCount: folder.items.length,
        labeled: labeledItems(folder.items) !== null,
        types: [...new Set(folder.items.map((item) => item.type))].sort(),
      };
    },
  };

  function openFolder(source: DatasetSource): Promise<OpenedDataset> {
    return openDataset(source, {
      read: async (file) => (await host.readImage(file)).image,
      url: host.fileUrl,
    });
  }

  /** Each call runs after the one made before it has finished. */
  const exclusive =
    <Args extends unknown[], T>(call: (...args: Args) => Promise<T>) =>
    (...args: Args): Promise<T> => {
      // The signal of the moment the call is made: stop() stops it even if it is still queued.
      const signal = controller.signal;
      const run = queue.then(() => {
        inFlight = signal;
        return call(...args);
      });
      queue = run.catch(() => {});
      return run.catch((error: unknown) => {
        throw asPlaygroundError(error);
      });
    };
  const exempt =
    <Args extends unknown[], T>(call: (...args: Args) => Promise<T>) =>
    (...args: Args): Promise<T> =>
      call(...args).catch((error: unknown) => {
        throw asPlaygroundError(error);
      });

  return {
    ...wrapEach(calls, exclusive),
    ...wrapEach(exemptCalls, exempt),
    /**
     * Stops every call made before it: the one in flight between two decoded tokens, the queued
     * ones before they sample. Each fails with 'stopped' and leaves the session as it was.
     */
    async stop(): Promise<void> {
      controller.abort(stoppedError());
      controller = new AbortController();
    },
    /** Computes on this WebGPU device from now on; its loss is watched. */
    attachGpu(device: GuardedDevice, shaderF16: boolean): void {
      const attached = { device, shaderF16, lost: null as string | null };
      gpu = attached;
      device.lost.then((info) => {
        attached.lost = info.message || info.reason || 'the device was lost';
      });
    },
    diagnostics,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: any call signature, kept as it is by the wrapper
type AnyCall = (...args: any[]) => Promise<unknown>;

/** `wrap` applied to every call of `calls`, each keeping its own signature. */
function wrapEach<Calls extends Record<string, AnyCall>>(
  calls: Calls,
  wrap: (call: AnyCall) => AnyCall,
): Calls {
  return Object.fromEntries(
    Object.entries(calls).map(([name, call]) => [name, wrap(call)]),
  ) as Calls;
}
