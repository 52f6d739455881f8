// The layers run in compiled groups (src/engine/programs.ts): one layer per program, uneven
// groups (2 + 2 + 1: two program shapes) and the whole model in one program must give the same
// samples, log-probs and GRPO gradients (the backward pass recomputes each group from its kept
// input). Wasm, a tiny 5-layer model with a LoRA whose B is not zero.
import { defaultDevice, init, type numpy as np, tree } from '@jax-js/jax';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { embedTokens } from '../../src/engine/inputs';
import type { Adapter, TextModel } from '../../src/engine/model';
import { layerGroups } from '../../src/engine/programs';
import { sample } from '../../src/engine/sampling';
import { completionLogprobs, grpoGradients } from '../../src/engine/train';
import { randomWeights } from '../../src/engine/weights';
import { DEFAULT_LORA_SETTINGS } from '../../src/layout/loraSettings';
import { host, loraWithNonZeroB, maxAbsDiff, tinyConfig } from './helpers';

const GROUPINGS = [1, 2, 5];
const config = tinyConfig({ numLayers: 5, vocabSize: 40, imageTokenId: null });
let weights: TextModel['weights'];
let adapter: Adapter;
let prompt: np.Array;

const modelWith = (layersPerProgram: number): TextModel => ({
  config,
  weights,
  textPrefix: 'model.',
  format: 'f32',
  layersPerProgram,
});

beforeAll(async () => {
  await init('wasm');
  defaultDevice('wasm');
  weights = randomWeights(config, 5, { std: 0.3 });
  const loraConfig = { ...DEFAULT_LORA_SETTINGS, r: 2, lora_alpha: 4 };
  adapter = { config: loraConfig, params: loraWithNonZeroB(config, loraConfig, 3, 0.3) };
  prompt = embedTokens(weights.embed, [[3, 7, 11, 2, 5, 9]]);
});

afterAll(() => {
  tree.dispose([weights, adapter.params, prompt]);
});

it('splits the layers into groups of layersPerProgram (the last one shorter)', () => {
  expect(layerGroups(modelWith(2))).toEqual([
    [0, 2],
    [2, 4],
    [4, 5],
  ]);
  expect(layerGroups(modelWith(5))).toEqual([[0, 5]]);
  expect(layerGroups(modelWith(9))).toEqual([[0, 5]]);
  expect(layerGroups(modelWith(1))).toHaveLength(5);
});

it('every grouping samples the same tokens with the same log-probs', async () => {
  const runs = [];
  for (const n of GROUPINGS) {
    runs.push(
      await sample(modelWith(n), adapter, prompt, {
        numRows: 3,
        maxNewTokens: 5,
        temperature: 1,
        seed: 11,
        eosTokenIds: [],
      }),
    );
  }
  const [first, ...rest] = runs;
  for (const run of rest) {
    expect(run.tokens).toEqual(first?.tokens);
    expect(maxAbsDiff(run.logprobs.flat(), first?.logprobs.flat() ?? [])).toBeLessThan(1e-5);
  }
});

it('every grouping gives the same teacher-forced log-probs and GRPO gradients', async () => {
  const completions = [
    [4, 8, 15, 16],
    [23, 42, 1],
    [7, 7],
  ];
  const results = [];
  for (const n of GROUPINGS) {
    const model = modelWith(n);
    const on = await completionLogprobs(model, adapter, prompt, completions);
    const off = await completionLogprobs(model, null, prompt, completions);
    const { grads, sums } = await grpoGradients(
      model,
      adapter,
      [
        {
          promptEmbeds: prompt,
          completions: completions.map((tokens, j) => ({ tokens, advantage: j - 1 })),
        },
      ],
      {
        epsilon: 0.2,
        beta: 0.04,
        entropyCoef: 0.01,
        lossType: 'token_mean',
        microBatchSize: 2,
      },
    );
    const leaves: number[] = [];
    for (const leaf of tree.leaves(grads) as np.Array[]) leaves.push(...(await host(leaf)));
    results.push({ on: on.logprobs.flat(), off: off.logprobs.flat(), grads: leaves, sums });
  }
  const [first, ...rest] = results;
  if (!first) throw new Error('no results');
  const scale = Math.max(...first.grads.map(Math.abs));
  expect(scale).toBeGreaterThan(1e-4);
  for (const r of rest) {
    expect(maxAbsDiff(r.on, first.on)).toBeLessThan(1e-5);
    expect(maxAbsDiff(r.off, first.off)).toBeLessThan(1e-5);
    expect(maxAbsDiff(r.grads, first.grads)).toBeLessThan(1e-5 * scale + 1e-7);
    expect(Math.abs(r.sums.loss - first.sums.loss)).toBeLessThan(1e-6);
    expect(Math.abs(r.sums.kl - first.sums.kl)).toBeLessThan(1e-6);
  }
});
