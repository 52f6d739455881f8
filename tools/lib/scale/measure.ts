// bench:scale's measurement of one SmolVLM-shaped checkpoint, with no file system or process in
// it: tools/bin/bench-scale.ts runs it in Node (files from disk, transformers.js on onnxruntime-node)
// and tools/lib/scale/page.ts in a browser page (files over HTTP, transformers.js on onnxruntime-web),
// so both report the same numbers under the same definitions (tools/bin/bench-scale.ts lists them).
import {
  Idefics3ForConditionalGeneration,
  PreTrainedModel,
  Tensor,
} from '@huggingface/transformers';
import { numpy as np, tree } from '@jax-js/jax';
import type { TextModel, WeightFormat } from '../../../src/engine';
import {
  disposeModel,
  embedPrompt,
  headMatrix,
  initLora,
  initTrainState,
  layerGroups,
  loadTextModel,
  logits,
  prefixInputs,
  rmsNorm,
  runPrefill,
  sample,
  weightBytes,
} from '../../../src/engine';
import type { RangeReader } from '../../../src/formats/safetensors';
import { BENCH_LORA, BENCH_VOTE, runBenchStep, withAlternatingAdvantages } from '../bench-step';
import type { Reference } from '../real-size-reference';

/** What is measured: the same in Node and in the page. */
export type ScaleOptions = {
  weights: WeightFormat;
  rows: number;
  newTokens: number;
  trainRows: number;
  microBatchSize: number;
  /** Layers per compiled program (src/engine/programs.ts); absent = the engine's default. */
  layersPerProgram?: number;
  /** Run each phase once (its first, compiling run) and report no steady time: for backends too
   * slow for two passes, where the memory is the point (SwiftShader at real size). */
  once?: boolean;
};

/** A checkpoint written by tools/real-size/build.py, however its files are reached. */
export type Checkpoint = {
  hubConfig: Record<string, unknown>;
  weights: RangeReader;
  reference: Reference;
};

export type EngineTimes = {
  promptTokens: number;
  paramsText: number;
  loadMs: number;
  prefillFirstMs: number;
  /** The steady runs: null with `once`. */
  prefillMs: number | null;
  voteFirstMs: number;
  voteMs: number | null;
  stepFirstMs: number;
  stepMs: number | null;
  logitsError: number;
  layersPerProgram: number;
};

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const out = await run();
  return [out, performance.now() - start];
}

const msOrNull = (x: number | null) => (x === null ? null : Math.round(x));

export const ms = (x: number) => Math.round(x);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/**
 * Logits [positions × V] of the prompt's prefill (`promptEmbeds` [1, P, D], borrowed) as the app
 * runs it: the layers in compiled groups, then the head at `positions`.
 */
export async function prefillLogitsAt(
  model: TextModel,
  promptEmbeds: np.Array,
  positions: number[],
): Promise<Float32Array> {
  const n = promptEmbeds.shape[1] as number;
  const input = prefixInputs(promptEmbeds.ref, n, model.config, {});
  const { x, kv } = await runPrefill(model, null, input);
  tree.dispose(kv);
  const hidden = rmsNorm(x, model.weights.norm.ref, model.config.rmsNormEps);
  const head = headMatrix(tree.ref({ embed: model.weights.embed, lmHead: model.weights.lmHead }));
  const idx = np.array(positions, { dtype: np.int32 });
  const picked = np.take(hidden.reshape([n, -1]), idx, 0);
  return Float32Array.from(await logits(picked, head).data());
}

/** The engine on the current jax-js device: load, prefill, vote, GRPO step (each twice). */
export async function measureEngine(
  checkpoint: Checkpoint,
  opts: ScaleOptions,
  log: (s: string) => void,
): Promise<EngineTimes> {
  const ref = checkpoint.reference;
  const [model, loadMs] = await timed(() =>
    loadTextModel(checkpoint.hubConfig, checkpoint.weights, { format: opts.weights }),
  );
  model.layersPerProgram = opts.layersPerProgram;
  const layersPerProgram = (layerGroups(model)[0] as [number, number])[1];
  log(`  loaded in ${ms(loadMs)} ms (${weightBytes(model.weights)} bytes of text weights)`);
  const feats = ref.tensors.get('image_features');
  const expected = ref.tensors.get('logits')?.data;
  if (!feats || !expected) throw new Error('The reference has no image features or logits.');
  const promptEmbeds = embedPrompt(
    model.weights.embed,
    ref.input_ids,
    model.config.imageTokenId,
    np.array(feats.data).reshape(feats.shape as [number, number]),
  );
  const n = ref.input_ids.length;
  const prefillLogits = () => prefillLogitsAt(model, promptEmbeds, ref.logit_positions);
  /** The steady run after the first, unless `once`. */
  const again = async (run: () => Promise<unknown>) => (opts.once ? null : (await timed(run))[1]);
  const [out, prefillFirstMs] = await timed(prefillLogits);
  const prefillMs = await again(prefillLogits);
  log(`  prefill ${ms(prefillFirstMs)} ms first, ${msOrNull(prefillMs)} ms after`);

  let state = initTrainState({
    config: BENCH_LORA.settings,
    params: initLora(model.config, BENCH_LORA.settings, BENCH_LORA.seed),
  });
  const vote = () =>
    sample(model, state.adapter, promptEmbeds, {
      numRows: opts.rows,
      maxNewTokens: opts.newTokens,
      ...BENCH_VOTE,
    });
  const [votes, voteFirstMs] = await timed(vote);
  const voteMs = await again(vote);
  log(`  vote ${ms(voteFirstMs)} ms first, ${msOrNull(voteMs)} ms after`);
  const completions = withAlternatingAdvantages(votes.tokens.slice(0, opts.trainRows));
  const step = async () => {
    state = await runBenchStep(model, state, promptEmbeds, completions, opts.microBatchSize);
  };
  const [, stepFirstMs] = await timed(step);
  log(`  GRPO step ${ms(stepFirstMs)} ms first`);
  const stepMs = await again(step);
  log(`  GRPO step ${msOrNull(stepMs)} ms after`);
  tree.dispose([promptEmbeds, state.adapter.params, state.moments]);
  const paramsText = tree.leaves(model.weights).reduce((sum, a) => sum + (a as np.Array).size, 0);
  disposeModel(model);
  return {
    promptTokens: n,
    paramsText,
    loadMs,
    prefillFirstMs,
    prefillMs,
    voteFirstMs,
    voteMs,
    stepFirstMs,
    stepMs,
    logitsError: maxAbsDiff(out, expected),
    layersPerProgram,
  };
}

/** transformers.js' generate() sampling `rows` rows of `newTokens` from the reference prompt's
 * token ids, on a model transformers.js can already reach as `name` (the caller points its env at
 * the checkpoint). `device`: 'cpu' is onnxruntime-node; 'wasm' / 'webgpu' are onnxruntime-web's. */
export async function measureTransformersJs(
  name: string,
  ref: Reference,
  opts: Pick<ScaleOptions, 'rows' | 'newTokens'>,
  device: 'cpu' | 'wasm' | 'webgpu',
): Promise<number> {
  const model = await Idefics3ForConditionalGeneration.from_pretrained(name, {
    dtype: 'fp32',
    device,
  });
  try {
    // Token ids only: the engine's vote starts from image features already computed, so the
    // baseline gets the same prompt (its <image> positions embedded as tokens: the same
    // compute) without running its vision encoder once per row.
    const { rows } = opts;
    const n = ref.input_ids.length;
    const ids = new BigInt64Array(rows * n);
    for (let r = 0; r < rows; r++) ids.set(BigInt64Array.from(ref.input_ids, BigInt), r * n);
    const generate = () =>
      model.generate({
        input_ids: new Tensor('int64', ids, [rows, n]),
        attention_mask: new Tensor('int64', new BigInt64Array(rows * n).fill(1n), [rows, n]),
        max_new_tokens: opts.newTokens,
        min_new_tokens: opts.newTokens,
        do_sample: true,
        top_k: 0,
      } as never);
    await generate();
    const [, t] = await timed(generate);
    return t;
  } finally {
    await model.dispose();
  }
}

/** The reference's seeded 512-px pixels as the vision encoder's inputs (one tile, no padding). */
export function referencePixels(ref: Reference): Record<string, Tensor> {
  const px = ref.tensors.get('pixel_values');
  if (!px) throw new Error('The reference has no pixel_values.');
  const [, c, h, w] = px.shape as [number, number, number, number];
  return {
    pixel_values: new Tensor('float32', px.data, [1, 1, c, h, w]),
    pixel_attention_mask: new Tensor('bool', new Uint8Array(h * w).fill(1), [1, 1, h, w]),
  };
}

/** The fp32 vision encoder as the app opens it, on the reference pixels: the second run's time
 * (the first one's includes onnxruntime's warm-up). `device` as in measureTransformersJs. */
export async function measureVisionEncoder(
  name: string,
  ref: Reference,
  device: 'cpu' | 'wasm' | 'webgpu',
): Promise<number> {
  const vision = await PreTrainedModel.from_pretrained(name, {
    model_file_name: 'vision_encoder',
    dtype: 'fp32',
    device,
  });
  try {
    await vision(referencePixels(ref));
    const [, t] = await timed(() => vision(referencePixels(ref)));
    return t;
  } finally {
    await vision.dispose();
  }
}

/** One shape's entry of bench:scale's JSON (the contract of issue 15; names in bench-scale.ts). */
export function shapeEntry(
  shape: string,
  build: { repo: string; params_text: number },
  backend: string,
  opts: ScaleOptions,
  e: EngineTimes,
  memory: { peakBytes: number | null; peakGpuBytes: number | null },
  transformersJs: { device: string; voteMs: number | null },
  loadAverage: number[] | null,
) {
  const theirs = transformersJs.voteMs;
  return {
    name: `smolvlm-${shape}`,
    repo_shape: build.repo,
    backend,
    weights: opts.weights,
    params_text: build.params_text,
    prompt_tokens: e.promptTokens,
    load_ms: ms(e.loadMs),
    peak_bytes: memory.peakBytes,
    peak_gpu_bytes: memory.peakGpuBytes,
    prefill_first_ms: ms(e.prefillFirstMs),
    prefill_ms: msOrNull(e.prefillMs),
    vote_first_ms: ms(e.voteFirstMs),
    vote_ms: msOrNull(e.voteMs),
    grpo_step_first_ms: ms(e.stepFirstMs),
    grpo_step_ms: msOrNull(e.stepMs),
    step_over_vote:
      e.stepMs === null || e.voteMs === null ? null : Number((e.stepMs / e.voteMs).toFixed(2)),
    runs: opts.once ? 1 : 2,
    rows: opts.rows,
    new_tokens: opts.newTokens,
    train_rows: opts.trainRows,
    micro_batch_size: opts.microBatchSize,
    layers_per_program: e.layersPerProgram,
    transformersjs_device: theirs === null ? null : transformersJs.device,
    transformersjs_vote_ms: theirs === null ? null : ms(theirs),
    ratio: theirs === null || e.voteMs === null ? null : Number((theirs / e.voteMs).toFixed(3)),
    logits_max_abs_error: e.logitsError,
    load_average: loadAverage,
  };
}
