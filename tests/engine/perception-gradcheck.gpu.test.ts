// The perception term's gradient (the `perception` reward, PAPO / DVRP style) against float64
// central differences on the `cpu` device, as gradcheck.test.ts does for the GRPO loss. The
// session adds the term as an auxiliary group (src/engine/train.ts): the policy's completions
// re-scored after the masked image with advantage −γ, the policy group's advantages raised by γ.
// So the engine's gradient must be that of
//   L(θ) = Σ_j Σ_t w_jt · ( −(A_j + γ)·logp_θ(y_jt | I) + β·kl_jt − c·H_jt )  +  γ · Σ w_jt·logp_θ(y_jt | I_masked)
// with w the policy tokens' weights (the auxiliary tokens do not count in the normalisation), and
// no KL, entropy or clip on the masked side.
import { defaultDevice, init, numpy as np, tree } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoraParams } from '../../src/engine/decoder';
import { embedTokens } from '../../src/engine/inputs';
import type { Adapter } from '../../src/engine/model';
import type { GrpoOptions, PromptGroup } from '../../src/engine/train';
import { completionLogprobs, grpoGradients } from '../../src/engine/train';
import { centralDifferences, float64Fixture, GRADCHECK } from './helpers';

describe('perception term gradient, float64 finite differences (cpu)', () => {
  beforeAll(async () => {
    await init('cpu');
    defaultDevice('cpu');
  });

  it('equals central differences of the policy loss plus γ·(masked log-probs − real log-probs)', async () => {
    const { config, model, loraConfig, params } = float64Fixture(4, 6, np.cos);
    // The "image" is the prompt's middle positions: the masked prompt differs only there.
    const real = embedTokens(model.weights.embed, [[3, 7, 11, 2]]);
    const masked = embedTokens(model.weights.embed, [[3, 0, 0, 2]]);
    const completions = [
      [5, 9, 1],
      [12, 4],
      [6, 6, 6, 0],
    ];
    const advantages = [1.1, -0.7, -0.4];
    const gamma = 0.6;
    const beta = 0.1;
    const entropyCoef = 0.05;
    const tokens = completions.reduce((n, c) => n + c.length, 0);
    const w = 1 / tokens; // token_mean over the policy tokens only
    const ref = await completionLogprobs(model, null, real, completions);

    const lossAt = async (p: LoraParams) => {
      const adapter: Adapter = { config: loraConfig, params: p };
      const onReal = await completionLogprobs(model, adapter, real, completions);
      const onMasked = await completionLogprobs(model, adapter, masked, completions);
      let loss = 0;
      completions.forEach((c, j) => {
        for (let t = 0; t < c.length; t++) {
          const lp = onReal.logprobs[j]?.[t] as number;
          const diff = (ref.logprobs[j]?.[t] as number) - lp;
          const kl = Math.exp(diff) - diff - 1;
          const h = onReal.entropies[j]?.[t] as number;
          const lm = onMasked.logprobs[j]?.[t] as number;
          loss += w * (-((advantages[j] as number) + gamma) * lp + beta * kl - entropyCoef * h);
          loss += w * gamma * lm;
        }
      });
      return { loss, real: onReal.logprobs.flat(), masked: onMasked.logprobs.flat() };
    };

    const groups: PromptGroup[] = [
      {
        promptEmbeds: real,
        completions: completions.map((c, j) => ({
          tokens: c,
          advantage: (advantages[j] as number) + gamma,
        })),
      },
      {
        promptEmbeds: masked,
        auxiliary: true,
        completions: completions.map((c) => ({ tokens: c, advantage: -gamma })),
      },
    ];
    const opts: Omit<GrpoOptions, 'learningRate' | 'maxGradNorm'> = {
      epsilon: 0.2,
      beta,
      entropyCoef,
      lossType: 'token_mean',
      microBatchSize: 2,
      vocabChunk: 6,
    };
    const { grads, sums } = await grpoGradients(
      model,
      { config: loraConfig, params },
      groups,
      opts,
    );
    // The metrics: the weighted mean log-probs of each side (what the session's perception_gap is).
    const at = await lossAt(params);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sums.logp).toBeCloseTo(w * sum(at.real), 10);
    expect(sums.auxiliaryLogp).toBeCloseTo(w * sum(at.masked), 10);
    expect(sums.auxiliaryLogp).not.toBeCloseTo(sums.logp, 3);

    const checks = await centralDifferences(
      params,
      grads as LoraParams,
      (i, size) => [(5 * i + 1) % size],
      async (p) => (await lossAt(p)).loss,
    );
    for (const { analytic, numeric } of checks) {
      expect(Math.abs(analytic - numeric)).toBeLessThanOrEqual(
        GRADCHECK.atol + GRADCHECK.rtol * Math.abs(numeric),
      );
    }
    expect(checks).toHaveLength(2 * 7 * config.numLayers);
    // The check is not vacuous.
    expect(Math.max(...checks.map((c) => Math.abs(c.numeric)))).toBeGreaterThan(1e-3);
    tree.dispose([grads, params, real, masked, model.weights]);
  }, 600_000);
});
