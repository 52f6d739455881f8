// A strict finite-difference check of the LoRA gradient in float64 on the `cpu` device (Wasm's
// float64 transcendentals are only ~1e-7 accurate, env-notes): central differences of the GRPO
// loss against the engine's gradient, for two elements of every LoRA tensor (A and B of every
// projection in every layer; which two moves from tensor to tensor), with PyTorch gradcheck's
// defaults (eps 1e-6, atol 1e-5, rtol 1e-3). All ~464 elements take ~15 min on the interpreted
// `cpu` backend here, too long for CI; two per tensor still catch a wrong term in any tensor.
import { defaultDevice, init, numpy as np, tree } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoraParams } from '../../src/engine/decoder';
import { embedTokens } from '../../src/engine/inputs';
import { initLora } from '../../src/engine/lora';
import { DEFAULT_LORA_SETTINGS } from '../../src/engine/loraSettings';
import type { TextModel } from '../../src/engine/model';
import type { GrpoOptions, PromptGroup } from '../../src/engine/train';
import { completionLogprobs, grpoGradients } from '../../src/engine/train';
import { randomWeights } from '../../src/engine/weights';
import { host, tinyConfig } from './helpers';

const EPS = 1e-6;
const ATOL = 1e-5;
const RTOL = 1e-3;

describe('LoRA gradient, float64 finite differences (cpu)', () => {
  beforeAll(async () => {
    await init('cpu');
    defaultDevice('cpu');
  });

  it('matches central differences in every LoRA tensor (clip, KL, entropy, sequence_mean)', async () => {
    const f64 = np.float64;
    const config = tinyConfig({
      hiddenSize: 8,
      intermediateSize: 12,
      numHeads: 2,
      numKvHeads: 1,
      headDim: 4,
      vocabSize: 16,
    });
    const model: TextModel = {
      config,
      weights: randomWeights(config, 3, { dtype: f64, std: 0.5 }),
      textPrefix: 'model.',
      format: 'f32',
    };
    const loraConfig = { ...DEFAULT_LORA_SETTINGS, r: 2, lora_alpha: 4 };
    const params = initLora(config, loraConfig, 5, { dtype: f64 });
    for (const layer of params.layers) {
      for (const pair of Object.values(layer)) {
        const b = pair.b;
        pair.b = np.sin(np.arange(b.size).reshape(b.shape).astype(f64)).mul(0.5);
        b.dispose();
      }
    }
    const promptEmbeds = embedTokens(model.weights.embed, [[3, 7, 11, 2]]);
    const completions = [
      [5, 9, 1],
      [12, 4],
      [6, 6, 6, 0],
    ];
    // Old log-probs from a different adapter state, so ratios differ from 1 and some clip.
    const old = await completionLogprobs(model, null, promptEmbeds, completions);
    const group: PromptGroup = {
      promptEmbeds,
      completions: completions.map((tokens, j) => ({
        tokens,
        advantage: [1.3, -0.8, 0.4][j] as number,
        oldLogprobs: old.logprobs[j]?.map((x, t) => x + 0.3 * Math.sin(3 * t + j)),
      })),
    };
    const opts: Omit<GrpoOptions, 'learningRate' | 'maxGradNorm'> = {
      epsilon: 0.2,
      beta: 0.1,
      entropyCoef: 0.05,
      lossType: 'sequence_mean',
      microBatchSize: 2,
      vocabChunk: 6,
    };
    const lossAt = async (p: LoraParams) => {
      const { grads, sums } = await grpoGradients(
        model,
        { config: loraConfig, params: p },
        [group],
        opts,
      );
      tree.dispose(grads);
      return sums.loss;
    };
    const { grads, sums } = await grpoGradients(
      model,
      { config: loraConfig, params },
      [group],
      opts,
    );
    expect(sums.clipFraction).toBeGreaterThan(0);
    expect(sums.clipFraction).toBeLessThan(1);
    const [leaves, def] = tree.flatten(params) as [np.Array[], tree.JsTreeDef];
    const gradLeaves = tree.leaves(grads) as np.Array[];
    let checked = 0;
    for (const [i, leaf] of leaves.entries()) {
      const base = await host(leaf);
      const analytic = await host(gradLeaves[i] as np.Array);
      const picked = new Set([(7 * i) % base.length, base.length - 1 - ((3 * i) % base.length)]);
      for (const k of picked) {
        const shifted = async (delta: number) => {
          const data = Float64Array.from(base);
          data[k] = (data[k] as number) + delta;
          const others = leaves.map((x, j) =>
            j === i ? np.array(data, { dtype: f64 }).reshape(x.shape) : x.ref,
          );
          const p = tree.unflatten(def, others) as LoraParams;
          const loss = await lossAt(p);
          tree.dispose(p);
          return loss;
        };
        const numeric = ((await shifted(EPS)) - (await shifted(-EPS))) / (2 * EPS);
        const a = analytic[k] as number;
        expect(Math.abs(a - numeric)).toBeLessThanOrEqual(ATOL + RTOL * Math.abs(numeric));
        checked++;
      }
    }
    expect(leaves.length).toBe(2 * 7 * config.numLayers);
    expect(checked).toBeGreaterThanOrEqual(leaves.length * 2 - 2);
    tree.dispose([grads, params, promptEmbeds, model.weights]);
    // ~56 elements × 2 loss evaluations at 1–2 s each on the interpreted `cpu` backend.
  }, 600_000);
});
