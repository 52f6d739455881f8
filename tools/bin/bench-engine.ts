// The engine benchmark on the demo model, against transformers.js on the same machine with the
// same number of rows. Run through tools/bin/run-ts.mjs (`npm run bench:engine -- --json`);
// the last line printed is one JSON object (`settings`: the adapter, vote and GRPO step timed,
// tools/lib/bench-step.ts).
//
// Definitions (all after a warm-up call, so compilation is excluded; medians of `--repeats`):
//   prefill_ms        prompt prefill + the first token of every row
//   decode_tokens_per_s  rows × (new_tokens - 1) / (greedy run of new_tokens - prefill), no EOS stop;
//                     the two runs are timed back to back and the median is over those paired
//                     differences, in rounds that alternate with transformers.js' (the machine
//                     may be shared: both engines then see the same load)
//   vote_ms           one TTRV vote: `rows` samples of new_tokens at temperature 1
//   train_step_ms     one GRPO step (loss, gradients, AdamW) on `rows` completions of new_tokens
//   transformersjs_decode_tokens_per_s  the same decode rate for transformers.js generate()
//                     (greedy, rows = repeated prompt, min_new_tokens = max_new_tokens)
//   ratio             decode_tokens_per_s / transformersjs_decode_tokens_per_s
//   peak_gpu_bytes    peak bytes in jax-js' WebGPU buffers (null on the Wasm backend)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Device } from '@jax-js/jax';
import { defaultDevice, init, numpy as np, tree } from '@jax-js/jax';
import type { GpuMemoryCounter } from '../../src/engine';
import {
  embedPrompt,
  grpoStep,
  initLora,
  initTrainState,
  layerGroups,
  loadTextModel,
  sample,
  trackGpuMemory,
} from '../../src/engine';
import {
  BENCH_LORA,
  BENCH_VOTE,
  benchStep,
  benchStepSettings,
  withAlternatingAdvantages,
} from '../lib/bench-step';
import { setupNode } from '../lib/node-gpu';
import { REPO_ROOT } from '../lib/repo-root';
import { median, middle, timed } from '../lib/timing';
import { DEMO_MODEL, loadTransformersDemo } from '../lib/transformers-demo';

type Args = {
  json: boolean;
  backend: Device;
  rows: number;
  newTokens: number;
  repeats: number;
  /** Layers per compiled program (src/engine/programs.ts); absent = the engine's default. */
  layersPerProgram?: number;
};

function parseArgs(argv: string[]): Args {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    json: argv.includes('--json'),
    backend: (value('--backend') ?? 'wasm') as Device,
    rows: Number(value('--rows') ?? 16),
    newTokens: Number(value('--new-tokens') ?? 16),
    repeats: Number(value('--repeats') ?? 9),
    ...(value('--layers-per-program')
      ? { layersPerProgram: Number(value('--layers-per-program')) }
      : {}),
  };
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const log = (msg: string) => {
    if (!args.json) console.log(msg);
  };
  await setupNode(args.backend);
  const devices = await init(args.backend);
  if (!devices.includes(args.backend)) throw new Error(`backend ${args.backend} is not available`);
  defaultDevice(args.backend);
  const counter: GpuMemoryCounter | null = args.backend === 'webgpu' ? trackGpuMemory() : null;

  const modelDir = path.join(REPO_ROOT, 'public/models', DEMO_MODEL);
  const hubConfig = JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8'));
  const file = new Uint8Array(readFileSync(path.join(modelDir, 'model.safetensors')));
  const model = await loadTextModel(hubConfig, async (start, end) => file.subarray(start, end));
  model.layersPerProgram = args.layersPerProgram;
  const demo = await loadTransformersDemo(REPO_ROOT);
  const itemsFile = path.join(REPO_ROOT, 'public/datasets/shapes/clean/items.jsonl');
  const item = JSON.parse(readFileSync(itemsFile, 'utf8').split('\n')[0] as string);
  const inputs = await demo.prompt(path.join(path.dirname(itemsFile), item.image), item.question);
  const features = await demo.imageFeatures(inputs);
  const promptEmbeds = embedPrompt(
    model.weights.embed,
    inputs.inputIds,
    model.config.imageTokenId,
    np.array(features.data).reshape(features.shape),
  );
  const { rows, newTokens, repeats } = args;
  log(
    `model ${DEMO_MODEL}, backend ${args.backend}, ${rows} rows × ${newTokens} new tokens, prompt ${inputs.inputIds.length} tokens`,
  );

  const greedy = (maxNewTokens: number) =>
    sample(model, null, promptEmbeds, {
      numRows: rows,
      maxNewTokens,
      temperature: 0,
      seed: 0,
      eosTokenIds: [],
    });
  const theirs = (maxNewTokens: number) => demo.generate(inputs, rows, maxNewTokens, maxNewTokens);
  await greedy(newTokens);
  await theirs(newTokens);
  const ours = { prefill: [] as number[], decode: [] as number[] };
  const their = { prefill: [] as number[], decode: [] as number[] };
  for (let round = 0; round < repeats; round++) {
    for (const [engine, run] of [
      [ours, greedy],
      [their, theirs],
    ] as const) {
      const prefill = await timed(() => run(1));
      engine.prefill.push(prefill);
      engine.decode.push((await timed(() => run(newTokens))) - prefill);
    }
  }
  const decodeRate = (decodeMs: number[]) => (rows * (newTokens - 1)) / (middle(decodeMs) / 1000);
  const prefillMs = middle(ours.prefill);
  const decodeTokensPerS = decodeRate(ours.decode);
  const theirTokensPerS = decodeRate(their.decode);
  log(`ours: prefill ${prefillMs.toFixed(1)} ms, decode ${decodeTokensPerS.toFixed(0)} tokens/s`);
  log(
    `transformers.js: prefill ${middle(their.prefill).toFixed(1)} ms, decode ${theirTokensPerS.toFixed(0)} tokens/s`,
  );

  const lora = BENCH_LORA.settings;
  let state = initTrainState({
    config: lora,
    params: initLora(model.config, lora, BENCH_LORA.seed),
  });
  const vote = () =>
    sample(model, state.adapter, promptEmbeds, {
      numRows: rows,
      maxNewTokens: newTokens,
      ...BENCH_VOTE,
    });
  const votes = await vote();
  const voteMs = await median(repeats, vote);
  const completions = withAlternatingAdvantages(votes.tokens);
  const options = benchStep(rows);
  const step = async () => {
    const result = await grpoStep(model, state, [{ promptEmbeds, completions }], options);
    state = result.state;
  };
  await step();
  const trainStepMs = await median(repeats, step);
  log(`ours: vote ${voteMs.toFixed(1)} ms, train step ${trainStepMs.toFixed(1)} ms`);

  const result = {
    model: DEMO_MODEL,
    backend: args.backend,
    rows,
    new_tokens: newTokens,
    prefill_ms: Number(prefillMs.toFixed(2)),
    decode_tokens_per_s: Number(decodeTokensPerS.toFixed(1)),
    train_step_ms: Number(trainStepMs.toFixed(2)),
    vote_ms: Number(voteMs.toFixed(2)),
    transformersjs_decode_tokens_per_s: Number(theirTokensPerS.toFixed(1)),
    ratio: Number((decodeTokensPerS / theirTokensPerS).toFixed(3)),
    peak_gpu_bytes: counter ? counter.peak() : null,
    layers_per_program: (layerGroups(model)[0] as [number, number])[1],
    settings: benchStepSettings(options.microBatchSize),
  };
  tree.dispose([promptEmbeds, state.adapter.params, state.moments, model.weights]);
  await demo.dispose();
  console.log(JSON.stringify(result));
}
