// Shared fixtures for the engine tests: a tiny config and host copies of engine arrays.
import { numpy as np, tree } from '@jax-js/jax';
import type { DecoderWeights, LoraParams } from '../../src/engine/decoder';
import { initLora } from '../../src/engine/lora';
import type { TextModel } from '../../src/engine/model';
import { dequantize, type Weight } from '../../src/engine/quant';
import { randomWeights } from '../../src/engine/weights';
import { DEFAULT_LORA_SETTINGS, type LoraSettings } from '../../src/layout/loraSettings';
import type { TextConfig } from '../../src/layout/textConfig';
import { PROJECTIONS } from '../../src/layout/textLayout';
import type { Matrix, RefLayer, RefLora, RefWeights } from './reference';

/** 2 layers, 4 heads over 2 KV heads (GQA), head_dim 8, vocab 48: milliseconds per call. */
export function tinyConfig(overrides: Partial<TextConfig> = {}): TextConfig {
  return {
    vocabSize: 48,
    hiddenSize: 32,
    intermediateSize: 48,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    attentionBias: false,
    tieWordEmbeddings: false,
    eosTokenIds: [1],
    imageTokenId: 47,
    ...overrides,
  };
}

/** Host float64 copy of an array; does not consume it. */
export async function host(x: np.Array): Promise<Float64Array> {
  return Float64Array.from(await x.ref.data());
}

async function matrix(x: np.Array): Promise<Matrix> {
  return { rows: x.shape[0] as number, cols: x.shape[1] as number, data: await host(x) };
}

/** A weight as the float32 matrix its codes stand for (quantised or not); does not consume it. */
async function dequantizedMatrix(w: Weight): Promise<Matrix> {
  const weight = dequantize(tree.ref(w));
  const m = await matrix(weight);
  weight.dispose();
  return m;
}

export async function toRefWeights(w: DecoderWeights): Promise<RefWeights> {
  const layers: RefLayer[] = [];
  for (const l of w.layers) {
    const layer = {
      inputNorm: await host(l.inputNorm),
      postNorm: await host(l.postNorm),
    } as RefLayer;
    for (const p of PROJECTIONS) layer[p] = await dequantizedMatrix(l[p]);
    if (l.qBias && l.kBias && l.vBias) {
      layer.bias = { q: await host(l.qBias), k: await host(l.kBias), v: await host(l.vBias) };
    }
    layers.push(layer);
  }
  return {
    embed: await dequantizedMatrix(w.embed),
    layers,
    norm: await host(w.norm),
    lmHead: await dequantizedMatrix(w.lmHead ?? w.embed),
  };
}

export async function toRefLora(lora: LoraParams, scale: number): Promise<RefLora> {
  const layers: RefLora['layers'] = [];
  for (const l of lora.layers) {
    const layer: RefLora['layers'][number] = {};
    for (const p of PROJECTIONS) {
      const pair = l[p];
      if (pair) layer[p] = { a: await matrix(pair.a), b: await matrix(pair.b) };
    }
    layers.push(layer);
  }
  return { scale, layers };
}

/** Rows of a [T, D] host matrix. */
export function rowsOf(data: Float64Array, cols: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < data.length; i += cols) out.push(data.slice(i, i + cols));
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/**
 * A seeded LoRA whose every B is `scale` · wave(0, 1, 2, …) instead of PEFT's zeros, so that the
 * adapter changes the model's outputs and every gradient is non-zero.
 */
export function loraWithNonZeroB(
  config: TextConfig,
  lora: LoraSettings,
  seed: number,
  scale: number,
  wave: (x: np.Array) => np.Array = np.sin,
): LoraParams {
  const params = initLora(config, lora, seed);
  for (const layer of params.layers) {
    for (const pair of Object.values(layer)) {
      const b = pair.b;
      pair.b = wave(np.arange(b.size).reshape(b.shape).astype(np.float32)).mul(scale);
      b.dispose();
    }
  }
  return params;
}

/**
 * The finite-difference checks' fixture (float64, for the `cpu` device): a tiny model and a LoRA
 * on it whose B matrices are `fillB` of their element indices instead of PEFT's zeros, so that
 * every A gets a gradient too.
 */
export function float64Fixture(
  modelSeed: number,
  loraSeed: number,
  fillB: (indices: np.Array) => np.Array,
) {
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
    weights: randomWeights(config, modelSeed, { dtype: f64, std: 0.5 }),
    textPrefix: 'model.',
    format: 'f32',
  };
  const loraConfig = { ...DEFAULT_LORA_SETTINGS, r: 2, lora_alpha: 4 };
  const params = initLora(config, loraConfig, loraSeed, { dtype: f64 });
  for (const layer of params.layers) {
    for (const pair of Object.values(layer)) {
      const b = pair.b;
      pair.b = fillB(np.arange(b.size).reshape(b.shape).astype(f64)).mul(0.5);
      b.dispose();
    }
  }
  return { config, model, loraConfig, params };
}

/** PyTorch gradcheck's defaults. */
export const GRADCHECK = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 } as const;

/**
 * Central differences (GRADCHECK.eps) of `lossAt` in the elements `pick` chooses of every leaf of
 * `params` (float64), beside the same elements of `grads`.
 */
export async function centralDifferences(
  params: LoraParams,
  grads: LoraParams,
  pick: (leaf: number, size: number) => number[],
  lossAt: (p: LoraParams) => Promise<number>,
): Promise<{ leaf: number; element: number; analytic: number; numeric: number }[]> {
  const [leaves, def] = tree.flatten(params) as [np.Array[], tree.JsTreeDef];
  const gradLeaves = tree.leaves(grads) as np.Array[];
  const out = [];
  for (const [i, leaf] of leaves.entries()) {
    const base = await host(leaf);
    const analytic = await host(gradLeaves[i] as np.Array);
    for (const k of new Set(pick(i, base.length))) {
      const shifted = async (delta: number) => {
        const data = Float64Array.from(base);
        data[k] = (data[k] as number) + delta;
        const others = leaves.map((x, j) =>
          j === i ? np.array(data, { dtype: np.float64 }).reshape(x.shape) : x.ref,
        );
        const p = tree.unflatten(def, others) as LoraParams;
        const loss = await lossAt(p);
        tree.dispose(p);
        return loss;
      };
      const numeric =
        ((await shifted(GRADCHECK.eps)) - (await shifted(-GRADCHECK.eps))) / (2 * GRADCHECK.eps);
      out.push({ leaf: i, element: k, analytic: analytic[k] as number, numeric });
    }
  }
  return out;
}
