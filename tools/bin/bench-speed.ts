// Speed of the playground's work on the demo model, in one run on one machine, through the app's
// own code (tools/lib/node-app.ts). Run as `npm run bench:speed -- [--json]
// [--backend wasm|webgpu] [--repeats 5] [--root DIR] [--weights f32|q8|q4]` (DIR as
// bench:quality's); the last line printed is one JSON object (`settings`: the settings the step
// and the samples used, tools/lib/run-settings.ts).
//
// Definitions (medians of `--repeats` after a warm-up, so compilation is excluded):
//   ours_tokens_per_s  16 samples of 16 new tokens (end-of-sequence ignored, so both sides do the
//                      same work) at temperature 1 for the first clean item's image and question,
//                      end to end: image preprocessing, vision encoder, prefill and decode
//   transformersjs_tokens_per_s  the same with transformers.js (processor + generate on 16 copies
//                      of the prompt, onnxruntime-node on the CPU)
//   step_ms            one single-example TTRV step with the default settings, phase by phase:
//                      vote    num_votes samples and their extracted answers (ttrvStep's vote)
//                      score   rewards and GRPO advantages
//                      train   loss and LoRA gradients of the num_generations completions
//                      update  grpoStep (gradients, norm clip, AdamW) minus `train`, timed
//                              back to back (median of the paired differences)
//   peak_gpu_bytes     jax-js' WebGPU buffers at their peak while a WebGPU copy of the text model
//                      loads and runs one ttrvStep (Node's WebGPU here is SwiftShader; the bytes
//                      allocated do not depend on the adapter); null without WebGPU
import { parseArgs } from 'node:util';
import { RawImage } from '@huggingface/transformers';
import { blockUntilReady, defaultDevice, tree } from '@jax-js/jax';
import type { DatasetItem } from '../../src/dataset/items';
import { parseItems } from '../../src/dataset/items';
import type { PromptGroup, TrainState } from '../../src/engine';
import {
  disposeModel,
  grpoGradients,
  grpoStep,
  sample,
  trackGpuMemory,
  type WeightFormat,
  weightBytes,
} from '../../src/engine';
import { loraSettingsOf } from '../../src/layout/loraSettings';
import { computeAdvantages } from '../../src/rl/advantages';
import { computeRewards } from '../../src/rl/rewards';
import type { PlaygroundSettings } from '../../src/settings';
import { DEFAULT_SETTINGS } from '../../src/settings';
import { stepSeed, vote } from '../../src/ttrv/answers';
import { freshTrainState, grpoOptions, ttrvStep } from '../../src/ttrv/step';
import { loadTextModelFromUrl } from '../../src/vlm/textModelFromUrl';
import type { PreparedPrompt } from '../../src/vlm/visionLanguageModel';
import { preparePrompt } from '../../src/vlm/visionLanguageModel';
import type { BenchBackend, NodeApp } from '../lib/node-app';
import { BENCH_OPTIONS, openNodeApp, weightFormatArg } from '../lib/node-app';
import { settingsEcho } from '../lib/run-settings';
import { median, middle } from '../lib/timing';
import { loadTransformersDemo } from '../lib/transformers-demo';

const SAMPLES = 16;
const NEW_TOKENS = 16;

type Args = {
  json: boolean;
  backend: BenchBackend;
  repeats: number;
  root: string;
  weights: WeightFormat;
};

function readArgs(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...BENCH_OPTIONS,
      repeats: { type: 'string', default: '5' },
    },
  });
  return {
    json: values.json,
    backend: values.backend as BenchBackend,
    repeats: Number(values.repeats),
    root: values.root,
    weights: weightFormatArg(values.weights),
  };
}

/** Median milliseconds of each phase of one TTRV step on `prompt` (see the header). */
async function stepPhases(
  app: NodeApp,
  prompt: PreparedPrompt,
  config: PlaygroundSettings,
  repeats: number,
) {
  const { vlm } = app;
  let state: TrainState = freshTrainState(vlm, loraSettingsOf(config), config.seed);
  const seed = stepSeed(config.seed, 0, 0);
  const votes = await vote(vlm, state.adapter, prompt, config, seed);
  const voteMs = await median(repeats, () => vote(vlm, state.adapter, prompt, config, seed));

  let advantages: number[] = [];
  const score = async () => {
    const rewards = computeRewards(votes, config);
    advantages = computeAdvantages([rewards], config.baseline, config.scale_rewards)[0] ?? [];
  };
  await score();
  const scoreMs = await median(repeats, score);

  const group: PromptGroup = {
    promptEmbeds: prompt.embeds,
    completions: votes.tokens
      .slice(0, config.num_generations)
      .map((tokens, j) => ({ tokens, advantage: advantages[j] ?? 0 })),
  };
  // The step's GRPO options as ttrvStep passes them, at a constant rate (no warm-up by default).
  const options = grpoOptions(config, config.learning_rate);
  const gradients = async () =>
    tree.dispose((await grpoGradients(vlm.text, state.adapter, [group], options)).grads);
  const step = async () => {
    state = (await grpoStep(vlm.text, state, [group], options)).state;
    await blockUntilReady(state.adapter.params);
  };
  // Gradients and the full step timed back to back, so each update time is a paired difference
  // (less exposed to the machine's drift than the difference of two separate medians).
  const trainTimes: number[] = [];
  const updateTimes: number[] = [];
  for (let i = 0; i <= repeats; i++) {
    const start = performance.now();
    await gradients();
    const trained = performance.now();
    await step();
    const stepped = performance.now();
    if (i === 0) continue; // warm-up: compilation
    trainTimes.push(trained - start);
    updateTimes.push(stepped - trained - (trained - start));
  }
  tree.dispose([state.adapter.params, state.moments]);
  return { vote: voteMs, score: scoreMs, train: middle(trainTimes), update: middle(updateTimes) };
}

/** Peak bytes of jax-js' WebGPU buffers while a WebGPU copy of the text model runs one step. */
async function peakGpuBytes(
  app: NodeApp,
  image: RawImage,
  item: DatasetItem,
  config: PlaygroundSettings,
  weights: WeightFormat,
) {
  // The engine creates small arrays (LoRA init, optimiser scalars) on the default device.
  const previous = defaultDevice();
  defaultDevice('webgpu');
  const counter = trackGpuMemory();
  try {
    const text = await loadTextModelFromUrl(app.modelUrl, { device: 'webgpu', format: weights });
    const vlm = { ...app.vlm, text };
    const prompt = await preparePrompt(vlm, image, item.question);
    const { state } = await ttrvStep(
      vlm,
      freshTrainState(vlm, loraSettingsOf(config), config.seed),
      [[prompt]],
      config,
      0,
    );
    await blockUntilReady(state.adapter.params);
    const peak = counter.peak();
    tree.dispose([state.adapter.params, state.moments, prompt.embeds]);
    disposeModel(text);
    return peak;
  } finally {
    counter.stop();
    defaultDevice(previous);
  }
}

export async function main(argv: string[]): Promise<void> {
  const args = readArgs(argv);
  const log = (message: string) => {
    if (!args.json) console.log(message);
  };
  const config = DEFAULT_SETTINGS;
  const app = await openNodeApp(args.backend, args.root, args.weights);
  const { vlm } = app;
  const itemsUrl = app.datasetUrl('clean/items.jsonl');
  const [item] = parseItems(await (await fetch(itemsUrl)).text(), itemsUrl);
  if (!item) throw new Error(`${itemsUrl} holds no items`);
  const tokens = SAMPLES * NEW_TOKENS;
  log(`model ${vlm.id}, backend ${args.backend}, ${SAMPLES} samples × ${NEW_TOKENS} tokens`);
  // First, before other WebGPU work: buffers it frees into jax-js' pool would be reused uncounted.
  const peak = app.webgpu
    ? await peakGpuBytes(app, await RawImage.fromURL(item.image), item, config, args.weights)
    : null;
  log(
    peak === null
      ? 'peak GPU memory: no WebGPU here (Node needs the chromium package: see the README)'
      : `peak GPU memory of one TTRV step: ${(peak / 2 ** 20).toFixed(1)} MiB`,
  );

  const ours = async () => {
    const prompt = await preparePrompt(vlm, await RawImage.fromURL(item.image), item.question);
    await sample(vlm.text, null, prompt.embeds, {
      numRows: SAMPLES,
      maxNewTokens: NEW_TOKENS,
      temperature: config.temperature,
      seed: 0,
      eosTokenIds: [],
    });
    prompt.embeds.dispose();
  };
  await ours();
  const oursTokensPerS = tokens / ((await median(args.repeats, ours)) / 1000);
  log(`ours: ${oursTokensPerS.toFixed(0)} tokens/s`);

  const demo = await loadTransformersDemo(args.root);
  const theirs = async () =>
    demo.generate(
      await demo.prompt(item.image, item.question),
      SAMPLES,
      NEW_TOKENS,
      NEW_TOKENS,
      config.temperature,
    );
  await theirs();
  const theirTokensPerS = tokens / ((await median(args.repeats, theirs)) / 1000);
  log(`transformers.js: ${theirTokensPerS.toFixed(0)} tokens/s`);
  await demo.dispose();

  const prompt = await preparePrompt(vlm, await RawImage.fromURL(item.image), item.question);
  const phases = await stepPhases(app, prompt, config, args.repeats);
  prompt.embeds.dispose();
  log(`TTRV step: ${JSON.stringify(phases)} ms`);
  await app.close();

  const ms = (x: number) => Number(x.toFixed(2));
  console.log(
    JSON.stringify({
      model: vlm.id,
      backend: args.backend,
      weights: args.weights,
      text_bytes: weightBytes(vlm.text.weights),
      ours_tokens_per_s: Number(oursTokensPerS.toFixed(1)),
      transformersjs_tokens_per_s: Number(theirTokensPerS.toFixed(1)),
      ratio: Number((oursTokensPerS / theirTokensPerS).toFixed(3)),
      step_ms: {
        vote: ms(phases.vote),
        score: ms(phases.score),
        train: ms(phases.train),
        update: ms(phases.update),
      },
      peak_gpu_bytes: peak,
      settings: settingsEcho(config),
    }),
  );
}
