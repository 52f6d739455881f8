// The one worker that owns the GPU: all heavy work runs here, behind a typed comlink API.
// It holds the model, the image, the prepared prompt and the adapter; the page holds only what it
// shows. After every good step the adapter is copied to CPU memory, so a lost GPU never loses it.

import { env, RawImage } from '@huggingface/transformers';
import { type Device, defaultDevice, getWebGPUDevice, init, tree } from '@jax-js/jax';
import * as Comlink from 'comlink';
import ortFactoryUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { DatasetSource, FolderSummary } from '../src/datasets';
import type { LoraConfig } from '../src/engine/lora';
import { exportLoraTensors, importLoraTensors, initLora } from '../src/engine/lora';
import { disposeModel } from '../src/engine/model';
import { seededRandom } from '../src/engine/sampling';
import type { TrainState } from '../src/engine/train';
import { initTrainState } from '../src/engine/train';
import { AdapterError } from '../src/formats/peftAdapter';
import type { Float32Tensor } from '../src/formats/safetensors';
import { type AdapterFacts, describeAdapter } from '../src/gpu/adapterInfo';
import { type GradientCheckResult, runGradientCheck } from '../src/gpu/gradientCheck';
import { ImageInputError, prepareImage } from '../src/image/prepareImage';
import { MAX_QUESTION_LENGTH } from '../src/limits';
import type { TtrvConfig } from '../src/rl/config';
import { validateTtrvConfig } from '../src/rl/config';
import {
  type Accuracy,
  type DatasetItem,
  labeledItems,
  parseItems,
  scoreAnswers,
} from '../src/rl/datasetItems';
import {
  adaptationBatches,
  type DatasetSchedule,
  type SingleExampleSchedule,
  singleExampleBatches,
} from '../src/rl/datasetSchedule';
import type { StepMetrics } from '../src/rl/metrics';
import { exportAdapterZip, readAdapterZip } from '../src/session/adapterFiles';
import { type DatasetFolder, readDatasetFolder } from '../src/session/datasetFolder';
import { adaptOnDataset, greedyAnswers } from '../src/session/datasetMode';
import type { ModelChoice } from '../src/session/modelSource';
import type { AnswerShare, AnswerSummary } from '../src/session/ttrvStep';
import { answerDistribution, summarizeAnswers, ttrvStep } from '../src/session/ttrvStep';
import type {
  LoadProgress,
  PreparedPrompt,
  VisionLanguageModel,
} from '../src/session/visionLanguageModel';
import { loadVisionLanguageModel, preparePrompt } from '../src/session/visionLanguageModel';

// onnxruntime-web would fetch its .wasm from a CDN: serve our own copy (works offline).
if (env.backends.onnx.wasm) {
  env.backends.onnx.wasm.wasmPaths = { wasm: ortWasmUrl, mjs: ortFactoryUrl };
}

export type GpuReport =
  | { ok: true; adapter: AdapterFacts; devices: Device[]; gradientCheck: GradientCheckResult }
  | { ok: false; reason: string };

export type ModelInfo = {
  id: string;
  label: string;
  layers: number;
  hiddenSize: number;
  vocabSize: number;
  device: Device;
};

export type ImageInfo = {
  preview: Blob;
  width: number;
  height: number;
  originalWidth: number;
  originalHeight: number;
};

export type StepReport = {
  metrics: StepMetrics;
  distribution: AnswerShare[];
  skipped: string | null;
};

export type LoraSettings = Pick<TtrvConfig, 'r' | 'lora_alpha' | 'target_modules'>;

export type DatasetProgress = {
  phase: 'preparing' | 'evaluating base' | 'adapting' | 'evaluating adapted';
  done: number;
  total: number;
  metrics?: StepMetrics;
  /** Why this adaptation step's update was skipped (non-finite loss or gradient), or null. */
  skipped?: string | null;
};

/** Single-example mode: the one item adapted on, and its greedy answers before and after. */
export type ExampleReport = {
  number: number;
  image: string;
  question: string;
  /** null: the dataset has no labels. */
  label: string | null;
  base: string;
  adapted: string;
};

export type DatasetReport = {
  split: string;
  itemsAdapted: number;
  itemsEvaluated: number;
  /** Greedy accuracy before and after; null when the dataset has no labels. */
  base: Accuracy | null;
  adapted: Accuracy | null;
  /** Mean agreement of the sampled answers at the first and the last adaptation step. */
  agreement: { first: number; last: number } | null;
  example: ExampleReport | null;
};

/** A dataset's items and a way to read each one's image. */
type OpenedDataset = {
  name: string;
  items: DatasetItem[];
  image: (index: number) => Promise<RawImage>;
  /** A URL the page can show item `index`'s image from. */
  imageUrl: (index: number) => string;
};

type Session = {
  vlm: VisionLanguageModel | null;
  image: RawImage | null;
  prompt: PreparedPrompt | null;
  train: TrainState | null;
  /** The last adapter that came out of a good step (or an import), on the CPU; null: untrained. */
  savedAdapter: { lora: LoraConfig; tensors: Float32Tensor[] } | null;
  steps: number;
  gpu: { facts: AdapterFacts; lost: string | null } | null;
};

const session: Session = {
  vlm: null,
  image: null,
  prompt: null,
  train: null,
  savedAdapter: null,
  steps: 0,
  gpu: null,
};

function loraConfigOf(config: LoraSettings): LoraConfig {
  return { r: config.r, loraAlpha: config.lora_alpha, targetModules: [...config.target_modules] };
}

function sameLora(a: LoraConfig, b: LoraConfig): boolean {
  return (
    a.r === b.r && a.loraAlpha === b.loraAlpha && a.targetModules.join() === b.targetModules.join()
  );
}

function loadedModel(): VisionLanguageModel {
  if (!session.vlm) throw new Error('No model is loaded yet: pick one and wait for it to load.');
  return session.vlm;
}

function gpuLostError(reason: string): Error {
  return new Error(
    `The GPU was lost (${reason}). Your adapter is safe: export it, then reload the page.`,
  );
}

/** The model, for work on the GPU. */
function requireModel(): VisionLanguageModel {
  if (session.gpu?.lost) throw gpuLostError(session.gpu.lost);
  return loadedModel();
}

function dropPrompt(): void {
  session.prompt?.embeds.dispose();
  session.prompt = null;
}

function disposeTrainState(state: TrainState): void {
  tree.dispose([state.adapter.params, state.moments]);
}

function dropAdapter(): void {
  if (session.train) disposeTrainState(session.train);
  session.train = null;
  session.savedAdapter = null;
  session.steps = 0;
}

function checkQuestion(question: string): string {
  const trimmed = question.trim();
  if (!trimmed) throw new Error('The question is empty: type a question about the image.');
  if (trimmed.length > MAX_QUESTION_LENGTH) {
    throw new Error(
      `The question is ${trimmed.length.toLocaleString()} characters long; keep it under ${MAX_QUESTION_LENGTH.toLocaleString()}.`,
    );
  }
  return trimmed;
}

async function promptFor(question: string): Promise<PreparedPrompt> {
  const vlm = requireModel();
  const text = checkQuestion(question);
  if (!session.image) throw new Error('No image yet: choose, drop or paste one first.');
  if (session.prompt?.question === text) return session.prompt;
  dropPrompt();
  session.prompt = await preparePrompt(vlm, session.image, text);
  return session.prompt;
}

/** The training state for these LoRA settings: kept while they match, else a fresh adapter. */
function trainStateFor(config: TtrvConfig): TrainState {
  const vlm = requireModel();
  const lora = loraConfigOf(config);
  if (session.train && sameLora(session.train.adapter.config, lora)) return session.train;
  if (session.savedAdapter) {
    throw new Error(
      'r, lora_alpha or target_modules changed after training started: press Reset to start a new adapter with them.',
    );
  }
  dropAdapter();
  session.train = initTrainState({
    config: lora,
    params: initLora(vlm.text.config, lora, config.seed),
  });
  return session.train;
}

/**
 * After a failed step the live adapter may be half-consumed: rebuild it from the CPU copy of the
 * last good step (the optimiser's moments restart), or start over if there is none.
 */
function restoreSavedAdapter(vlm: VisionLanguageModel): void {
  const saved = session.savedAdapter;
  session.train = null; // its arrays may already be released: never dispose them twice
  if (!saved) {
    session.steps = 0;
    return;
  }
  const tensors = new Map(saved.tensors.map((t) => [t.name, t.data]));
  session.train = initTrainState({
    config: saved.lora,
    params: importLoraTensors(vlm.text.config, saved.lora, tensors),
  });
}

/** A picked, dropped or pasted image as the processor's RawImage, bounded by prepareImage. */
async function rawImageOf(file: Blob) {
  const prepared = await prepareImage(file);
  const canvas = new OffscreenCanvas(prepared.width, prepared.height);
  canvas.getContext('2d')?.drawImage(prepared.bitmap, 0, 0);
  prepared.bitmap.close();
  return { image: RawImage.fromCanvas(canvas), prepared };
}

/** Item `index`'s image from a picked dataset folder; an unreadable one names its line. */
async function folderImage(folder: DatasetFolder, index: number): Promise<RawImage> {
  const item = folder.items[index] as DatasetItem;
  try {
    return (await rawImageOf(folder.images[index] as File)).image;
  } catch (error) {
    if (!(error instanceof ImageInputError)) throw error;
    throw new Error(
      `${folder.name}/items.jsonl, line ${item.line}: the image "${item.image}" cannot be used. ${error.message}`,
    );
  }
}

async function openDataset(source: DatasetSource): Promise<OpenedDataset> {
  if (source.kind === 'folder') {
    const folder = await readDatasetFolder(source.files);
    return {
      name: folder.name,
      items: folder.items,
      image: (i) => folderImage(folder, i),
      // Blob URLs are the origin's, so the page can show one made here.
      imageUrl: (i) => URL.createObjectURL(folder.images[i] as File),
    };
  }
  const response = await fetch(source.itemsUrl);
  if (!response.ok) {
    throw new Error(`Could not read ${source.itemsUrl} (HTTP ${response.status}).`);
  }
  const items = parseItems(await response.text(), response.url || source.itemsUrl);
  return {
    name: source.itemsUrl,
    items,
    image: (i) => RawImage.fromURL((items[i] as DatasetItem).image),
    imageUrl: (i) => (items[i] as DatasetItem).image,
  };
}

function allFinite(tensors: readonly Float32Tensor[]): boolean {
  return tensors.every((t) => t.data.every(Number.isFinite));
}

/** For an update whose loss and gradient were finite but whose new weights are not. */
function overflowError(config: TtrvConfig): Error {
  return new Error(
    `The update made the adapter's weights non-finite (is learning_rate ${config.learning_rate} too large?). It was undone; the adapter is the last good one.`,
  );
}

function checkConfig(config: TtrvConfig): void {
  const issues = validateTtrvConfig(config);
  if (issues.length > 0) throw new Error(`Settings: ${issues.map((i) => i.message).join('; ')}`);
}

/**
 * For the browser's devtools and the e2e tests only; the app itself never sets anything here.
 * `gpuDevice` is the engine's device (destroy it to see a device loss); `inNextGpuWork` runs once
 * inside the next guarded() call's out-of-memory scope (allocate too much there to see how an
 * out-of-memory error is handled).
 */
export type Diagnostics = { gpuDevice: GPUDevice; inNextGpuWork: (() => void) | null };
let diagnostics: Diagnostics | null = null;

/**
 * Runs GPU work and turns a lost device or an out-of-memory error into a clear message. Work that
 * ran under an out-of-memory error is garbage even when it finished: its value goes to `discard`
 * (release it, restore what it replaced) and never reaches the caller.
 */
async function guarded<T>(
  work: () => Promise<T>,
  discard: (garbage: T) => void = () => {},
): Promise<T> {
  const device = session.gpu ? getWebGPUDevice() : null;
  device?.pushErrorScope('out-of-memory');
  const injected = diagnostics?.inNextGpuWork;
  if (diagnostics) diagnostics.inNextGpuWork = null;
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
    // The cached prompt may have been built under the error too.
    dropPrompt();
    // Dawn's message goes on with a call trace: its first line says what failed.
    const what = oom.message.split('\n')[0]?.trim();
    throw new Error(
      `The GPU ran out of memory (${what}). Nothing computed then is shown. Try fewer num_votes, a shorter max_completion_length or a smaller model; your adapter from the last good step is kept.`,
    );
  }
  if (!outcome.ok) {
    // Work that was in flight when the device went away fails with WebGPU's own words (e.g. a
    // mapAsync error) a moment before device.lost settles: report the loss, not the symptom.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (session.gpu && !session.gpu.lost && /device (was |is )?lost/i.test(String(outcome.error))) {
      session.gpu.lost = 'the device was lost';
    }
    if (session.gpu?.lost) throw gpuLostError(session.gpu.lost);
    throw outcome.error;
  }
  if (session.gpu?.lost) throw gpuLostError(session.gpu.lost);
  return outcome.value;
}

const api = {
  async probeGpu(): Promise<GpuReport> {
    try {
      if (!('gpu' in navigator) || !navigator.gpu) {
        return { ok: false, reason: 'navigator.gpu is missing in the worker' };
      }
      const adapter = await navigator.gpu.requestAdapter();
      if (!adapter) return { ok: false, reason: 'the browser offered no WebGPU adapter' };
      const devices = await init('webgpu', 'wasm');
      if (!devices.includes('webgpu')) {
        return { ok: false, reason: 'jax-js could not start its WebGPU backend' };
      }
      defaultDevice('webgpu');
      const facts = describeAdapter(adapter);
      session.gpu = { facts, lost: null };
      const gpuDevice = getWebGPUDevice();
      gpuDevice.lost.then((info) => {
        if (session.gpu) session.gpu.lost = info.message || info.reason;
      });
      diagnostics = { gpuDevice, inNextGpuWork: null };
      Object.assign(self, { ttrvDiagnostics: diagnostics });
      const gradientCheck = await runGradientCheck('webgpu');
      return { ok: true, adapter: facts, devices, gradientCheck };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  },

  async loadModel(
    choice: ModelChoice,
    onProgress: (progress: LoadProgress) => void,
  ): Promise<ModelInfo> {
    if (!session.gpu) await init('wasm');
    const device: Device = session.gpu ? 'webgpu' : 'wasm';
    const vlm = await guarded(
      () =>
        loadVisionLanguageModel(choice, {
          origin: self.location.origin,
          device,
          visionDevice: session.gpu ? 'webgpu' : 'wasm',
          shaderF16: session.gpu?.facts.shaderF16 ?? false,
          onProgress,
        }),
      (garbage) => disposeModel(garbage.text),
    );
    dropPrompt();
    dropAdapter();
    if (session.vlm) disposeModel(session.vlm.text);
    session.vlm = vlm;
    const c = vlm.text.config;
    return {
      id: vlm.id,
      label: vlm.label,
      layers: c.numLayers,
      hiddenSize: c.hiddenSize,
      vocabSize: c.vocabSize,
      device,
    };
  },

  async setImage(file: Blob): Promise<ImageInfo> {
    const { image, prepared } = await rawImageOf(file);
    session.image = image;
    dropPrompt();
    const { preview, width, height, originalWidth, originalHeight } = prepared;
    return { preview, width, height, originalWidth, originalHeight };
  },

  /** Greedy answer and sampled distribution, with the adapter off and on. */
  async compare(
    question: string,
    config: TtrvConfig,
  ): Promise<{ base: AnswerSummary; adapted: AnswerSummary | null }> {
    checkConfig(config);
    return guarded(async () => {
      const vlm = requireModel();
      const prompt = await promptFor(question);
      const base = await summarizeAnswers(vlm, null, prompt, config);
      const adapted =
        session.train && session.savedAdapter
          ? await summarizeAnswers(vlm, session.train.adapter, prompt, config)
          : null;
      return { base, adapted };
    });
  },

  async step(question: string, config: TtrvConfig): Promise<StepReport> {
    checkConfig(config);
    const vlm = requireModel();
    const { outcome, tensors } = await guarded(
      async () => {
        const prompt = await promptFor(question);
        const state = trainStateFor(config);
        const stepped = async () => {
          const outcome = await ttrvStep(vlm, state, [prompt], config, session.steps);
          // The CPU copy of a good step's adapter: what export and a failed step fall back on.
          const tensors = outcome.skipped
            ? null
            : await exportLoraTensors(outcome.state.adapter.params);
          // A finite loss and gradient can still overflow the update itself (a huge
          // learning_rate): such an adapter would only ever answer garbage.
          if (tensors && !allFinite(tensors)) {
            disposeTrainState(outcome.state);
            throw overflowError(config);
          }
          return { outcome, tensors };
        };
        return stepped().catch((error: unknown) => {
          restoreSavedAdapter(vlm);
          throw error;
        });
      },
      ({ outcome }) => {
        disposeTrainState(outcome.state);
        restoreSavedAdapter(vlm);
      },
    );
    session.train = outcome.state;
    session.steps += 1;
    if (tensors) session.savedAdapter = { lora: outcome.state.adapter.config, tensors };
    return {
      metrics: outcome.metrics,
      distribution: answerDistribution(outcome.votes[0] ?? []),
      skipped: outcome.skipped,
    };
  },

  /**
   * Checks a picked dataset folder before any run: its items.jsonl, and that every image it names
   * is there and readable. Nothing of the session changes.
   */
  async openDatasetFolder(files: File[]): Promise<FolderSummary> {
    const folder = await readDatasetFolder(files);
    for (const i of folder.items.keys()) await folderImage(folder, i);
    return {
      name: folder.name,
      itemCount: folder.items.length,
      labeled: labeledItems(folder.items) !== null,
      types: [...new Set(folder.items.map((item) => item.type))].sort(),
    };
  },

  /**
   * Dataset mode (spec §3): adapt a fresh adapter on a random unlabeled subset of a split (or, in
   * single-example mode, on one item repeated as every step's batch), then greedy accuracy on the
   * whole split before and after. Labels only score; they never reward; without them accuracy is
   * not scored and the run reports agreement. The adapter it trains becomes the session's adapter
   * (export it like any other).
   */
  async runDataset(
    source: DatasetSource,
    config: TtrvConfig,
    schedule: DatasetSchedule | SingleExampleSchedule,
    onProgress: (progress: DatasetProgress) => void,
  ): Promise<DatasetReport> {
    checkConfig(config);
    const vlm = requireModel();
    const dataset = await openDataset(source);
    const { items } = dataset;
    const batches =
      'example' in schedule
        ? singleExampleBatches(items.length, schedule)
        : adaptationBatches(items.length, schedule, seededRandom(config.seed));
    const prompts: PreparedPrompt[] = [];
    try {
      const lora = loraConfigOf(config);
      const greedyLength = config.max_completion_length;
      // The session's adapter is replaced only once the run has finished cleanly: a failed run
      // leaves the user's adapter as it was.
      const { trained, tensors, baseAnswers, adaptedAnswers, agreement } = await guarded(
        async () => {
          for (const [i, item] of items.entries()) {
            prompts.push(await preparePrompt(vlm, await dataset.image(i), item.question));
            onProgress({ phase: 'preparing', done: i + 1, total: items.length });
          }
          const baseAnswers = await greedyAnswers(vlm, null, prompts, greedyLength);
          onProgress({ phase: 'evaluating base', done: items.length, total: items.length });
          const agreements: number[] = [];
          const trained = await adaptOnDataset(
            vlm,
            initTrainState({ config: lora, params: initLora(vlm.text.config, lora, config.seed) }),
            prompts,
            batches,
            config,
            (metrics, skipped) => {
              agreements.push(metrics.agreement);
              onProgress({
                phase: 'adapting',
                done: agreements.length,
                total: batches.length,
                metrics,
                skipped,
              });
            },
          );
          const tensors = await exportLoraTensors(trained.adapter.params);
          if (!allFinite(tensors)) {
            disposeTrainState(trained);
            throw overflowError(config);
          }
          const adaptedAnswers = await greedyAnswers(
            vlm,
            trained.adapter,
            prompts,
            greedyLength,
          ).catch((error: unknown) => {
            disposeTrainState(trained); // e.g. non-finite logits: this adapter is not kept
            throw error;
          });
          onProgress({ phase: 'evaluating adapted', done: items.length, total: items.length });
          const agreement =
            agreements.length > 0
              ? {
                  first: agreements[0] as number,
                  last: agreements[agreements.length - 1] as number,
                }
              : null;
          return { trained, tensors, baseAnswers, adaptedAnswers, agreement };
        },
        ({ trained }) => disposeTrainState(trained),
      );
      dropAdapter();
      session.train = trained;
      session.savedAdapter = { lora, tensors };
      const example = 'example' in schedule ? schedule.example : null;
      const exampleItem = example === null ? undefined : items[example];
      const labeled = labeledItems(items);
      return {
        split: dataset.name,
        itemsAdapted: new Set(batches.flat()).size,
        itemsEvaluated: items.length,
        base: labeled ? scoreAnswers(labeled, baseAnswers) : null,
        adapted: labeled ? scoreAnswers(labeled, adaptedAnswers) : null,
        agreement,
        example:
          example === null || !exampleItem
            ? null
            : {
                number: example + 1,
                image: dataset.imageUrl(example),
                question: exampleItem.question,
                label: exampleItem.answer,
                base: baseAnswers[example] ?? '',
                adapted: adaptedAnswers[example] ?? '',
              },
      };
    } finally {
      for (const prompt of prompts) prompt.embeds.dispose();
    }
  },

  async resetAdapter(): Promise<void> {
    dropAdapter();
  },

  async exportAdapter(): Promise<Uint8Array> {
    // From the CPU copy: works after the GPU is gone.
    const vlm = loadedModel();
    if (!session.savedAdapter) {
      throw new Error('There is no adapter to export yet: run at least one step first.');
    }
    const { lora, tensors } = session.savedAdapter;
    const zip = exportAdapterZip(vlm.id, lora, tensors);
    return Comlink.transfer(zip, [zip.buffer as ArrayBuffer]);
  },

  async importAdapter(bytes: Uint8Array): Promise<LoraSettings> {
    const vlm = requireModel();
    let read: ReturnType<typeof readAdapterZip>;
    try {
      read = readAdapterZip(bytes, vlm.text.config);
    } catch (error) {
      if (error instanceof AdapterError) {
        throw new Error(`This adapter does not fit ${vlm.label}: ${error.message}`);
      }
      throw error;
    }
    const { params, tensors } = await guarded(
      async () => {
        const params = importLoraTensors(vlm.text.config, read.lora, read.tensors);
        return { params, tensors: await exportLoraTensors(params) };
      },
      (garbage) => tree.dispose(garbage.params),
    );
    dropAdapter();
    session.train = initTrainState({ config: read.lora, params });
    session.savedAdapter = { lora: read.lora, tensors };
    return {
      r: read.lora.r,
      lora_alpha: read.lora.loraAlpha,
      target_modules: read.lora.targetModules as LoraSettings['target_modules'],
    };
  },
};

export type PlaygroundApi = typeof api;

/**
 * The page does not wait for one call before making the next (Step pressed while the compare
 * panel is still answering). Interleaved at their awaits, two calls would free arrays the other
 * is using (a step replaces the adapter a compare samples with, a new image frees the prompt a
 * step trains on) and share one stack of WebGPU error scopes. So every call that touches the
 * engine or the session's adapter, prompt or image runs after the one before it has finished.
 */
const ONE_AT_A_TIME = [
  'loadModel',
  'setImage',
  'compare',
  'step',
  'runDataset',
  'resetAdapter',
  'importAdapter',
] as const;
let engineQueue: Promise<unknown> = Promise.resolve();

function oneAtATime<Call extends (...args: never[]) => Promise<unknown>>(call: Call): Call {
  const queued = (...args: Parameters<Call>) => {
    const run = engineQueue.then(() => call(...args));
    engineQueue = run.catch(() => {});
    return run;
  };
  return queued as Call;
}

const exposed: PlaygroundApi = { ...api };
for (const name of ONE_AT_A_TIME) Object.assign(exposed, { [name]: oneAtATime(api[name]) });
Comlink.expose(exposed);
