// The engine on WebGPU (Node, Dawn on SwiftShader) against the same engine on Wasm, on a tiny
// model with the same weights: greedy samples, teacher-forced log-probs and GRPO gradients.
// SwiftShader is 4–15× slower than Wasm (CONTRIBUTING.md), so this stays tiny.
import type { Device } from '@jax-js/jax';
import { defaultDevice, init, numpy as np, tree } from '@jax-js/jax';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoraParams } from '../../src/engine/decoder';
import { embedTokens } from '../../src/engine/inputs';
import type { Adapter, TextModel } from '../../src/engine/model';
import { disposeModel } from '../../src/engine/model';
import { sample } from '../../src/engine/sampling';
import type { PromptGroup } from '../../src/engine/train';
import { completionLogprobs, grpoGradients } from '../../src/engine/train';
import { randomWeights } from '../../src/engine/weights';
import { DEFAULT_LORA_SETTINGS } from '../../src/layout/loraSettings';
import { host, loraWithNonZeroB, maxAbsDiff, tinyConfig } from './helpers';

const PROMPT = [3, 7, 11, 2, 5];

type Setup = { model: TextModel; adapter: Adapter; prompt: np.Array };

/** Copies of a tree's arrays on `device` (host round trip; the source is not consumed). */
async function copyTo<T>(t: T, device: Device): Promise<T> {
  const [leaves, def] = tree.flatten(t) as [np.Array[], tree.JsTreeDef];
  const copies: np.Array[] = [];
  for (const x of leaves) {
    copies.push(np.array(Float32Array.from(await x.ref.data()), { device }).reshape(x.shape));
  }
  return tree.unflatten(def, copies) as T;
}

async function withDevice<T>(device: Device, f: () => Promise<T>): Promise<T> {
  const previous = defaultDevice();
  defaultDevice(device);
  try {
    return await f();
  } finally {
    defaultDevice(previous);
  }
}

describe('WebGPU agrees with Wasm (tiny model)', () => {
  const setups = new Map<Device, Setup>();

  beforeAll(async () => {
    const devices = await init('wasm', 'webgpu');
    expect(devices).toContain('webgpu');
    defaultDevice('wasm');
    const config = tinyConfig({ numLayers: 2, vocabSize: 40, imageTokenId: null });
    const weights = randomWeights(config, 21, { std: 0.3 });
    const loraConfig = { ...DEFAULT_LORA_SETTINGS, r: 2, lora_alpha: 4 };
    const params = loraWithNonZeroB(config, loraConfig, 8, 0.2, np.cos);
    for (const device of ['wasm', 'webgpu'] as const) {
      const model: TextModel = {
        config,
        weights: await copyTo(weights, device),
        textPrefix: 'model.',
        format: 'f32',
      };
      const adapter: Adapter = {
        config: loraConfig,
        params: await copyTo<LoraParams>(params, device),
      };
      const prompt = embedTokens(model.weights.embed, [PROMPT]);
      expect(prompt.device).toBe(device);
      setups.set(device, { model, adapter, prompt });
    }
    tree.dispose([weights, params]);
  });

  afterAll(() => {
    for (const s of setups.values()) {
      s.prompt.dispose();
      tree.dispose(s.adapter.params);
      disposeModel(s.model);
    }
  });

  const on = <T>(device: Device, f: (s: Setup) => Promise<T>) =>
    withDevice(device, () => f(setups.get(device) as Setup));

  it('greedy samples and their log-probs', async () => {
    const run = (s: Setup) =>
      sample(s.model, s.adapter, s.prompt, {
        numRows: 2,
        maxNewTokens: 6,
        temperature: 0,
        seed: 0,
        eosTokenIds: [],
      });
    const wasm = await on('wasm', run);
    const gpu = await on('webgpu', run);
    expect(gpu.tokens).toEqual(wasm.tokens);
    expect(maxAbsDiff(gpu.logprobs.flat(), wasm.logprobs.flat())).toBeLessThan(1e-4);
  });

  it('teacher-forced log-probs and GRPO gradients', async () => {
    const completions = [
      [5, 9, 1],
      [12, 4],
      [6, 6, 6, 0, 30],
    ];
    const run = async (s: Setup) => {
      const lp = await completionLogprobs(s.model, s.adapter, s.prompt, completions, {
        vocabChunk: 16,
      });
      const group: PromptGroup = {
        promptEmbeds: s.prompt,
        completions: completions.map((tokens, j) => ({
          tokens,
          advantage: [1.1, -0.7, 0.3][j] as number,
          oldLogprobs: lp.logprobs[j]?.map((x, t) => x + 0.2 * Math.sin(2 * t + j)),
        })),
      };
      const { grads, sums } = await grpoGradients(s.model, s.adapter, [group], {
        epsilon: 0.2,
        beta: 0.05,
        entropyCoef: 0.01,
        lossType: 'token_mean',
        microBatchSize: 2,
        vocabChunk: 16,
      });
      const leaves: Float64Array[] = [];
      for (const g of tree.leaves(grads) as np.Array[]) leaves.push(await host(g));
      tree.dispose(grads);
      return { lp: lp.logprobs.flat(), loss: sums.loss, leaves };
    };
    const wasm = await on('wasm', run);
    const gpu = await on('webgpu', run);
    expect(maxAbsDiff(gpu.lp, wasm.lp)).toBeLessThan(1e-4);
    expect(gpu.loss).toBeCloseTo(wasm.loss, 4);
    expect(gpu.leaves).toHaveLength(wasm.leaves.length);
    wasm.leaves.forEach((w, i) => {
      const g = gpu.leaves[i] as Float64Array;
      const scale = Math.max(1e-12, ...Array.from(w, Math.abs));
      expect(maxAbsDiff(g, w) / scale).toBeLessThan(1e-4);
    });
  });
});
