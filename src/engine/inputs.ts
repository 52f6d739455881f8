// Host-side preparation of what the traced decoder functions take: RoPE tables (computed here in
// float64 because SwiftShader's sin/cos of large arguments are imprecise), additive attention
// masks, and token embeddings with image features spliced in. Lengths are padded to buckets so
// that jit compiles a handful of shapes, not one per prompt or completion length.
import type { Device } from '@jax-js/jax';
import { numpy as np, tree } from '@jax-js/jax';
import type { TextConfig } from '../layout/textConfig';
import type { DecodeInputs, PrefixInputs, RowInputs } from './decoder';
import { MASKED } from './decoder';
import { embedRows, type Weight, weightDevice } from './quant';

export type Placement = { dtype?: np.DType; device?: Device };

/** Smallest multiple of `step` ≥ n. */
export function bucket(n: number, step: number): number {
  return Math.max(step, Math.ceil(n / step) * step);
}

function hostArray(values: number[] | Float64Array, shape: number[], at: Placement): np.Array {
  const dtype = at.dtype ?? np.float32;
  const data = dtype === np.float64 ? Float64Array.from(values) : Float32Array.from(values);
  return np.array(data, { dtype, device: at.device }).reshape(shape);
}

/**
 * RoPE tables [T, headDim] of HF llama (angle = position · theta^(-2i/headDim), i < headDim/2),
 * laid out for applyRope: cos = [cos, cos] and sin = [−sin, sin] along the last axis.
 */
export function ropeTables(
  positions: number[],
  config: Pick<TextConfig, 'headDim' | 'ropeTheta'>,
  at: Placement,
): { cos: np.Array; sin: np.Array } {
  const dim = config.headDim;
  const half = dim / 2;
  const cos = new Float64Array(positions.length * dim);
  const sin = new Float64Array(positions.length * dim);
  positions.forEach((pos, t) => {
    for (let i = 0; i < half; i++) {
      const angle = pos * config.ropeTheta ** ((-2 * i) / dim);
      cos[t * dim + i] = Math.cos(angle);
      cos[t * dim + half + i] = Math.cos(angle);
      sin[t * dim + i] = -Math.sin(angle);
      sin[t * dim + half + i] = Math.sin(angle);
    }
  });
  const shape = [positions.length, dim];
  return { cos: hostArray(cos, shape, at), sin: hostArray(sin, shape, at) };
}

function range(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + i);
}

/** [rows, cols] bias: 0 where key j is visible to query i (j ≤ i + shift and j < validKeys). */
function causalBias(rows: number, cols: number, validKeys: number, at: Placement): np.Array {
  const b = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) b[i * cols + j] = j <= i && j < validKeys ? 0 : MASKED;
  }
  return hostArray(b, [rows, cols], at);
}

/** [n] bias: 0 for the first `valid` keys, MASKED after. */
export function keyBias(n: number, valid: number, at: Placement): np.Array {
  return hostArray(
    range(0, n).map((j) => (j < valid ? 0 : MASKED)),
    [n],
    at,
  );
}

/**
 * Pads a prompt's embeddings [1, P, D] on the right to `padded` positions. Consumes `embeds`.
 * Padding rows are zeros: they are never visible as keys (keyBias) and their outputs are unused.
 */
export function padPositions(embeds: np.Array, padded: number): np.Array {
  const [rows, len, dim] = embeds.shape as [number, number, number];
  if (len === padded) return embeds;
  const zeros = np.zeros([rows, padded - len, dim], { dtype: embeds.dtype, device: embeds.device });
  return np.concatenate([embeds, zeros], 1);
}

/** The shared prompt: `length` real positions (0..length-1), padded to embeds' length. */
export function prefixInputs(
  embeds: np.Array,
  length: number,
  config: TextConfig,
  at: Placement,
): PrefixInputs {
  const padded = embeds.shape[1] as number;
  return {
    embeds,
    ...ropeTables(range(0, padded), config, at),
    bias: causalBias(padded, padded, length, at),
  };
}

/** Rows of `L` tokens at positions start..start+L-1 after a prompt of `prefixLength` real keys. */
export function rowInputs(
  embeds: np.Array,
  start: number,
  prefixPadded: number,
  prefixLength: number,
  config: TextConfig,
  at: Placement,
): RowInputs {
  const len = embeds.shape[1] as number;
  return {
    embeds,
    ...ropeTables(range(start, len), config, at),
    prefixBias: keyBias(prefixPadded, prefixLength, at),
    selfBias: causalBias(len, len, len, at),
  };
}

/** Decode step `step` (0-based): each row's token sits at position start + step, cache slot `step`. */
export function decodeInputs(
  tokens: number[],
  start: number,
  step: number,
  cacheSize: number,
  prefixPadded: number,
  prefixLength: number,
  config: TextConfig,
  at: Placement,
): DecodeInputs {
  const slot = np
    .array(
      range(0, cacheSize).map((j) => j === step),
      { dtype: np.bool, device: at.device },
    )
    .reshape([cacheSize, 1]);
  return {
    tokens: np.array(tokens, { dtype: np.int32, device: at.device }),
    ...ropeTables([start + step], config, at),
    prefixBias: keyBias(prefixPadded, prefixLength, at),
    slot,
    cacheBias: keyBias(cacheSize, step + 1, at),
  };
}

/**
 * Embeddings [1, T, D] of a prompt's token ids, with image features [K, D] replacing the K
 * `<image>` tokens in order (as transformers.js' SmolVLM / Idefics3 does). Consumes `features`;
 * does not consume `embedTable`.
 */
export function embedPrompt(
  embedTable: Weight,
  inputIds: number[],
  imageTokenId: number | null,
  features: np.Array | null,
): np.Array {
  const device = weightDevice(embedTable);
  const ids = np.array(inputIds, { dtype: np.int32, device });
  const tokens = embedRows(tree.ref(embedTable), ids);
  const imagePositions = inputIds.flatMap((id, t) => (id === imageTokenId ? [t] : []));
  if (!features) {
    if (imagePositions.length > 0)
      throw new Error('prompt has <image> tokens but no image features');
    return tokens.reshape([1, inputIds.length, -1]);
  }
  const count = features.shape[0] as number;
  if (imagePositions.length !== count) {
    throw new Error(
      `prompt has ${imagePositions.length} <image> tokens but ${count} image features`,
    );
  }
  const rowOf = new Array<number>(inputIds.length).fill(0);
  imagePositions.forEach((t, k) => {
    rowOf[t] = k;
  });
  const spread = np.take(features, np.array(rowOf, { dtype: np.int32, device }), 0);
  const isImage = np
    .array(
      inputIds.map((id) => id === imageTokenId),
      { dtype: np.bool, device },
    )
    .reshape([-1, 1]);
  return np.where(isImage, spread, tokens).reshape([1, inputIds.length, -1]);
}

/** Embeddings [rows, L, D] of token ids (rows of equal length L). Does not consume `embedTable`. */
export function embedTokens(embedTable: Weight, rows: number[][]): np.Array {
  const len = rows[0]?.length ?? 0;
  const ids = np.array(rows.flat(), { dtype: np.int32, device: weightDevice(embedTable) });
  return embedRows(tree.ref(embedTable), ids).reshape([rows.length, len, -1]);
}
