// The engine at real model sizes: SmolVLM-256M / -500M-shaped checkpoints written by
// tools/real-size/build.py, through the app's own loader, prompt path, sampling and GRPO step,
// against transformers.js' generate() on the same checkpoint, prompt and rows.
// `npm run bench:scale -- --json [--shapes 256m,500m] [--rows 16] [--new-tokens 16]
//  [--train-rows 8] [--micro-batch N] [--weights f32|q8|q4] [--backend wasm|webgpu]
//  [--layers-per-program N] [--no-transformersjs]`;
// the last line printed is one JSON object (contract: issue 15, docs/engine.md).
//
// Definitions (one prompt: the checkpoint's 97-token reference prompt with its 64 image features):
//   load_ms              loadTextModel from model.safetensors (BF16 → the device format)
//   peak_bytes           Wasm: the largest size jax-js' linear memory reached (it never shrinks)
//                        over load + every call below; the shapes run in the order given
//                        (default: smallest first) in one process, so a later shape's value is
//                        the larger of its own peak and the earlier ones' (one shape per
//                        process gives its own). WebGPU: peak bytes of live GPU buffers (jax-js'
//                        pool included), per shape
//   peak_gpu_bytes       the WebGPU figure again (null on Wasm)
//   prefill_ms / _first  the prompt's prefill as the app runs it (layers in compiled groups) with
//                        logits at its reference positions; _first includes compilation
//   vote_ms / _first     `rows` samples of `new_tokens` at temperature 1 (no EOS stop)
//   grpo_step_ms / _first  one GRPO step (loss, gradients, AdamW) on the vote's first
//                        `train_rows` completions with advantages ±1, β = 0 (TTRV's protocol)
//   transformersjs_vote_ms  transformers.js generate() (onnxruntime-node) sampling `rows` rows of
//                        `new_tokens` from the same prompt's token ids, repeated `rows` times
//                        (no pixels: the engine's vote does not run the vision encoder either)
//   ratio                transformersjs_vote_ms / vote_ms (above 1: the engine is faster)
//   logits_max_abs_error prefill logits vs the PyTorch float32 reference the build wrote
// Rows, tokens and trained completions are the ones measured, printed in every shape's entry:
// nothing is extrapolated.
import 'core-js/actual/iterator/index.js';
// Before @jax-js/jax: it watches the Wasm memory jax-js creates when its module loads.
import './wasm-memory';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { Idefics3ForConditionalGeneration, Tensor } from '@huggingface/transformers';
import type { Device } from '@jax-js/jax';
import { defaultDevice, init, numpy as np, tree } from '@jax-js/jax';
import { headMatrix, logits, rmsNorm } from '../src/engine/decoder';
import { embedPrompt, prefixInputs } from '../src/engine/inputs';
import { initLora } from '../src/engine/lora';
import { DEFAULT_LORA_SETTINGS } from '../src/engine/loraSettings';
import type { GpuMemoryCounter } from '../src/engine/memory';
import { trackGpuMemory } from '../src/engine/memory';
import { disposeModel } from '../src/engine/model';
import { layerGroups, runPrefill } from '../src/engine/programs';
import type { WeightFormat } from '../src/engine/quant';
import { weightBytes } from '../src/engine/quant';
import { sample } from '../src/engine/sampling';
import { grpoStep, initTrainState } from '../src/engine/train';
import { loadTextModel } from '../src/engine/weights';
import { defaultDir, fileReader, readReference, serveModel } from '../tests/real-size/check';
import { benchStep, setupNode, withAlternatingAdvantages } from './bench-engine';
// Before @jax-js/jax: it watches the Wasm memory jax-js creates when its module loads.
import { wasmMemoryPeak } from './wasm-memory';

type Args = {
  json: boolean;
  shapes: string[];
  dirs: Record<string, string>;
  backend: Device;
  weights: WeightFormat;
  rows: number;
  newTokens: number;
  trainRows: number;
  microBatchSize: number;
  /** Layers per compiled program (src/engine/programs.ts); absent = the engine's default. */
  layersPerProgram?: number;
  transformersjs: boolean;
};

function parseArgs(argv: string[]): Args {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const shapes = (value('--shapes') ?? '256m,500m').split(',');
  const rows = Number(value('--rows') ?? 16);
  const trainRows = Number(value('--train-rows') ?? 8);
  return {
    json: argv.includes('--json'),
    shapes,
    dirs: Object.fromEntries(shapes.map((s) => [s, value(`--dir-${s}`) ?? defaultDir(s)])),
    backend: (value('--backend') ?? 'wasm') as Device,
    weights: (value('--weights') ?? 'f32') as WeightFormat,
    rows,
    newTokens: Number(value('--new-tokens') ?? 16),
    trainRows,
    microBatchSize: Number(value('--micro-batch') ?? trainRows),
    ...(value('--layers-per-program')
      ? { layersPerProgram: Number(value('--layers-per-program')) }
      : {}),
    transformersjs: !argv.includes('--no-transformersjs'),
  };
}

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const out = await run();
  return [out, performance.now() - start];
}

const ms = (x: number) => Math.round(x);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

async function measureEngine(dir: string, args: Args, log: (s: string) => void) {
  const ref = readReference(dir);
  const hubConfig = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const [model, loadMs] = await timed(() =>
    loadTextModel(hubConfig, fileReader(path.join(dir, 'model.safetensors')), {
      format: args.weights,
    }),
  );
  model.layersPerProgram = args.layersPerProgram;
  const layersPerProgram = (layerGroups(model)[0] as [number, number])[1];
  log(`  loaded in ${ms(loadMs)} ms (${weightBytes(model.weights)} bytes of text weights)`);
  const feats = ref.tensors.get('image_features');
  const expected = ref.tensors.get('logits')?.data;
  if (!feats || !expected) throw new Error(`${dir}: the reference has no image features or logits`);
  const promptEmbeds = embedPrompt(
    model.weights.embed,
    ref.input_ids,
    model.config.imageTokenId,
    np.array(feats.data).reshape(feats.shape as [number, number]),
  );
  const n = ref.input_ids.length;
  // The app's path: the layers in compiled groups, then the head at the reference positions.
  const prefillLogits = async () => {
    const input = prefixInputs(promptEmbeds.ref, n, model.config, {});
    const { x, kv } = await runPrefill(model, null, input);
    tree.dispose(kv);
    const hidden = rmsNorm(x, model.weights.norm.ref, model.config.rmsNormEps);
    const head = headMatrix(tree.ref({ embed: model.weights.embed, lmHead: model.weights.lmHead }));
    const idx = np.array(ref.logit_positions, { dtype: np.int32 });
    const picked = np.take(hidden.reshape([n, -1]), idx, 0);
    return Float32Array.from(await logits(picked, head).data());
  };
  const [out, prefillFirstMs] = await timed(prefillLogits);
  const [, prefillMs] = await timed(prefillLogits);
  log(`  prefill ${ms(prefillFirstMs)} ms first, ${ms(prefillMs)} ms after`);

  let state = initTrainState({
    config: DEFAULT_LORA_SETTINGS,
    params: initLora(model.config, DEFAULT_LORA_SETTINGS, 0),
  });
  const vote = () =>
    sample(model, state.adapter, promptEmbeds, {
      numRows: args.rows,
      maxNewTokens: args.newTokens,
      temperature: 1,
      seed: 1,
      eosTokenIds: [],
    });
  const [votes, voteFirstMs] = await timed(vote);
  const [, voteMs] = await timed(vote);
  log(`  vote ${ms(voteFirstMs)} ms first, ${ms(voteMs)} ms after`);
  const completions = withAlternatingAdvantages(votes.tokens.slice(0, args.trainRows));
  const step = async () => {
    const result = await grpoStep(
      model,
      state,
      [{ promptEmbeds, completions }],
      benchStep(args.microBatchSize),
    );
    if (result.skipped) throw new Error(`the GRPO step was skipped: ${result.skipped}`);
    state = result.state;
  };
  const [, stepFirstMs] = await timed(step);
  log(`  GRPO step ${ms(stepFirstMs)} ms first`);
  const [, stepMs] = await timed(step);
  log(`  GRPO step ${ms(stepMs)} ms after`);
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

/** transformers.js sampling `rows` rows of `newTokens` from the same checkpoint and prompt. */
async function measureTransformersJs(dir: string, args: Args): Promise<number> {
  const ref = readReference(dir);
  const served = await serveModel(
    dir,
    (file) => file.startsWith('ttrv/') || file.endsWith('.safetensors') || file.includes('fp16'),
  );
  try {
    const model = await Idefics3ForConditionalGeneration.from_pretrained(served.name, {
      dtype: 'fp32',
      device: 'cpu',
    });
    try {
      // Token ids only: the engine's vote starts from image features already computed, so the
      // baseline gets the same prompt (its <image> positions embedded as tokens: the same
      // compute) without running its vision encoder once per row.
      const rows = args.rows;
      const n = ref.input_ids.length;
      const ids = new BigInt64Array(rows * n);
      for (let r = 0; r < rows; r++) ids.set(BigInt64Array.from(ref.input_ids, BigInt), r * n);
      const generate = () =>
        model.generate({
          input_ids: new Tensor('int64', ids, [rows, n]),
          attention_mask: new Tensor('int64', new BigInt64Array(rows * n).fill(1n), [rows, n]),
          max_new_tokens: args.newTokens,
          min_new_tokens: args.newTokens,
          do_sample: true,
          top_k: 0,
        } as never);
      await generate();
      const [, t] = await timed(generate);
      return t;
    } finally {
      await model.dispose();
    }
  } finally {
    await served.close();
  }
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const log = (msg: string) => {
    if (!args.json) console.log(msg);
  };
  setupNode(args.backend);
  const wasmPeak = args.backend === 'wasm' ? wasmMemoryPeak : null;
  const devices = await init(args.backend);
  if (!devices.includes(args.backend)) throw new Error(`backend ${args.backend} is not available`);
  defaultDevice(args.backend);
  const counter: GpuMemoryCounter | null = args.backend === 'webgpu' ? trackGpuMemory() : null;
  const shapes = [];
  for (const shape of args.shapes) {
    const dir = args.dirs[shape] as string;
    if (!existsSync(path.join(dir, 'ttrv/build.json'))) {
      throw new Error(
        `No ${shape} checkpoint in ${dir}: build it with \`/usr/bin/python3 tools/real-size/build.py --shape ${shape}\` (tools/real-size/README.md), or pass --dir-${shape} DIR.`,
      );
    }
    const build = JSON.parse(readFileSync(path.join(dir, 'ttrv/build.json'), 'utf8'));
    log(`${shape}: ${build.repo} shape, ${args.weights} weights on ${args.backend}`);
    const load = loadavg()[0] as number;
    counter?.resetPeak();
    const e = await measureEngine(dir, args, log);
    const theirs = args.transformersjs ? await measureTransformersJs(dir, args) : null;
    if (theirs !== null) log(`  transformers.js vote ${ms(theirs)} ms`);
    shapes.push({
      name: `smolvlm-${shape}`,
      repo_shape: build.repo,
      weights: args.weights,
      params_text: build.params_text,
      prompt_tokens: e.promptTokens,
      load_ms: ms(e.loadMs),
      peak_bytes: wasmPeak ? wasmPeak() : (counter?.peak() ?? null),
      peak_gpu_bytes: counter ? counter.peak() : null,
      prefill_first_ms: ms(e.prefillFirstMs),
      prefill_ms: ms(e.prefillMs),
      vote_first_ms: ms(e.voteFirstMs),
      vote_ms: ms(e.voteMs),
      grpo_step_first_ms: ms(e.stepFirstMs),
      grpo_step_ms: ms(e.stepMs),
      step_over_vote: Number((e.stepMs / e.voteMs).toFixed(2)),
      rows: args.rows,
      new_tokens: args.newTokens,
      train_rows: args.trainRows,
      micro_batch_size: args.microBatchSize,
      layers_per_program: e.layersPerProgram,
      transformersjs_vote_ms: theirs === null ? null : ms(theirs),
      ratio: theirs === null ? null : Number((theirs / e.voteMs).toFixed(3)),
      logits_max_abs_error: e.logitsError,
      load_average: [Number(load.toFixed(2)), Number((loadavg()[0] as number).toFixed(2))],
    });
  }
  console.log(JSON.stringify({ shapes, backend: args.backend }));
}
