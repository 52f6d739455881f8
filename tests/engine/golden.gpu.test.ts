// The engine on the shipped demo model against PyTorch's golden vectors (tools/demo-model/golden.py,
// float64 autograd on the f32 weights): logits at every prompt position, per-token log-probs with
// and without a seeded LoRA (B non-zero), the GRPO loss and the gradient of every LoRA A and B.
// Also: a fresh adapter (PEFT init, B = 0) gives the base model's logits bit for bit. On Wasm and on
// WebGPU (Dawn on SwiftShader); the demo model is small enough for both.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultDevice, init, numpy as np, tree } from '@jax-js/jax';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoraParams } from '../../src/engine/decoder';
import { headMatrix, logits, prefill } from '../../src/engine/decoder';
import { embedPrompt, prefixInputs } from '../../src/engine/inputs';
import { exportLoraTensors, importLoraTensors, initLora } from '../../src/engine/lora';
import type { Adapter, TextModel } from '../../src/engine/model';
import { disposeModel, specOf } from '../../src/engine/model';
import type { PromptGroup } from '../../src/engine/train';
import { completionLogprobs, grpoGradients } from '../../src/engine/train';
import { loadTextModel } from '../../src/engine/weights';
import { decodeTensorToFloat32, parseSafetensors } from '../../src/formats/safetensors';
import type { LoraSettings } from '../../src/layout/loraSettings';
import { PROJECTIONS } from '../../src/layout/textLayout';
import { REPO_ROOT } from '../../tools/lib/repo-root';
import { host, maxAbsDiff } from './helpers';

const MODEL_DIR = path.join(REPO_ROOT, 'public/models/ttrv-demo-shapes');
const GOLDEN_DIR = path.join(REPO_ROOT, 'tests/fixtures/golden');

type Golden = {
  prompts: { input_ids: number[] }[];
  completions: { prompt: number; token_ids: number[] }[];
  lora: Omit<LoraSettings, 'lora_dropout'>;
  grpo: {
    advantages: number[];
    epsilon: number;
    beta: number;
    entropy_coef: number;
    loss: number;
    pg_loss: number;
    kl: number;
    entropy: number;
  };
};

const golden = JSON.parse(readFileSync(path.join(GOLDEN_DIR, 'golden.json'), 'utf8')) as Golden;
const tensors = new Map(
  parseSafetensors(
    new Uint8Array(readFileSync(path.join(GOLDEN_DIR, 'golden.safetensors'))),
  ).tensors.map((t) => [t.name, { shape: t.shape, data: decodeTensorToFloat32(t.dtype, t.data) }]),
);

function goldenTensor(name: string): Float32Array {
  const t = tensors.get(name);
  if (!t) throw new Error(`golden.safetensors has no ${name}`);
  return t.data;
}

const loraConfig: LoraSettings = { ...golden.lora, lora_dropout: 0 };

/** The seeded LoRA of golden.py, from its PEFT-named tensors ("lora.<PEFT key>"). */
function goldenAdapter(model: TextModel): Adapter {
  const byName = new Map<string, Float32Array>();
  for (const [name, t] of tensors) if (name.startsWith('lora.')) byName.set(name.slice(5), t.data);
  return { config: loraConfig, params: importLoraTensors(model, loraConfig, byName) };
}

/** |a - b| ≤ atol + rtol·|b| everywhere (numpy.allclose, b the reference); the worst excess. */
function allcloseExcess(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number) {
  expect(a.length).toBe(b.length);
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < a.length; i++) {
    const ref = b[i] as number;
    worst = Math.max(worst, Math.abs((a[i] as number) - ref) - (atol + rtol * Math.abs(ref)));
  }
  return worst;
}

for (const device of ['wasm', 'webgpu'] as const) {
  describe(`demo model vs PyTorch golden vectors (${device})`, () => {
    let model: TextModel;
    let prompts: np.Array[];

    beforeAll(async () => {
      expect(await init(device)).toContain(device);
      defaultDevice(device);
      const hubConfig = JSON.parse(readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8'));
      const file = new Uint8Array(readFileSync(path.join(MODEL_DIR, 'model.safetensors')));
      model = await loadTextModel(hubConfig, async (start, end) => file.subarray(start, end));
      prompts = golden.prompts.map((p, i) => {
        const features = goldenTensor(`prompt.${i}.image_features`);
        const k = p.input_ids.filter((id) => id === model.config.imageTokenId).length;
        const feats = np.array(features).reshape([k, features.length / k]);
        return embedPrompt(model.weights.embed, p.input_ids, model.config.imageTokenId, feats);
      });
    });

    afterAll(() => {
      tree.dispose(prompts);
      disposeModel(model);
    });

    /** Logits [T·V] at every position of prompt i (one uncached causal forward). */
    function promptLogits(i: number, adapter: Adapter | null): Promise<Float64Array> {
      const embeds = (prompts[i] as np.Array).ref;
      const input = prefixInputs(embeds, embeds.shape[1] as number, model.config, {});
      const head = headMatrix(
        tree.ref({ embed: model.weights.embed, lmHead: model.weights.lmHead }),
      );
      const lora = adapter ? tree.ref(adapter.params) : null;
      const { hidden, kv } = prefill(specOf(model, adapter), tree.ref(model.weights), lora, input);
      tree.dispose(kv);
      return host(logits(hidden, head));
    }

    /** Per-token log-probs of every golden completion, in golden order (one call per prompt). */
    async function goldenLogprobs(adapter: Adapter | null): Promise<number[][]> {
      const out: number[][] = [];
      for (const [p, prompt] of prompts.entries()) {
        const rows = golden.completions.flatMap((c, j) => (c.prompt === p ? [j] : []));
        const completions = rows.map((j) => golden.completions[j]?.token_ids as number[]);
        const { logprobs } = await completionLogprobs(model, adapter, prompt, completions);
        rows.forEach((j, r) => {
          out[j] = logprobs[r] as number[];
        });
      }
      return out;
    }

    it('logits at every prompt position equal PyTorch (max abs error ≤ 2e-3)', async () => {
      for (const [i, prompt] of golden.prompts.entries()) {
        const ours = await promptLogits(i, null);
        const ref = goldenTensor(`prompt.${i}.logits`);
        expect(ours.length).toBe(prompt.input_ids.length * model.config.vocabSize);
        expect(maxAbsDiff(ours, ref)).toBeLessThanOrEqual(2e-3);
      }
    });

    it('per-token log-probs equal PyTorch, base model and seeded LoRA', async () => {
      const adapter = goldenAdapter(model);
      const base = await goldenLogprobs(null);
      const adapted = await goldenLogprobs(adapter);
      tree.dispose(adapter.params);
      for (const [j, c] of golden.completions.entries()) {
        expect(base[j]).toHaveLength(c.token_ids.length);
        expect(
          maxAbsDiff(base[j] as number[], goldenTensor(`completion.${j}.logprobs`)),
        ).toBeLessThanOrEqual(2e-3);
        const withLora = goldenTensor(`completion.${j}.logprobs_lora`);
        expect(maxAbsDiff(adapted[j] as number[], withLora)).toBeLessThanOrEqual(2e-3);
      }
      // The LoRA changes the model (else the second half would prove nothing).
      expect(maxAbsDiff(adapted.flat(), base.flat())).toBeGreaterThan(1e-2);
    });

    it('GRPO loss and every LoRA gradient equal PyTorch (allclose rtol 2e-2, atol 1e-4)', async () => {
      const adapter = goldenAdapter(model);
      const { advantages, epsilon, beta, entropy_coef: entropyCoef } = golden.grpo;
      const groups: PromptGroup[] = prompts.map((promptEmbeds, p) => ({
        promptEmbeds,
        completions: golden.completions.flatMap((c, j) =>
          c.prompt === p ? [{ tokens: c.token_ids, advantage: advantages[j] as number }] : [],
        ),
      }));
      const { grads, sums } = await grpoGradients(model, adapter, groups, {
        epsilon,
        beta,
        entropyCoef,
        lossType: 'token_mean',
        microBatchSize: 2,
      });
      tree.dispose(adapter.params);
      expect(sums.loss).toBeCloseTo(golden.grpo.loss, 5);
      expect(sums.pgLoss).toBeCloseTo(golden.grpo.pg_loss, 5);
      expect(sums.kl).toBeCloseTo(golden.grpo.kl, 5);
      expect(sums.entropy).toBeCloseTo(golden.grpo.entropy, 4);
      // exportLoraTensors names the gradient tree as PEFT names the adapter it belongs to.
      const named = await exportLoraTensors(model, grads as LoraParams);
      tree.dispose(grads);
      const outside: string[] = [];
      for (const t of named) {
        const excess = allcloseExcess(t.data, goldenTensor(`grad.${t.name}`), 2e-2, 1e-4);
        if (excess > 0) outside.push(`${t.name} by ${excess.toExponential(2)}`);
      }
      expect(outside).toEqual([]);
      expect(named).toHaveLength(2 * PROJECTIONS.length * model.config.numLayers);
    });

    it('a fresh adapter (B = 0) gives the base model: bit for bit eagerly, ≤ 1e-5 compiled', async () => {
      const adapter: Adapter = {
        config: loraConfig,
        params: initLora(model.config, loraConfig, 7),
      };
      const base = await promptLogits(0, null);
      expect(Array.from(await promptLogits(0, adapter))).toEqual(Array.from(base));
      // Compiled, the LoRA branch shares the normed input with the frozen matmul, so Wasm's
      // kernels may fuse (and round) differently: equal to f32 rounding, not bit for bit.
      const adapted = await goldenLogprobs(adapter);
      const plain = await goldenLogprobs(null);
      expect(maxAbsDiff(adapted.flat(), plain.flat())).toBeLessThanOrEqual(1e-5);
      tree.dispose(adapter.params);
    });
  });
}
