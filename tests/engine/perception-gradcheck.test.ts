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
import { initLora } from '../../src/engine/lora';
import { DEFAULT_LORA_SETTINGS } from '../../src/engine/loraSettings';
import type { Adapter, TextModel } from '../../src/engine/model';
import type { GrpoOptions, PromptGroup } from '../../src/engine/train';
import { completionLogprobs, grpoGradients } from '../../src/engine/train';
import { randomWeights } from '../../src/engine/weights';
import { host, tinyConfig } from './helpers';

const EPS = 1e-6;
const ATOL = 1e-5;
const RTOL = 1e-3;

describe('perception term gradient, float64 finite differences (cpu)', () => {
  beforeAll(async () => {
    await init('cpu');
    defaultDevice('cpu');
  });

  it('equals central differences of the policy loss plus γ·(masked log-probs − real log-probs)', async () => {
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
      weights: randomWeights(config, 4, { dtype: f64, std: 0.5 }),
      textPrefix: 'model.',
      format: 'f32',
    };
    const loraConfig = { ...DEFAULT_LORA_SETTINGS, r: 2, lora_alpha: 4 };
    const params = initLora(config, loraConfig, 6, { dtype: f64 });
    for (const layer of params.layers) {
      for (const pair of Object.values(layer)) {
        const b = pair.b;
        pair.b = np.cos(np.arange(b.size).reshape(b.shape).astype(f64)).mul(0.5);
        b.dispose();
      }
    }
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

    const [leaves, def] = tree.flatten(params) as [np.Array[], tree.JsTreeDef];
    const gradLeaves = tree.leaves(grads) as np.Array[];
    let checked = 0;
    let largest = 0;
    for (const [i, leaf] of leaves.entries()) {
      const base = await host(leaf);
      const analytic = await host(gradLeaves[i] as np.Array);
      const k = (5 * i + 1) % base.length;
      const shifted = async (delta: number) => {
        const data = Float64Array.from(base);
        data[k] = (data[k] as number) + delta;
        const others = leaves.map((x, j) =>
          j === i ? np.array(data, { dtype: f64 }).reshape(x.shape) : x.ref,
        );
        const p = tree.unflatten(def, others) as LoraParams;
        const { loss } = await lossAt(p);
        tree.dispose(p);
        return loss;
      };
      const numeric = ((await shifted(EPS)) - (await shifted(-EPS))) / (2 * EPS);
      const a = analytic[k] as number;
      expect(Math.abs(a - numeric)).toBeLessThanOrEqual(ATOL + RTOL * Math.abs(numeric));
      largest = Math.max(largest, Math.abs(numeric));
      checked++;
    }
    expect(checked).toBe(2 * 7 * config.numLayers);
    expect(largest).toBeGreaterThan(1e-3); // the check is not vacuous
    tree.dispose([grads, params, real, masked, model.weights]);
  }, 600_000);
});
