// Quantised text weights (src/engine/quant.ts) against two oracles: PyTorch running the demo model
// with the same codes dequantised in Python (tools/demo-model/quantized_reference.py, a port of the
// quantiser checked code for code by a hash), and the float32 engine (logits, the GRPO gradient of
// the LoRA, and greedy answers on the 24 reference prompts). On Wasm and on WebGPU (SwiftShader).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RawImage } from '@huggingface/transformers';
import { defaultDevice, init, numpy as np, tree } from '@jax-js/jax';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headMatrix, logits, prefill } from '../../src/engine/decoder';
import { embedPrompt, prefixInputs } from '../../src/engine/inputs';
import { exportLoraTensors, importLoraTensors } from '../../src/engine/lora';
import type { Adapter, TextModel } from '../../src/engine/model';
import { disposeModel, specOf } from '../../src/engine/model';
import {
  dequantize,
  dequantizeHost,
  Q4_BLOCK,
  quantizeHost,
  tableFormat,
  type WeightFormat,
  weightBytes,
} from '../../src/engine/quant';
import { sample } from '../../src/engine/sampling';
import type { PromptGroup } from '../../src/engine/train';
import { grpoGradients } from '../../src/engine/train';
import { loadTextModel } from '../../src/engine/weights';
import { decodeTensorToFloat32, parseSafetensors } from '../../src/formats/safetensors';
import { PROJECTIONS } from '../../src/layout/textLayout';
import { preparePrompt } from '../../src/vlm/visionLanguageModel';
import { openNodeApp } from '../../tools/lib/node-app';
import { REPO_ROOT } from '../../tools/lib/repo-root';
import { host, maxAbsDiff } from './helpers';

const MODEL_DIR = path.join(REPO_ROOT, 'public/models/ttrv-demo-shapes');
const GOLDEN_DIR = path.join(REPO_ROOT, 'tests/fixtures/golden');
const hubConfig = JSON.parse(readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8'));
const file = new Uint8Array(readFileSync(path.join(MODEL_DIR, 'model.safetensors')));
const fileTensors = new Map(
  parseSafetensors(file).tensors.map((t) => [
    t.name,
    { shape: t.shape as [number, number], data: decodeTensorToFloat32(t.dtype, t.data) },
  ]),
);
const golden = JSON.parse(readFileSync(path.join(GOLDEN_DIR, 'golden.json'), 'utf8')) as {
  prompts: { input_ids: number[] }[];
  completions: { prompt: number; token_ids: number[] }[];
  lora: { r: number; lora_alpha: number; target_modules: Adapter['config']['target_modules'] };
  grpo: { advantages: number[]; epsilon: number; beta: number; entropy_coef: number };
};
const goldenTensors = new Map(
  parseSafetensors(
    new Uint8Array(readFileSync(path.join(GOLDEN_DIR, 'golden.safetensors'))),
  ).tensors.map((t) => [t.name, decodeTensorToFloat32(t.dtype, t.data)]),
);
const QUANTIZED = ['q8', 'q4'] as const;

/** The decoder projections of the file, in layer order q k v o gate up down. */
function projectionNames(layers: number): string[] {
  const module = {
    q: 'self_attn.q_proj',
    k: 'self_attn.k_proj',
    v: 'self_attn.v_proj',
    o: 'self_attn.o_proj',
    gate: 'mlp.gate_proj',
    up: 'mlp.up_proj',
    down: 'mlp.down_proj',
  };
  return Array.from({ length: layers }, (_, i) =>
    PROJECTIONS.map((p) => `model.text_model.layers.${i}.${module[p]}.weight`),
  ).flat();
}

/** PyTorch's reference for one format (run once per format). */
const references = new Map<string, { codes_sha256: string; logits: number[][] }>();
function pytorchReference(format: 'q8' | 'q4') {
  const cached = references.get(format);
  if (cached) return cached;
  const dir = mkdtempSync(path.join(tmpdir(), 'ttrv-quant-'));
  try {
    const out = path.join(dir, 'reference.json');
    execFileSync(
      '/usr/bin/python3',
      ['tools/demo-model/quantized_reference.py', format, out, REPO_ROOT],
      {
        env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
      },
    );
    const reference = JSON.parse(readFileSync(out, 'utf8'));
    references.set(format, reference);
    return reference;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] as number) * (b[i] as number);
    aa += (a[i] as number) ** 2;
    bb += (b[i] as number) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('quantisation on the host', () => {
  const rows = 6;
  const cols = 64;
  const data = Float32Array.from(
    { length: rows * cols },
    (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)),
  );

  it('q8: every weight within half a step of its row scale; q4 within half a step of its block', () => {
    for (const format of QUANTIZED) {
      const q = quantizeHost(data, rows, cols, format);
      const back = dequantizeHost(q);
      for (let i = 0; i < data.length; i++) {
        const step =
          q.format === 'q8'
            ? (q.scale[Math.floor(i / cols)] as number)
            : (q.scale[Math.floor(i / Q4_BLOCK)] as number);
        expect(Math.abs((back[i] as number) - (data[i] as number))).toBeLessThanOrEqual(
          step / 2 + 1e-6,
        );
      }
      expect(q.words.length).toBe((rows * cols) / (format === 'q8' ? 4 : 8));
    }
  });

  it('refuses an input dimension it cannot pack, naming what to load instead', () => {
    expect(() => quantizeHost(new Float32Array(2 * 40), 2, 40, 'q4')).toThrow(
      'q4 needs an input dimension that is a multiple of 32, got 40: load this model as f32 or q8',
    );
  });
});

for (const device of ['wasm', 'webgpu'] as const) {
  describe(`the demo model quantised (${device})`, () => {
    const models = new Map<WeightFormat, TextModel>();
    const prompts = new Map<WeightFormat, np.Array[]>();

    beforeAll(async () => {
      expect(await init(device)).toContain(device);
      defaultDevice(device);
      for (const format of ['f32', ...QUANTIZED] as const) {
        models.set(
          format,
          await loadTextModel(hubConfig, async (s, e) => file.subarray(s, e), { format }),
        );
      }
      // Each model embeds the golden prompts with its own (possibly quantised) embedding.
      for (const [format, m] of models) {
        prompts.set(
          format,
          golden.prompts.map((p, i) => {
            const features = goldenTensors.get(`prompt.${i}.image_features`) as Float32Array;
            const k = p.input_ids.filter((id) => id === m.config.imageTokenId).length;
            const feats = np.array(features).reshape([k, features.length / k]);
            return embedPrompt(m.weights.embed, p.input_ids, m.config.imageTokenId, feats);
          }),
        );
      }
    });

    afterAll(() => {
      tree.dispose([...prompts.values()]);
      for (const model of models.values()) disposeModel(model);
      defaultDevice('wasm');
    });

    const model = (format: WeightFormat) => models.get(format) as TextModel;

    async function promptLogits(format: WeightFormat, i: number): Promise<Float64Array> {
      const m = model(format);
      const prompt = prompts.get(format)?.[i];
      if (!prompt) throw new Error(`no golden prompt ${i} for ${format}`);
      const embeds = prompt.ref;
      const input = prefixInputs(embeds, embeds.shape[1] as number, m.config, {});
      const head = headMatrix(tree.ref({ embed: m.weights.embed, lmHead: m.weights.lmHead }));
      const { hidden, kv } = prefill(specOf(m, null), tree.ref(m.weights), null, input);
      tree.dispose(kv);
      return host(logits(hidden, head));
    }

    it('dequantises on the device exactly as the host does, and stores q8 in ≤ 26 %, q4 in ≤ 19 % of the bytes (f32 scales)', async () => {
      const name = projectionNames(1)[4] as string; // layer 0 gate_proj
      const { shape, data } = fileTensors.get(name) as {
        shape: [number, number];
        data: Float32Array;
      };
      for (const format of QUANTIZED) {
        const w = model(format).weights.layers[0]?.gate;
        if (!w) throw new Error('no gate projection');
        const onDevice = await dequantize(tree.ref(w)).data();
        expect(Array.from(onDevice)).toEqual(
          Array.from(dequantizeHost(quantizeHost(data, ...shape, format))),
        );
        expect(weightBytes(w) / (shape[0] * shape[1] * 4)).toBeLessThanOrEqual(
          format === 'q8' ? 0.26 : 0.19,
        );
      }
    });

    for (const format of QUANTIZED) {
      it(`${format}: the same codes as the PyTorch port, and logits equal PyTorch's on the same weights (≤ 2e-3)`, async () => {
        const reference = pytorchReference(format);
        const digest = createHash('sha256');
        const tables = ['model.text_model.embed_tokens.weight', 'lm_head.weight'];
        for (const name of [...projectionNames(model(format).config.numLayers), ...tables]) {
          const { shape, data } = fileTensors.get(name) as {
            shape: [number, number];
            data: Float32Array;
          };
          const stored = tables.includes(name) ? tableFormat(format) : format;
          digest.update(quantizeHost(data, ...shape, stored as 'q8' | 'q4').words);
        }
        expect(digest.digest('hex')).toBe(reference.codes_sha256);
        for (const i of golden.prompts.keys()) {
          expect(
            maxAbsDiff(await promptLogits(format, i), reference.logits[i] as number[]),
          ).toBeLessThanOrEqual(2e-3);
        }
      });
    }

    it('q8 stays close to f32 (logits, and the GRPO gradient of the LoRA: cosine ≥ 0.99); q4 measured', async () => {
      const report: Record<string, unknown> = {};
      for (const format of QUANTIZED) {
        let worst = 0;
        let scale = 0; // the largest |f32 logit|: the error is judged against it
        for (const i of golden.prompts.keys()) {
          const exact = await promptLogits('f32', i);
          worst = Math.max(worst, maxAbsDiff(await promptLogits(format, i), exact));
          for (const x of exact) scale = Math.max(scale, Math.abs(x));
        }
        const gradients = async (m: TextModel) => {
          const byName = new Map<string, Float32Array>();
          for (const [name, t] of goldenTensors)
            if (name.startsWith('lora.')) byName.set(name.slice(5), t);
          const config = { ...golden.lora, lora_dropout: 0 };
          const adapter: Adapter = { config, params: importLoraTensors(m, config, byName) };
          const groups: PromptGroup[] = (prompts.get(m.format) ?? []).map((promptEmbeds, p) => ({
            promptEmbeds,
            completions: golden.completions.flatMap((c, j) =>
              c.prompt === p
                ? [{ tokens: c.token_ids, advantage: golden.grpo.advantages[j] as number }]
                : [],
            ),
          }));
          const { grads } = await grpoGradients(m, adapter, groups, {
            epsilon: golden.grpo.epsilon,
            beta: golden.grpo.beta,
            entropyCoef: golden.grpo.entropy_coef,
            lossType: 'token_mean',
            microBatchSize: 2,
          });
          tree.dispose(adapter.params);
          if (!grads) throw new Error('no gradients');
          const named = await exportLoraTensors(m, grads);
          tree.dispose(grads);
          return named.flatMap((t) => Array.from(t.data));
        };
        const gradientCosine = cosine(
          await gradients(model(format)),
          await gradients(model('f32')),
        );
        report[format] = {
          max_logit_error: worst,
          largest_logit: scale,
          gradient_cosine: gradientCosine,
        };
        console.log(`quantised vs f32 on ${device}: ${JSON.stringify(report)}`);
        if (format === 'q8') {
          // Judged against the logits' scale, which differs from model to model: demo model v2
          // measured 0.15 (0.05 with the embedding and lm_head in f32), v3 0.28 of a largest
          // logit of 25.4 (1.1 %). A broken quantiser errs by the logits' own size.
          expect(worst / scale).toBeLessThanOrEqual(0.02);
          expect(gradientCosine).toBeGreaterThanOrEqual(0.99);
        } else {
          expect(gradientCosine).toBeGreaterThan(0.5);
        }
      }
    });
  });
}

/** f32's top two logits closer than this at some generated token (PyTorch's `min_logit_margin`):
 * a near tie that any rounding may flip. Demo model v4 has 7 of 24 (0.005–0.089) and q8 flips two
 * of them (0.021, 0.038); v3 had 8, and q8 happened to keep them all. */
const NEAR_TIE = 0.1;

describe('greedy answers on the 24 reference prompts, through the app path (Wasm)', () => {
  it('q8 gives every answer f32 gives where f32 is not a near tie; q4 agreement is measured', async () => {
    const reference = JSON.parse(
      readFileSync(path.join(GOLDEN_DIR, 'greedy_reference.json'), 'utf8'),
    ) as {
      max_new_tokens: number;
      items: {
        image: string;
        question: string;
        generated_ids: number[];
        min_logit_margin: number;
      }[];
    };
    const app = await openNodeApp('wasm');
    try {
      const agreement: Record<string, number> = {};
      for (const format of QUANTIZED) {
        const text = await loadTextModel(hubConfig, async (s, e) => file.subarray(s, e), {
          format,
        });
        let same = 0;
        let sameClear = 0;
        for (const item of reference.items) {
          const image = await RawImage.fromURL(
            `${app.origin}/${item.image.replace(/^public\//, '')}`,
          );
          const prompt = await preparePrompt({ ...app.vlm, text }, image, item.question);
          const { tokens } = await sample(text, null, prompt.embeds, {
            numRows: 1,
            maxNewTokens: reference.max_new_tokens,
            temperature: 0,
            seed: 0,
          });
          prompt.embeds.dispose();
          if (JSON.stringify(tokens[0]) === JSON.stringify(item.generated_ids)) {
            same++;
            if (item.min_logit_margin >= NEAR_TIE) sameClear++;
          }
        }
        disposeModel(text);
        agreement[format] = same;
        agreement[`${format}_clear`] = sameClear;
      }
      console.log(
        `greedy answers equal to f32 of ${reference.items.length}: ${JSON.stringify(agreement)}`,
      );
      expect(reference.items.length).toBeGreaterThanOrEqual(24);
      const clear = reference.items.filter((item) => item.min_logit_margin >= NEAR_TIE).length;
      expect(clear).toBeGreaterThanOrEqual(reference.items.length / 2);
      expect(agreement.q8_clear).toBe(clear);
      expect(agreement.q4).toBeGreaterThanOrEqual(reference.items.length / 2);
    } finally {
      await app.close();
    }
  });
});
