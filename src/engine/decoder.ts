// A Llama-family decoder (llama / SmolLM2, Qwen2 flags) as pure jax-js functions.
//
// Every function takes ownership of the arrays it is given (jax-js reference counting): callers
// pass `x.ref` / `tree.ref(t)` for anything they use again. Weights keep the Hugging Face layout
// ([out, in]); `linear` multiplies by the transposed view, which jax-js fuses for free.
//
// Attention is written over *blocks* of keys so that one code path serves three uses:
//  - prefill:  a prompt attends causally to itself            (one block: the prompt)
//  - extend:   B rows attend to a shared prompt and themselves  (prompt block + causal row block)
//  - decode:   B rows of one token attend to the shared prompt and their fixed-size cache.
// The shared prompt is computed once and broadcast over rows, never copied B times.
// Masks are additive biases (0 or MASKED) computed on the host, so nothing recompiles when a
// length or a decode position changes.
import { lax, nn, numpy as np, tree } from '@jax-js/jax';
import type { TextConfig } from '../layout/textConfig';
import type { Projection } from '../layout/textLayout';
import { dequantize, type Weight } from './quant';

/** One layer; the projections float32 [out, in] or quantised (./quant.ts). */
export type LayerWeights = {
  inputNorm: np.Array;
  q: Weight;
  k: Weight;
  v: Weight;
  o: Weight;
  qBias?: np.Array;
  kBias?: np.Array;
  vBias?: np.Array;
  postNorm: np.Array;
  gate: Weight;
  up: Weight;
  down: Weight;
};

/** The frozen text model. `lmHead` is absent when it is tied to `embed`; both may be quantised. */
export type DecoderWeights = {
  embed: Weight;
  layers: LayerWeights[];
  norm: np.Array;
  lmHead?: Weight;
};

/** One LoRA pair in PEFT's layout: a = lora_A [r, in], b = lora_B [out, r]. */
export type LoraPair = { a: np.Array; b: np.Array };
export type LayerLora = Partial<Record<Projection, LoraPair>>;
/** The trainable adapter: a tree beside the frozen weights (null = adapter off). */
export type LoraParams = { layers: LayerLora[] };

/** What the traced functions need besides arrays: shapes and the LoRA scale (alpha / r). */
export type ModelSpec = { config: TextConfig; loraScale: number };

/** Additive bias for masked attention scores: exp underflows to exactly 0, no inf arithmetic. */
export const MASKED = -1e9;

/** Keys and values of one layer: [rows, kvHeads, positions, headDim]. */
export type LayerKV = { k: np.Array; v: np.Array };

/** The shared prompt: embeddings, RoPE tables of its positions, and its causal+padding bias. */
export type PrefixInputs = {
  embeds: np.Array; // [1, P, D] (P may include right padding)
  cos: np.Array; // [P, headDim]: RoPE tables as ropeTables makes them
  sin: np.Array;
  bias: np.Array; // [P, P]
};

/** B rows continuing the prompt, teacher-forced: all their tokens at once. */
export type RowInputs = {
  embeds: np.Array; // [B, L, D]
  cos: np.Array; // [L, headDim]
  sin: np.Array;
  prefixBias: np.Array; // [P]: masks the prompt's padding
  selfBias: np.Array; // [L, L]: causal
};

/** One decode step for B rows: the new token of each row, written at one cache slot. */
export type DecodeInputs = {
  tokens: np.Array; // int32 [B]: looked up in the embedding inside the step, not by the host
  cos: np.Array; // [1, headDim]
  sin: np.Array;
  prefixBias: np.Array; // [P]
  slot: np.Array; // bool [S, 1]: the cache slot this step writes
  cacheBias: np.Array; // [S]: slots written so far (this one included) are visible
};

export function rmsNorm(x: np.Array, weight: np.Array, eps: number): np.Array {
  const meanSquare = np.square(x.ref).mean(-1, { keepdims: true });
  return x.mul(np.reciprocal(np.sqrt(meanSquare.add(eps)))).mul(weight);
}

/**
 * y = x Wᵀ (+ bias) (+ scale · (x Aᵀ) Bᵀ): the frozen projection plus its LoRA update. A quantised
 * W is dequantised to float32 here, inside the traced function (docs/decisions/0025-quantised-text-weights.md measures what
 * that costs).
 */
export function linear(
  x: np.Array,
  weight: Weight,
  bias: np.Array | undefined,
  lora: LoraPair | undefined,
  loraScale: number,
): np.Array {
  let y = np.matmul(lora ? x.ref : x, dequantize(weight).transpose());
  if (bias) y = y.add(bias);
  if (lora) {
    const down = np.matmul(x, lora.a.transpose());
    y = y.add(np.matmul(down, lora.b.transpose()).mul(loraScale));
  }
  return y;
}

function sliceLastAxis(x: np.Array, start: number, stop: number): np.Array {
  const keep: [][] = [];
  for (let axis = 0; axis < x.ndim - 1; axis++) keep.push([]);
  return x.slice(...keep, [start, stop]);
}

/**
 * HF llama RoPE (rotate_half form) on x [..., T, headDim] with host tables [T, headDim] (see
 * ropeTables): x · [cos, cos] + [x2, x1] · [−sin, sin]. Every slice of x is read once, so jax-js
 * fuses this into the kernel that consumes it instead of materialising x1, x2 and both halves
 * (5 kernels per call before); the products and sums are those of HF's form, bit for bit.
 */
export function applyRope(x: np.Array, cos: np.Array, signedSin: np.Array): np.Array {
  const half = (x.shape.at(-1) as number) / 2;
  const swapped = np.concatenate(
    [sliceLastAxis(x.ref, half, 2 * half), sliceLastAxis(x.ref, 0, half)],
    -1,
  );
  return x.mul(cos).add(swapped.mul(signedSin));
}

type KeyBlock = { k: np.Array; v: np.Array; bias: np.Array };

/**
 * Grouped-query attention over blocks of keys. q: [B, Hkv, G, L, hd]; each block's k, v:
 * [b, Hkv, S, hd] (b = B or 1, broadcast), bias broadcastable to [L, S]. Returns [B, Hkv, G, L, hd].
 */
function attendBlocks(q: np.Array, blocks: KeyBlock[]): np.Array {
  const headDim = q.shape.at(-1) as number;
  const scale = 1 / Math.sqrt(headDim);
  const scores = blocks.map((b, i) => {
    const k = np.expandDims(b.k, 2).transpose([0, 1, 2, 4, 3]);
    const qi = i === blocks.length - 1 ? q : q.ref;
    return np.matmul(qi, k).mul(scale).add(b.bias);
  });
  const s = scores.length === 1 ? (scores[0] as np.Array) : np.concatenate(scores, -1);
  const m = lax.stopGradient(s.ref.max(-1, { keepdims: true }));
  const e = np.exp(s.sub(m));
  const total = e.ref.sum(-1, { keepdims: true });
  // Softmax normalisation after the value products: one division of [.., L, hd] instead of one
  // pass over every score [.., L, S] (a kernel per layer fewer in decode).
  let out: np.Array | null = null;
  let offset = 0;
  blocks.forEach((b, i) => {
    const size = b.v.shape[2] as number;
    const ei = i === blocks.length - 1 ? e : e.ref;
    const eb = blocks.length === 1 ? ei : sliceLastAxis(ei, offset, offset + size);
    const o = np.matmul(eb, np.expandDims(b.v, 2));
    out = out ? out.add(o) : o;
    offset += size;
  });
  return (out as unknown as np.Array).div(total);
}

type Projected = { q: np.Array; k: np.Array; v: np.Array };

/** q, k, v of x [B, L, D] with RoPE: q [B, Hkv, G, L, hd], k and v [B, Hkv, L, hd]. */
function projectQkv(
  spec: ModelSpec,
  w: LayerWeights,
  lora: LayerLora | undefined,
  x: np.Array,
  cos: np.Array,
  sin: np.Array,
): Projected {
  const { numHeads, numKvHeads, headDim } = spec.config;
  const [batch, len] = x.shape as [number, number, number];
  const groups = numHeads / numKvHeads;
  const s = spec.loraScale;
  const q = linear(x.ref, w.q, w.qBias, lora?.q, s)
    .reshape([batch, len, numKvHeads, groups, headDim])
    .transpose([0, 2, 3, 1, 4]);
  const k = linear(x.ref, w.k, w.kBias, lora?.k, s)
    .reshape([batch, len, numKvHeads, headDim])
    .transpose([0, 2, 1, 3]);
  const v = linear(x, w.v, w.vBias, lora?.v, s)
    .reshape([batch, len, numKvHeads, headDim])
    .transpose([0, 2, 1, 3]);
  return { q: applyRope(q, cos.ref, sin.ref), k: applyRope(k, cos, sin), v };
}

/** Attention output [B, Hkv, G, L, hd] → o_proj, then the residual MLP block. */
function finishLayer(
  spec: ModelSpec,
  w: LayerWeights,
  lora: LayerLora | undefined,
  residual: np.Array,
  attn: np.Array,
): np.Array {
  const [batch, , , len] = attn.shape as [number, number, number, number, number];
  const { numHeads, headDim, rmsNormEps } = spec.config;
  const s = spec.loraScale;
  const merged = attn.transpose([0, 3, 1, 2, 4]).reshape([batch, len, numHeads * headDim]);
  const h = residual.add(linear(merged, w.o, undefined, lora?.o, s));
  const normed = rmsNorm(h.ref, w.postNorm, rmsNormEps);
  const gate = nn.silu(linear(normed.ref, w.gate, undefined, lora?.gate, s));
  const up = linear(normed, w.up, undefined, lora?.up, s);
  return h.add(linear(gate.mul(up), w.down, undefined, lora?.down, s));
}

/** What a prompt's layers need besides its hidden states: RoPE tables and the causal bias. */
export type PrefixTables = Omit<PrefixInputs, 'embeds'>;
/** What teacher-forced rows' layers need besides their hidden states. */
export type RowTables = Omit<RowInputs, 'embeds'>;
/** What a decode step's layers need besides the new tokens' hidden states. */
export type DecodeTables = Omit<DecodeInputs, 'tokens'>;

/**
 * Consecutive layers on hidden states `x`. The three modes differ only in what a layer's queries
 * attend to: `attend(i, q, k, v)` takes the i-th layer's (of `layers`) new queries, keys and
 * values (owned) and returns the attention output. Consumes `x`, `layers` and `lora`, borrows
 * `rope`.
 */
function throughLayers(
  spec: ModelSpec,
  layers: LayerWeights[],
  lora: LayerLora[] | null,
  x: np.Array,
  rope: { cos: np.Array; sin: np.Array },
  attend: (i: number, q: np.Array, k: np.Array, v: np.Array) => np.Array,
): np.Array {
  const eps = spec.config.rmsNormEps;
  layers.forEach((w, i) => {
    const normed = rmsNorm(x.ref, w.inputNorm, eps);
    const { q, k, v } = projectQkv(spec, w, lora?.[i], normed, rope.cos.ref, rope.sin.ref);
    x = finishLayer(spec, w, lora?.[i], x, attend(i, q, k, v));
  });
  return x;
}

/**
 * A prompt through consecutive layers, causally: its hidden states [1, P, D] after them (before
 * the final norm) and each layer's keys and values (the prompt's KV cache). Consumes everything.
 */
export function prefillLayers(
  spec: ModelSpec,
  layers: LayerWeights[],
  lora: LayerLora[] | null,
  x: np.Array,
  tables: PrefixTables,
): { x: np.Array; kv: LayerKV[] } {
  const kv: LayerKV[] = [];
  const out = throughLayers(spec, layers, lora, x, tables, (_, q, k, v) => {
    kv.push({ k: k.ref, v: v.ref });
    return attendBlocks(q, [{ k, v, bias: tables.bias.ref }]);
  });
  tree.dispose(tables);
  return { x: out, kv };
}

/**
 * B rows after a shared prompt through consecutive layers, teacher-forced: each row attends to
 * the prompt's keys (`prefixKV` of the same layers, broadcast over rows) and causally to itself.
 * Returns hidden states [B, L, D] before the final norm. Consumes everything.
 */
export function extendLayers(
  spec: ModelSpec,
  layers: LayerWeights[],
  lora: LayerLora[] | null,
  prefixKV: LayerKV[],
  x: np.Array,
  tables: RowTables,
): np.Array {
  const out = throughLayers(spec, layers, lora, x, tables, (i, q, k, v) =>
    attendBlocks(q, [
      { ...(prefixKV[i] as LayerKV), bias: tables.prefixBias.ref },
      { k, v, bias: tables.selfBias.ref },
    ]),
  );
  tree.dispose(tables);
  return out;
}

/**
 * One decode step through consecutive layers: each row's new token is written into its
 * fixed-size cache at `slot`, then attends to the prompt and to the cache slots written so far.
 * Shapes never change between steps, so this compiles once. Returns hidden states [B, 1, D]
 * before the final norm and the updated cache of these layers. Consumes everything.
 */
export function decodeLayers(
  spec: ModelSpec,
  layers: LayerWeights[],
  lora: LayerLora[] | null,
  prefixKV: LayerKV[],
  cache: LayerKV[],
  x: np.Array,
  tables: DecodeTables,
): { x: np.Array; cache: LayerKV[] } {
  const newCache: LayerKV[] = [];
  const out = throughLayers(spec, layers, lora, x, tables, (i, q, k, v) => {
    const old = cache[i] as LayerKV;
    const kc = np.where(tables.slot.ref, k, old.k);
    const vc = np.where(tables.slot.ref, v, old.v);
    newCache.push({ k: kc.ref, v: vc.ref });
    return attendBlocks(q, [
      { ...(prefixKV[i] as LayerKV), bias: tables.prefixBias.ref },
      { k: kc, v: vc, bias: tables.cacheBias.ref },
    ]);
  });
  tree.dispose(tables);
  return { x: out, cache: newCache };
}

/**
 * The prompt through every layer and the final norm, as one traced function: its final hidden
 * states [1, P, D] and every layer's keys and values. The engine runs the layers in compiled
 * groups instead (./programs.ts); this is the whole model in one piece for references and checks.
 * Consumes everything.
 */
export function prefill(
  spec: ModelSpec,
  weights: DecoderWeights,
  lora: LoraParams | null,
  input: PrefixInputs,
): { hidden: np.Array; kv: LayerKV[] } {
  const { embeds, ...tables } = input;
  const { x, kv } = prefillLayers(spec, weights.layers, lora?.layers ?? null, embeds, tables);
  tree.dispose([weights.embed, weights.lmHead]);
  return { hidden: rmsNorm(x, weights.norm, spec.config.rmsNormEps), kv };
}

/** The output projection as float32 [V, D]: lm_head, or the embedding when tied (dequantised
 * when stored quantised). Consumes `weights`. */
export function headMatrix(weights: Pick<DecoderWeights, 'embed' | 'lmHead'>): np.Array {
  if (weights.lmHead) {
    tree.dispose(weights.embed);
    return dequantize(weights.lmHead);
  }
  return dequantize(weights.embed);
}

/** Full logits [..., V] of hidden states [..., D] (decode and golden tests; training uses head.ts). */
export function logits(hidden: np.Array, head: np.Array): np.Array {
  return np.matmul(hidden, head.transpose());
}
