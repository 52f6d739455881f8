// A SmolVLM-shaped checkpoint written by tools/real-size/build.py, checked through the app's own
// loaders against the PyTorch reference the build wrote (ttrv/reference.*):
//   engine       model.safetensors (BF16) through loadTextModel on Wasm, the reference image
//                features spliced at the 64 <image> positions, logits = PyTorch's;
//   processor    transformers.js' AutoProcessor on the folder: the chat template, and 64 <image>
//                tokens wrapped as the Hub's processor does for one 512-px tile (the app's
//                do_image_splitting: false), and what the Hub default (splitting) gives;
//   vision       the ONNX vision encoder (fp32 and fp16 files) as the app opens it, on the
//                reference pixels: [1, 64, hidden] features = PyTorch's;
//   generate     (optional) transformers.js' Idefics3ForConditionalGeneration on the same
//                checkpoint: greedy tokens = PyTorch's.
// `npm run check:real-size` (tools/bin/check-real-size.ts) runs them on a built shape;
// tests/tools/real-size-check.gpu.test.ts runs them on the tiny shape.
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AutoProcessor,
  env,
  Idefics3ForConditionalGeneration,
  PreTrainedModel,
  type Processor,
  RawImage,
  Tensor,
} from '@huggingface/transformers';
import { defaultDevice, init, numpy as np, tree } from '@jax-js/jax';
import {
  disposeModel,
  embedPrompt,
  exportLoraTensors,
  grpoGradients,
  grpoStep,
  headMatrix,
  importLoraTensors,
  initTrainState,
  loadTextModel,
  logits,
  prefill,
  prefixInputs,
  specOf,
  type WeightFormat,
  weightBytes,
} from '../../src/engine';
import type { RangeReader } from '../../src/formats/safetensors';
import { DEFAULT_LORA_SETTINGS } from '../../src/layout/loraSettings';
import { parseReference, type Reference } from './real-size-reference';
import { REPO_ROOT } from './repo-root';
import { referencePixels } from './scale/measure';
import { filesUnder, type RangeServer, serveBytes } from './serve-files';

export const defaultDir = (shape: string) => path.join(REPO_ROOT, '.cache/real-size', shape);

export function readReference(dir: string): Reference {
  return parseReference(
    readFileSync(path.join(dir, 'ttrv/reference.json'), 'utf8'),
    new Uint8Array(readFileSync(path.join(dir, 'ttrv/reference.safetensors'))),
  );
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/** A RangeReader over a local file (what an HTTP range reader gives the loader in the app). */
export function fileReader(file: string): RangeReader {
  const size = statSync(file).size;
  const read: RangeReader = async (start, end) => {
    const fd = openSync(file, 'r');
    try {
      const out = new Uint8Array(end - start);
      let done = 0;
      while (done < out.length) {
        const n = readSync(fd, out, done, out.length - done, start + done);
        if (n === 0) break;
        done += n;
      }
      return out;
    } finally {
      closeSync(fd);
    }
  };
  read.totalBytes = () => size;
  return read;
}

export type EngineResult = {
  device: string;
  weights: WeightFormat;
  text_bytes: number;
  load_ms: number;
  prefill_ms: number;
  prompt_tokens: number;
  positions: number[];
  logits_max_abs_error: number;
  logits_max_abs: number;
  argmax_equal: boolean;
};

/** The text model through the engine (loadTextModel on `device`), the reference prompt with the
 * reference image features spliced in; logits at the reference positions vs PyTorch's. */
export async function checkEngine(
  dir: string,
  device: 'wasm' | 'webgpu' = 'wasm',
  format: WeightFormat = 'f32',
): Promise<EngineResult> {
  const ref = readReference(dir);
  const hubConfig = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  await init(device);
  defaultDevice(device);
  const t0 = performance.now();
  const model = await loadTextModel(hubConfig, fileReader(path.join(dir, 'model.safetensors')), {
    format,
  });
  const loadMs = performance.now() - t0;
  const textBytes = weightBytes(model.weights);
  try {
    const feats = ref.tensors.get('image_features');
    if (!feats) throw new Error('reference has no image_features');
    const [k, width] = feats.shape as [number, number];
    const embeds = embedPrompt(
      model.weights.embed,
      ref.input_ids,
      model.config.imageTokenId,
      np.array(feats.data).reshape([k, width]),
    );
    const t1 = performance.now();
    const input = prefixInputs(embeds, ref.input_ids.length, model.config, {});
    const head = headMatrix(tree.ref({ embed: model.weights.embed, lmHead: model.weights.lmHead }));
    const { hidden, kv } = prefill(specOf(model, null), tree.ref(model.weights), null, input);
    tree.dispose(kv);
    const idx = np.array(ref.logit_positions, { dtype: np.int32 });
    const picked = np.take(hidden.reshape([ref.input_ids.length, -1]), idx, 0);
    const out = Float32Array.from(await logits(picked, head).data());
    const prefillMs = performance.now() - t1;
    const expected = ref.tensors.get('logits')?.data as Float32Array;
    const vocab = model.config.vocabSize;
    const argmaxEqual = ref.logit_positions.every((_, r) => {
      const row = (a: Float32Array) => a.subarray(r * vocab, (r + 1) * vocab);
      const arg = (a: Float32Array) =>
        a.reduce((best, v, i, all) => (v > (all[best] as number) ? i : best), 0);
      return arg(row(out)) === arg(row(expected));
    });
    return {
      device,
      weights: format,
      text_bytes: textBytes,
      load_ms: Math.round(loadMs),
      prefill_ms: Math.round(prefillMs),
      prompt_tokens: ref.input_ids.length,
      positions: ref.logit_positions,
      logits_max_abs_error: maxAbsDiff(out, expected),
      logits_max_abs: maxAbs(expected),
      argmax_equal: argmaxEqual,
    };
  } finally {
    disposeModel(model);
  }
}

export type GradientResult = {
  lora_tensors: number;
  round_trip_equal: boolean;
  loss: number;
  loss_expected: number;
  grad_keys: string[];
  grad_max_abs_error: number;
  grad_max_abs: number;
  step_changed_adapter: boolean;
  step_ms: number;
};

/** The reference's seeded LoRA (every projection, PEFT's keys) imported into the engine and
 * exported again; the GRPO loss and the gradients of a few LoRA tensors on the reference's two
 * completions vs PyTorch's; then one GRPO step (AdamW) at the checkpoint's full vocabulary. */
export async function checkGradients(dir: string): Promise<GradientResult> {
  const ref = readReference(dir);
  const grpo = ref.grpo;
  if (!grpo) throw new Error(`${dir}: the reference has no GRPO gradients (rebuild it)`);
  const hubConfig = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  await init('wasm');
  defaultDevice('wasm');
  const model = await loadTextModel(hubConfig, fileReader(path.join(dir, 'model.safetensors')));
  try {
    const lora = { ...DEFAULT_LORA_SETTINGS, r: grpo.lora.r, lora_alpha: grpo.lora.lora_alpha };
    const peft = new Map<string, Float32Array>();
    for (const [name, t] of ref.tensors)
      if (name.startsWith('lora.')) peft.set(name.slice(5), t.data);
    const adapter = { config: lora, params: importLoraTensors(model, lora, peft) };
    const exported = await exportLoraTensors(model, adapter.params);
    const roundTrip =
      exported.length === peft.size &&
      exported.every((t) => maxAbsDiff(t.data, peft.get(t.name) ?? new Float32Array()) === 0);
    const feats = ref.tensors.get('image_features');
    if (!feats) throw new Error('reference has no image_features');
    const promptEmbeds = embedPrompt(
      model.weights.embed,
      ref.input_ids,
      model.config.imageTokenId,
      np.array(feats.data).reshape(feats.shape as [number, number]),
    );
    const groups = [
      {
        promptEmbeds,
        completions: grpo.completions.map((tokens, j) => ({
          tokens,
          advantage: grpo.advantages[j] as number,
        })),
      },
    ];
    const opts = {
      epsilon: grpo.epsilon,
      beta: grpo.beta,
      entropyCoef: grpo.entropy_coef,
      lossType: 'token_mean' as const,
      microBatchSize: grpo.completions.length,
    };
    const { grads, sums } = await grpoGradients(model, adapter, groups, opts);
    if (!grads) throw new Error('no gradients');
    const ours = new Map(
      (await exportLoraTensors(model, grads)).map((t) => [t.name, t.data] as const),
    );
    tree.dispose(grads);
    let error = 0;
    let scale = 0;
    for (const key of grpo.grad_keys) {
      const expected = ref.tensors.get(`grad.${key}`)?.data;
      const got = ours.get(key);
      if (!expected || !got) throw new Error(`no gradient for ${key}`);
      error = Math.max(error, maxAbsDiff(got, expected));
      scale = Math.max(scale, maxAbs(expected));
    }
    const t0 = performance.now();
    const step = await grpoStep(model, initTrainState(adapter), groups, {
      ...opts,
      learningRate: 1e-3,
      maxGradNorm: 1,
    });
    const stepMs = performance.now() - t0;
    const after = await exportLoraTensors(model, step.state.adapter.params);
    const changed =
      step.skipped === null &&
      after.some((t) => maxAbsDiff(t.data, peft.get(t.name) ?? new Float32Array()) > 0);
    tree.dispose([promptEmbeds, step.state.adapter.params, step.state.moments]);
    return {
      lora_tensors: peft.size,
      round_trip_equal: roundTrip,
      loss: sums.loss,
      loss_expected: grpo.loss,
      grad_keys: grpo.grad_keys,
      grad_max_abs_error: error,
      grad_max_abs: scale,
      step_changed_adapter: changed,
      step_ms: Math.round(stepMs),
    };
  } finally {
    disposeModel(model);
  }
}

/** The folder served from 127.0.0.1 as the Hub (transformers.js in Node fetches models over HTTP
 * only), with its own file cache; `skip` leaves files out (the big graphs a check does not need). */
export async function serveModel(dir: string, skip: (file: string) => boolean = () => false) {
  const parent = path.dirname(dir);
  const name = path.basename(dir);
  const files = Object.fromEntries(
    Object.entries(filesUnder(parent, name)).filter(([p]) => !skip(p.slice(name.length + 2))),
  );
  const server: RangeServer = await serveBytes(files);
  env.allowLocalModels = false;
  env.allowRemoteModels = true;
  env.remoteHost = `${server.url}/`;
  env.remotePathTemplate = '{model}/';
  env.useFSCache = true;
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'ttrv-real-size-cache-'));
  env.cacheDir = cacheDir;
  env.useBrowserCache = false;
  return {
    name,
    async close() {
      await server.close();
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

const IMAGE = '<image>';

/** The prompt's structure: token strings, run-length encoded (e.g. "<image>x64"). */
function runs(tokens: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    let j = i;
    while (j < tokens.length && tokens[j] === tokens[i]) j++;
    out.push(j - i > 1 ? `${tokens[i]}x${j - i}` : (tokens[i] as string));
    i = j;
  }
  return out;
}

export type ProcessorResult = {
  prompt_text: string;
  prompt_tokens: number;
  image_tokens: number;
  image_block: string[];
  pixel_values: number[];
  hub_default_image_tokens: number;
  hub_default_pixel_values: number[];
  special_ids: Record<string, number>;
  vocab_size: number;
};

/** transformers.js' processor on the folder, for a 512x512 image and a question. */
export async function checkProcessor(processor: Processor): Promise<ProcessorResult> {
  const tok = processor.tokenizer;
  if (!tok) throw new Error('no tokenizer');
  const pixels = new Uint8ClampedArray(512 * 512 * 3).map((_, i) => (i * 37) % 251);
  const image = new RawImage(pixels, 512, 512, 3);
  const messages = [
    { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in the image?' }] },
  ];
  const text = processor.apply_chat_template(messages as never, {
    add_generation_prompt: true,
  }) as string;
  const inputs = await processor(text, [image], { do_image_splitting: false });
  const ids = Array.from(inputs.input_ids.data as BigInt64Array, Number);
  const vocab = tok.get_vocab();
  const tokenOf = new Map([...vocab].map(([t, id]) => [id, t]));
  const imageId = tok.convert_tokens_to_ids(IMAGE);
  const first = ids.indexOf(imageId);
  const last = ids.lastIndexOf(imageId);
  const block = ids.slice(first - 2, last + 2).map((id) => tokenOf.get(id) as string);
  const hubDefault = await processor(text, [image]);
  const hubIds = Array.from(hubDefault.input_ids.data as BigInt64Array, Number);
  const specials = [
    '<|im_start|>',
    '<|im_end|>',
    '<global-img>',
    '<fake_token_around_image>',
    IMAGE,
    '<end_of_utterance>',
  ];
  return {
    prompt_text: text,
    prompt_tokens: ids.length,
    image_tokens: ids.filter((id) => id === imageId).length,
    image_block: runs(block),
    pixel_values: inputs.pixel_values.dims as number[],
    hub_default_image_tokens: hubIds.filter((id) => id === imageId).length,
    hub_default_pixel_values: hubDefault.pixel_values.dims as number[],
    special_ids: Object.fromEntries(specials.map((t) => [t, tok.convert_tokens_to_ids(t)])),
    vocab_size: vocab.size,
  };
}

export type VisionResult = {
  dtype: string;
  load_ms: number;
  run_ms: number;
  features: number[];
  max_abs_error: number;
  max_abs: number;
};

/** The vision encoder as the app opens it (PreTrainedModel, model_file_name vision_encoder) on
 * the reference pixels; features vs PyTorch's. */
export async function checkVision(
  name: string,
  ref: Reference,
  dtype: 'fp32' | 'fp16',
): Promise<VisionResult> {
  const t0 = performance.now();
  const vision = await PreTrainedModel.from_pretrained(name, {
    model_file_name: 'vision_encoder',
    dtype,
    device: 'cpu',
  });
  const loadMs = performance.now() - t0;
  try {
    const inputs = referencePixels(ref);
    const t1 = performance.now();
    const { image_features } = (await vision(inputs)) as { image_features: Tensor };
    const runMs = performance.now() - t1;
    const expected = ref.tensors.get('image_features')?.data as Float32Array;
    return {
      dtype,
      load_ms: Math.round(loadMs),
      run_ms: Math.round(runMs),
      features: image_features.dims as number[],
      max_abs_error: maxAbsDiff(image_features.data as Float32Array, expected),
      max_abs: maxAbs(expected),
    };
  } finally {
    await vision.dispose();
  }
}

export type GenerateResult = {
  ms: number;
  generated: number[];
  expected: number[];
  equal: boolean;
  min_logit_margin: number | undefined;
};

/** transformers.js' own SmolVLM path (three ONNX sessions) on the reference prompt and pixels:
 * greedy tokens vs PyTorch's. */
export async function checkGenerate(name: string, ref: Reference): Promise<GenerateResult> {
  const model = await Idefics3ForConditionalGeneration.from_pretrained(name, {
    dtype: 'fp32',
    device: 'cpu',
  });
  try {
    const px = ref.tensors.get('pixel_values');
    if (!px || !ref.greedy_ids) throw new Error('reference has no pixels or greedy ids');
    const [, c, h, w] = px.shape as number[];
    const n = ref.input_ids.length;
    const t0 = performance.now();
    const out = (await model.generate({
      input_ids: new Tensor('int64', BigInt64Array.from(ref.input_ids, BigInt), [1, n]),
      attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
      pixel_values: new Tensor('float32', px.data, [1, 1, c as number, h as number, w as number]),
      pixel_attention_mask: new Tensor(
        'bool',
        new Uint8Array((h as number) * (w as number)).fill(1),
        [1, 1, h as number, w as number],
      ),
      max_new_tokens: ref.greedy_ids.length,
      min_new_tokens: ref.greedy_ids.length,
      do_sample: false,
    } as never)) as Tensor;
    const ms = performance.now() - t0;
    const generated = Array.from(out.data as BigInt64Array, Number).slice(n);
    return {
      ms: Math.round(ms),
      generated,
      expected: ref.greedy_ids,
      equal: JSON.stringify(generated) === JSON.stringify(ref.greedy_ids),
      min_logit_margin: ref.greedy_min_logit_margin,
    };
  } finally {
    await model.dispose();
  }
}

export type TransformersJsResult = {
  processor: ProcessorResult;
  vision: VisionResult[];
  generate: GenerateResult | null;
};

export async function checkTransformersJs(
  dir: string,
  opts: { generate?: boolean } = {},
): Promise<TransformersJsResult> {
  const ref = readReference(dir);
  const served = await serveModel(
    dir,
    (file) =>
      file === 'model.safetensors' ||
      file.startsWith('ttrv/') ||
      (!opts.generate && (file.includes('decoder_model') || file.includes('embed_tokens'))),
  );
  try {
    const processor = await AutoProcessor.from_pretrained(served.name);
    const result: TransformersJsResult = {
      processor: await checkProcessor(processor),
      vision: [],
      generate: null,
    };
    for (const dtype of ['fp32', 'fp16'] as const)
      result.vision.push(await checkVision(served.name, ref, dtype));
    if (opts.generate) result.generate = await checkGenerate(served.name, ref);
    return result;
  } finally {
    await served.close();
  }
}
