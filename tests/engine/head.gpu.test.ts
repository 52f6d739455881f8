// The LM head at SmolVLM's vocabulary size (V = 49,280), where jax-js 0.1.25's nn.oneHot breaks
// under jit (a V × V identity: out of memory on WebGPU, zeros then wrong values at V = 32,768, the
// Wasm 4 GiB limit) while eager execution is right. head.ts selects targets with a comparison mask
// and never holds N × V logits; this checks, on Wasm and WebGPU, that its target log-probs,
// entropies and dL/dh under jit(valueAndGrad) — as grpo.ts uses them — equal eager execution and a
// float64 host reference, on two consecutive calls. Targets sit on the vocabulary chunks' edges.
import { defaultDevice, init, jit, lax, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VOCAB_CHUNK, headBackward, headForward } from '../../src/engine/head';
import { seededRandom } from '../../src/random';
import { host, maxAbsDiff } from './helpers';

const V = 49_280;
const D = 64;
const TEMPERATURE = 0.7;
const TARGETS = [0, DEFAULT_VOCAB_CHUNK - 1, DEFAULT_VOCAB_CHUNK, V - 1];
const N = TARGETS.length;
/** Cotangents of log p(target) and of the entropy: the loss is Σ gLogp·logp + gEntropy·H. */
const G_LOGP = [-1, 0.5, -0.25, 2];
const G_ENTROPY = [0.1, -0.2, 0.3, -0.05];

/** f32-representable uniform values in [-1, 1), so the reference sees exactly what the engine does. */
function uniform(n: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => 2 * random() - 1);
}

const hidden = uniform(N * D, 1);
const weights = uniform(V * D, 2);

type HeadResult = { logp: Float64Array; entropy: Float64Array; dh: Float64Array };

/** Float64 reference: logits z = h Wᵀ / T, log p(target), H and d(Σ gLogp·logp + gH·H)/dh. */
function reference(): HeadResult {
  const logp = new Float64Array(N);
  const entropy = new Float64Array(N);
  const dh = new Float64Array(N * D);
  for (let n = 0; n < N; n++) {
    const h = hidden.subarray(n * D, (n + 1) * D);
    const z = new Float64Array(V);
    for (let k = 0; k < V; k++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += (h[d] as number) * (weights[k * D + d] as number);
      z[k] = s / TEMPERATURE;
    }
    let m = Number.NEGATIVE_INFINITY;
    for (const v of z) m = Math.max(m, v);
    let sum = 0;
    for (const v of z) sum += Math.exp(v - m);
    const lse = m + Math.log(sum);
    const lp = z.map((v) => v - lse);
    let ent = 0;
    for (const l of lp) ent -= Math.exp(l) * l;
    const target = TARGETS[n] as number;
    logp[n] = lp[target] as number;
    entropy[n] = ent;
    // dz_k = gLogp·(1[k = target] - p_k) - gH·p_k·(log p_k + H), then dh = dz W / T.
    const gl = G_LOGP[n] as number;
    const ge = G_ENTROPY[n] as number;
    for (let k = 0; k < V; k++) {
      const l = lp[k] as number;
      const p = Math.exp(l);
      const dz = (gl * ((k === target ? 1 : 0) - p) - ge * p * (l + ent)) / TEMPERATURE;
      for (let d = 0; d < D; d++) {
        dh[n * D + d] = (dh[n * D + d] as number) + dz * (weights[k * D + d] as number);
      }
    }
  }
  return { logp, entropy, dh };
}

type Inputs = { head: np.Array; targets: np.Array; gLogp: np.Array; gEntropy: np.Array };

/**
 * The way grpo.ts differentiates through the head: the forward statistics and headBackward's dh
 * on a stopped copy of h, then Σ h · stopGradient(dh), whose gradient with respect to h is dh.
 */
function surrogate(h: np.Array, inputs: Inputs): [np.Array, { logp: np.Array; entropy: np.Array }] {
  const { head, targets, gLogp, gEntropy } = inputs;
  const opts = { temperature: TEMPERATURE };
  const hs = lax.stopGradient(h.ref);
  const stats = headForward(hs.ref, head.ref, targets.ref, opts);
  const entropy = stats.entropy.ref;
  const dh = headBackward(
    hs,
    head,
    targets,
    { lse: stats.lse, entropy: stats.entropy },
    { gLogp, gEntropy },
    opts,
  );
  return [h.mul(lax.stopGradient(dh)).sum(), { logp: stats.logp, entropy }];
}

type HeadFn = (
  h: np.Array,
  inputs: Inputs,
) => [[np.Array, { logp: np.Array; entropy: np.Array }], np.Array];

const ref = reference();

for (const device of ['wasm', 'webgpu'] as const) {
  describe(`LM head at V = ${V} (${device})`, () => {
    beforeAll(async () => {
      expect(await init(device)).toContain(device);
      defaultDevice(device);
    });

    async function run(f: HeadFn) {
      const inputs: Inputs = {
        head: np.array(weights).reshape([V, D]),
        targets: np.array(TARGETS, { dtype: np.int32 }),
        gLogp: np.array(G_LOGP),
        gEntropy: np.array(G_ENTROPY),
      };
      const [[value, aux], dh] = f(np.array(hidden).reshape([N, D]), inputs);
      value.dispose();
      const out: HeadResult = {
        logp: await host(aux.logp),
        entropy: await host(aux.entropy),
        dh: await host(dh),
      };
      tree.dispose([aux, dh]);
      return out;
    }

    it('target log-probs, entropies and dL/dh: jit twice = eager = float64', async () => {
      const eager = await run(valueAndGrad(surrogate, { hasAux: true }));
      const jitted = jit(valueAndGrad(surrogate, { hasAux: true }));
      const first = await run(jitted);
      const second = await run(jitted);
      jitted.dispose();
      const scale = Math.max(...Array.from(ref.dh, Math.abs));
      for (const out of [eager, first, second]) {
        expect(maxAbsDiff(out.logp, ref.logp)).toBeLessThan(1e-4);
        // H = lse - Σ p·z subtracts two sums of 49,280 f32 terms: ~1e-4 off in f32 (SwiftShader).
        expect(maxAbsDiff(out.entropy, ref.entropy)).toBeLessThan(1e-3);
        expect(maxAbsDiff(out.dh, ref.dh) / scale).toBeLessThan(1e-4);
      }
      // Compiled kernels sum in another order: a few f32 ulps of log-probs near -20 (ulp 2e-6).
      for (const out of [first, second]) {
        expect(maxAbsDiff(out.logp, eager.logp)).toBeLessThan(5e-5);
        expect(maxAbsDiff(out.dh, eager.dh) / scale).toBeLessThan(1e-5);
      }
      // Not a degenerate case: the targets' probabilities and the rows' gradients differ.
      expect(new Set(Array.from(ref.logp, (x) => x.toFixed(3))).size).toBe(N);
      expect(scale).toBeGreaterThan(1e-3);
    });
  });
}
