// The model as the playground uses it: transformers.js' processor (chat template, tokenizer,
// image preprocessing) and the frozen ONNX vision encoder, beside our trainable jax-js text model.
// The vision encoder's features are constants for the gradient: they are computed once per image.

import type { Processor } from '@huggingface/transformers';
import { AutoProcessor, PreTrainedModel, RawImage } from '@huggingface/transformers';
import type { Device } from '@jax-js/jax';
import { numpy as np } from '@jax-js/jax';
import type { TextModel, WeightFormat } from '../engine';
import { disposeModel, embedPrompt, loadTextModel, planTextModel, weightDevice } from '../engine';
import { messageOf, PlaygroundError } from '../errors';
import { applyView, describeView, type ViewPlan } from '../image/augment';
import type { ModelChoice, ModelEstimate, VisionDtype } from '../models';
import { httpRangeReader, httpRangeStream } from '../net/httpRangeReader';
import { countingReader, resumableReader } from '../net/resumableReader';
import type { LoadPhase, LoadProgress } from '../protocol';
import { type ResolvedModel, resolveModel } from './modelSource';

export type VisionLanguageModel = {
  id: string;
  label: string;
  processor: Processor;
  /** The vision encoder's session, created after the model is reported ready: the person picks
   * an image and types meanwhile, and the first prompt waits for it (decision 0051). It rejects
   * with a sentence that says to load the model again. */
  vision: Promise<PreTrainedModel>;
  /** The vision encoder's file it loads (a fallback when the one asked for is missing). */
  visionDtype: VisionDtype;
  text: TextModel;
  /** What the user should know about how it loaded (fallbacks). */
  notes: string[];
};

export type PreparedPrompt = {
  question: string;
  /** What was done to the image for this prompt (src/image/augment.ts): "original", or e.g.
   * "crop, flip" for an augmented view (view_consistency). */
  view: string;
  inputIds: number[];
  /** [1, T, D] prompt embeddings with the image features spliced in; owned by the prompt. */
  embeds: np.Array;
};

type LoadOptions = {
  origin: string;
  /** jax-js device for the text model. */
  device: Device;
  /** Execution provider for the vision encoder: onnxruntime-web's in a page; in Node (the
   * benchmarks) transformers.js runs onnxruntime-node, whose counterpart of Wasm is `cpu`. */
  visionDevice: 'webgpu' | 'wasm' | 'cpu';
  shaderF16: boolean;
  onProgress: (progress: LoadProgress) => void;
};

type TransformersProgress = { status: string; file?: string; loaded?: number; total?: number };

/** Runs `work` as load phase `phase`, reporting its start and its time. */
function phase<T>(
  onProgress: LoadOptions['onProgress'],
  name: LoadPhase,
  work: () => Promise<T>,
): Promise<T> {
  onProgress({ kind: 'phase', phase: name, ms: null });
  const started = performance.now();
  return work().then((out) => {
    onProgress({ kind: 'phase', phase: name, ms: performance.now() - started });
    return out;
  });
}

/**
 * The processor and the text weights, loaded side by side (while one waits for bytes, the other
 * converts: the worker has one thread), and which vision encoder file exists. The vision
 * encoder's session is created after them: on the CPU onnxruntime-web builds it on this same
 * thread for seconds, work the person need not wait for before picking an image. Each phase is
 * reported as it starts and ends, the vision encoder's after this returns.
 */
export async function loadVisionLanguageModel(
  choice: ModelChoice,
  opts: LoadOptions,
): Promise<VisionLanguageModel> {
  const { onProgress } = opts;
  const source = resolveModel(choice, opts.origin);
  source.pointTransformers();
  /** When the vision encoder's file started loading, and when its last byte had been read. */
  const visionFile: { started: number; read: number | null } = { started: 0, read: null };
  /** Bytes last reported per file: a report crosses to the page and redraws its progress list,
   * and a 372 MB file arrives in thousands of chunks, so a file reports every 1 % (or MiB). */
  const reported = new Map<string, number>();
  const progress_callback = (info: TransformersProgress) => {
    if (info.status === 'progress' && info.file) {
      const { file, loaded = 0, total = 0 } = info;
      const step = Math.max(total / 100, 2 ** 20);
      if (loaded === total || loaded - (reported.get(file) ?? -step) >= step) {
        reported.set(file, loaded);
        onProgress({ kind: 'bytes', file, loaded, total });
      }
    }
    if (info.status === 'done' && info.file?.startsWith('onnx/vision_encoder')) {
      visionFile.read = performance.now();
      onProgress({ kind: 'phase', phase: 'vision-file', ms: visionFile.read - visionFile.started });
      onProgress({ kind: 'phase', phase: 'vision-session', ms: null });
    }
  };
  const hubConfig = await readHubConfig(source);
  const processor = phase(onProgress, 'processor', () =>
    AutoProcessor.from_pretrained(source.id, { progress_callback }),
  );
  const notes: string[] = [];
  const visionDtype = chooseVisionDtype(
    source.id,
    visionDtypes(choice, opts.shaderF16, notes),
    async (file) => (await fileSize(`${source.baseUrl}/${file}`, source.fetchFn)) !== null,
    notes,
  );
  const text = loadText(source, hubConfig, choice.weights ?? 'f32', opts);
  const [p, d, t] = await Promise.allSettled([processor, visionDtype, text]);
  if (p.status !== 'fulfilled' || d.status !== 'fulfilled' || t.status !== 'fulfilled') {
    // One part failed: release what the others loaded, and say what failed.
    if (t.status === 'fulfilled') disposeModel(t.value);
    throw [p, d, t].find((r) => r.status === 'rejected')?.reason;
  }
  // Only the vision encoder: the language model runs in our engine, so the ONNX decoder and
  // embedding graphs are never downloaded. The demo model ships fp32 only.
  onProgress({ kind: 'phase', phase: 'vision-file', ms: null });
  visionFile.started = performance.now();
  const vision = PreTrainedModel.from_pretrained(source.id, {
    model_file_name: 'vision_encoder',
    dtype: d.value,
    device: opts.visionDevice,
    progress_callback,
  }).then(
    (encoder) => {
      const ms = performance.now() - (visionFile.read ?? visionFile.started);
      onProgress({ kind: 'phase', phase: 'vision-session', ms });
      return encoder;
    },
    (error: unknown) => {
      const message = `${source.label}'s vision encoder (${visionEncoderFile(d.value)}) did not load: ${messageOf(error)}. Load the model again`;
      onProgress({ kind: 'failed', message });
      throw new PlaygroundError('load-failed', `${message}.`);
    },
  );
  // Nothing awaits it until a prompt needs it; a failure before then is reported above, not left
  // as an unhandled rejection.
  vision.catch(() => {});
  const { id, label } = source;
  return { id, label, processor: p.value, vision, visionDtype: d.value, text: t.value, notes };
}

/** Releases the text model's weights and, once created, the vision encoder's session. */
export function disposeVisionLanguageModel(vlm: VisionLanguageModel): void {
  disposeModel(vlm.text);
  vlm.vision.then(
    (encoder) => encoder.dispose(),
    () => {},
  );
}

/** The text model from model.safetensors (cached as it downloads over the network, not from a folder), with the
 * time spent waiting for its bytes and converting them reported as two phases. */
async function loadText(
  source: ResolvedModel,
  hubConfig: Record<string, unknown>,
  format: WeightFormat,
  opts: LoadOptions,
): Promise<TextModel> {
  const { onProgress } = opts;
  const url = `${source.baseUrl}/model.safetensors`;
  const file = 'model.safetensors (text model)';
  const progress = (loaded: number) => onProgress({ kind: 'bytes', file, loaded, total: 0 });
  const read = source.cacheWeights
    ? await resumableReader(url, httpRangeStream(url, source.fetchFn), progress)
    : countingReader(httpRangeReader(url, source.fetchFn), progress);
  onProgress({ kind: 'phase', phase: 'text-file', ms: null });
  onProgress({ kind: 'phase', phase: 'text-convert', ms: null });
  const timings = { readWaitMs: 0, convertMs: 0 };
  const text = await loadTextModel(hubConfig, read, {
    device: opts.device,
    format,
    timings,
  }).finally(() => read.close?.());
  onProgress({ kind: 'phase', phase: 'text-file', ms: timings.readWaitMs });
  onProgress({ kind: 'phase', phase: 'text-convert', ms: timings.convertMs });
  return text;
}

/** The vision encoder's dtypes to try, in order: the one asked for (or the default), then the
 * safer ones. Without shader-f16 the f16 files cannot run on the GPU: said in `notes`. */
export function visionDtypes(
  choice: ModelChoice,
  shaderF16: boolean,
  notes: string[],
): VisionDtype[] {
  const wanted = choice.vision ?? (choice.kind !== 'demo' && shaderF16 ? 'fp16' : 'fp32');
  const order: VisionDtype[] = [wanted];
  if (wanted === 'q4f16') order.push('q4');
  if (wanted === 'fp16' || wanted === 'q4f16' || wanted === 'q4') order.push('fp32');
  return order.filter((dtype, i) => {
    const runnable = shaderF16 || !dtype.endsWith('16');
    if (!runnable && i === 0) {
      notes.push(`The vision encoder's ${dtype} needs WebGPU's shader-f16, which this GPU lacks.`);
    }
    return runnable;
  });
}

/** The vision encoder's file for a dtype, as the Hub repos name it. */
export function visionEncoderFile(dtype: VisionDtype): string {
  return `onnx/vision_encoder${dtype === 'fp32' ? '' : `_${dtype}`}.onnx`;
}

/** The first dtype whose file the repo has; a missing file is a note, not a failure. */
export async function chooseVisionDtype(
  label: string,
  dtypes: readonly VisionDtype[],
  exists: (file: string) => Promise<boolean>,
  notes: string[],
): Promise<VisionDtype> {
  for (const [i, dtype] of dtypes.entries()) {
    if (!(await exists(visionEncoderFile(dtype)))) {
      notes.push(`${label} has no ${dtype} vision encoder (${visionEncoderFile(dtype)}).`);
      continue;
    }
    if (i > 0) notes.push(`The vision encoder runs in ${dtype}.`);
    return dtype;
  }
  throw new Error(
    `${label} has none of the vision encoder files ${dtypes.map(visionEncoderFile).join(', ')}.`,
  );
}

/** The model's config.json, or an error that says what is wrong: no network, an HTTP error, or
 * a static server's fallback page (HTML) where the folder should be. */
async function readHubConfig(source: ResolvedModel): Promise<Record<string, unknown>> {
  const response = await source.fetchFn(`${source.baseUrl}/config.json`).catch((error) => {
    throw new Error(
      `Could not reach ${source.label} (${error instanceof Error ? error.message : error}): are you offline? The demo model needs no network.`,
    );
  });
  if (!response.ok) {
    throw new Error(`Could not read ${source.label}'s config.json (HTTP ${response.status}).`);
  }
  try {
    return (await response.json()) as Record<string, unknown>;
  } catch {
    throw new Error(`${source.label} has no readable config.json at ${source.baseUrl}/.`);
  }
}

/**
 * What loading `choice` would take, without loading it: its config, the header of its
 * model.safetensors and the size of the vision encoder file it would load (each a small request;
 * transformers.js is not touched). Unreachable files are notes, not errors.
 */
export async function estimateVisionLanguageModel(
  choice: ModelChoice,
  opts: Pick<LoadOptions, 'origin' | 'shaderF16'>,
): Promise<ModelEstimate> {
  const source = resolveModel(choice, opts.origin);
  const hubConfig = await readHubConfig(source);
  const text = await planTextModel(
    hubConfig,
    httpRangeReader(`${source.baseUrl}/model.safetensors`, source.fetchFn),
  );
  // The loader's own fallback rule, with the file's size standing in for loading it.
  const notes: string[] = [];
  const sizes = new Map<string, Promise<number | null>>();
  const size = (file: string) => {
    if (!sizes.has(file)) sizes.set(file, fileSize(`${source.baseUrl}/${file}`, source.fetchFn));
    return sizes.get(file) as Promise<number | null>;
  };
  const vision = await chooseVisionDtype(
    source.id,
    visionDtypes(choice, opts.shaderF16, notes),
    async (file) => (await size(file)) !== null,
    notes,
  ).then(
    async (dtype) => ({ dtype, fileBytes: (await size(visionEncoderFile(dtype))) as number }),
    (error: unknown) => {
      notes.push(error instanceof Error ? error.message : String(error));
      return null;
    },
  );
  return {
    label: source.label,
    kind: choice.kind,
    textFileBytes: text.fileBytes,
    textDeviceBytes: text.deviceBytes,
    largestTensorBytes: text.largestTensorBytes,
    vision,
    notes,
  };
}

/** A file's size from a one-byte Range request, or null where it is not there: a static host's
 * fallback page (HTML, whatever its status) where the file should be is not the file. */
async function fileSize(url: string, fetchFn: typeof fetch): Promise<number | null> {
  const response = await fetchFn(url, { headers: { Range: 'bytes=0-0' } }).catch(() => null);
  if (response?.status !== 206 || response.headers.get('content-type')?.startsWith('text/html')) {
    return null;
  }
  await response.arrayBuffer();
  const total = response.headers.get('Content-Range')?.match(/\/(\d+)$/)?.[1];
  return total ? Number(total) : null;
}

/** The chat prompt for one image and a question, as SmolVLM's chat template writes it. */
export function imageQuestionPrompt(processor: Processor, question: string): string {
  const messages = [
    { role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] },
  ];
  return processor.apply_chat_template(messages, { add_generation_prompt: true }) as string;
}

/** Token ids and embeddings of the chat prompt for one image and question. */
export async function preparePrompt(
  vlm: VisionLanguageModel,
  image: RawImage,
  question: string,
): Promise<PreparedPrompt> {
  const text = imageQuestionPrompt(vlm.processor, question);
  const inputs = await vlm.processor(text, [image], { do_image_splitting: false });
  const encoder = await vlm.vision;
  const { image_features } = await encoder({
    pixel_values: inputs.pixel_values,
    pixel_attention_mask: inputs.pixel_attention_mask,
  });
  const inputIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
  const [, count, width] = image_features.dims as number[];
  const features = np
    .array(image_features.data as Float32Array, { device: weightDevice(vlm.text.weights.embed) })
    .reshape([count as number, width as number]);
  const embeds = embedPrompt(
    vlm.text.weights.embed,
    inputIds,
    vlm.text.config.imageTokenId,
    features,
  );
  return { question, view: 'original', inputIds, embeds };
}

/**
 * The prompts of augmented views of the image, one per plan: each view is a new image, so the
 * vision encoder runs once per view. On a failure the views already prepared are disposed.
 */
export async function prepareViewPrompts(
  vlm: VisionLanguageModel,
  image: RawImage,
  question: string,
  plans: readonly ViewPlan[],
): Promise<PreparedPrompt[]> {
  const prompts: PreparedPrompt[] = [];
  try {
    for (const plan of plans) {
      const view = applyView(image, plan);
      const augmented = new RawImage(view.data, view.width, view.height, view.channels);
      const prompt = await preparePrompt(vlm, augmented, question);
      prompts.push({ ...prompt, view: describeView(plan) });
    }
  } catch (error) {
    for (const prompt of prompts) prompt.embeds.dispose();
    throw error;
  }
  return prompts;
}

export function decodeCompletion(vlm: VisionLanguageModel, tokens: number[]): string {
  return vlm.processor.tokenizer?.decode(tokens, { skip_special_tokens: true }) ?? '';
}
