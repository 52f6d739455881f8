// A strict finite-difference check of the LoRA gradient in float64 on the `cpu` device (Wasm's
// float64 transcendentals are only ~1e-7 accurate, CONTRIBUTING.md): central differences of the GRPO
// loss against the engine's gradient, for one element of every LoRA tensor (A and B of every
// projection in every layer; which one moves from tensor to tensor), with PyTorch gradcheck's
// defaults (eps 1e-6, atol 1e-5, rtol 1e-3). All ~464 elements take ~15 min on the interpreted
// `cpu` backend here, too long for CI; one per tensor still catches a wrong term in any tensor.
import { defaultDevice, init, numpy as np, tree } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoraParams } from '../../src/engine/decoder';
import { embedTokens } from '../../src/engine/inputs';
import type { GrpoOptions, PromptGroup } from '../../src/engine/train';
import { completionLogprobs, grpoGradients } from '../../src/engine/train';
import { centralDifferences, float64Fixture, GRADCHECK } from './helpers';

describe('LoRA gradient, float64 finite differences (cpu)', () => {
  beforeAll(async () => {
    await init('cpu');
    defaultDevice('cpu');
  });

  it('matches central differences in every LoRA tensor (clip, KL, entropy, sequence_mean)', async () => {
    const { config, model, loraConfig, params } = float64Fixture(3, 5, np.sin);
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
    const checks = await centralDifferences(
      params,
      grads as LoraParams,
      // One element a tensor, from the front or the back in turn (CI's time: decision 0038).
      (i, size) => [i % 2 ? size - 1 - ((3 * i) % size) : (7 * i) % size],
      lossAt,
    );
    for (const { analytic, numeric } of checks) {
      expect(Math.abs(analytic - numeric)).toBeLessThanOrEqual(
        GRADCHECK.atol + GRADCHECK.rtol * Math.abs(numeric),
      );
    }
    const leaves = tree.leaves(params);
    expect(leaves.length).toBe(2 * 7 * config.numLayers);
    expect(checks.length).toBe(leaves.length);
    tree.dispose([grads, params, promptEmbeds, model.weights]);
    // 28 elements × 2 loss evaluations at 1–2 s each on the interpreted `cpu` backend.
  }, 600_000);
});
