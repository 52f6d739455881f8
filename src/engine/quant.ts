// Weight-only quantisation of the frozen projections (QLoRA's recipe: the base is stored small,
// the LoRA and its optimiser stay float32). Quantised on the host while a checkpoint loads, packed
// into uint32 words on the device (jax-js has no 8- or 4-bit dtypes, but has uint32 shifts and
// masks), dequantised inside the traced functions right before each matmul.
//
//   q8: one int8 per weight, symmetric, one scale per output row (per-channel).
//   q4: one 4-bit code per weight in blocks of Q4_BLOCK along the input, each block with a scale
//       and a minimum (asymmetric, as GGUF's Q4_1): w ≈ code · scale + min, code ∈ 0..15.
// Why these (docs/decisions/0025-quantised-text-weights.md): measured error on the demo model and
// on SmolLM2-shaped weights.
import type { Device } from '@jax-js/jax';
import { numpy as np, tree } from '@jax-js/jax';

export type WeightFormat = 'f32' | 'q8' | 'q4';
export const WEIGHT_FORMATS: readonly WeightFormat[] = ['f32', 'q8', 'q4'];

/** Weights per q4 block (along the input dimension). */
export const Q4_BLOCK = 32;

/** int8 codes stored offset by 128 (0..255 in a byte), four per uint32 word. */
export type Q8Matrix = { q8: np.Array /* uint32 [out, in/4] */; scale: np.Array /* [out, 1] */ };
/** 4-bit codes, eight per uint32 word; per block of Q4_BLOCK inputs a scale and a minimum. */
export type Q4Matrix = {
  q4: np.Array /* uint32 [out, in/8] */;
  scale: np.Array /* [out, in/Q4_BLOCK, 1] */;
  min: np.Array /* [out, in/Q4_BLOCK, 1] */;
};
/** A frozen projection: float32 [out, in], or quantised. The key names the format, so the
 * pytree's structure (what jit traces) says which dequantisation runs. */
export type Weight = np.Array | Q8Matrix | Q4Matrix;

/** Codes and scales on the host, as they go to the device (and to the PyTorch reference). */
export type HostQuantized =
  | { format: 'q8'; rows: number; cols: number; words: Uint32Array; scale: Float32Array }
  | {
      format: 'q4';
      rows: number;
      cols: number;
      words: Uint32Array;
      scale: Float32Array;
      min: Float32Array;
    };

function checkColumns(cols: number, multiple: number, format: WeightFormat): void {
  if (cols % multiple !== 0) {
    throw new RangeError(
      `${format} needs an input dimension that is a multiple of ${multiple}, got ${cols}: load this model as f32 or q8`,
    );
  }
}

/** Symmetric int8 per output row: scale = max|w| / 127, code = round(w / scale). */
export function quantizeQ8(data: Float32Array, rows: number, cols: number): HostQuantized {
  checkColumns(cols, 4, 'q8');
  const words = new Uint32Array((rows * cols) / 4);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(data[r * cols + c] as number));
    // float32 as stored, so host codes and device dequantisation use the same numbers.
    const s = Math.fround(max / 127 || 1);
    scale[r] = s;
    for (let c = 0; c < cols; c++) {
      const code = Math.max(-127, Math.min(127, Math.round((data[r * cols + c] as number) / s)));
      const i = r * cols + c;
      words[i >> 2] = ((words[i >> 2] as number) | ((code + 128) << (8 * (i & 3)))) >>> 0;
    }
  }
  return { format: 'q8', rows, cols, words, scale };
}

/** 4-bit codes per block of Q4_BLOCK: scale = (max − min) / 15, min = the block's minimum. */
export function quantizeQ4(data: Float32Array, rows: number, cols: number): HostQuantized {
  checkColumns(cols, Q4_BLOCK, 'q4');
  const blocks = cols / Q4_BLOCK;
  const words = new Uint32Array((rows * cols) / 8);
  const scale = new Float32Array(rows * blocks);
  const min = new Float32Array(rows * blocks);
  for (let b = 0; b < rows * blocks; b++) {
    const start = b * Q4_BLOCK;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = start; i < start + Q4_BLOCK; i++) {
      lo = Math.min(lo, data[i] as number);
      hi = Math.max(hi, data[i] as number);
    }
    // float32 as stored, so host codes and device dequantisation use the same numbers.
    const s = Math.fround((hi - lo) / 15 || 1);
    const m = Math.fround(lo);
    scale[b] = s;
    min[b] = m;
    for (let i = start; i < start + Q4_BLOCK; i++) {
      const code = Math.max(0, Math.min(15, Math.round(((data[i] as number) - m) / s)));
      words[i >> 3] = ((words[i >> 3] as number) | (code << (4 * (i & 7)))) >>> 0;
    }
  }
  return { format: 'q4', rows, cols, words, scale, min };
}

export function quantizeHost(
  data: Float32Array,
  rows: number,
  cols: number,
  format: 'q8' | 'q4',
): HostQuantized {
  return format === 'q8' ? quantizeQ8(data, rows, cols) : quantizeQ4(data, rows, cols);
}

/** What the device computes, on the host: the float32 weights the codes stand for. */
export function dequantizeHost(q: HostQuantized): Float32Array {
  const out = new Float32Array(q.rows * q.cols);
  for (let i = 0; i < out.length; i++) {
    if (q.format === 'q8') {
      const code = (((q.words[i >> 2] as number) >>> (8 * (i & 3))) & 255) - 128;
      out[i] = code * (q.scale[Math.floor(i / q.cols)] as number);
    } else {
      const code = ((q.words[i >> 3] as number) >>> (4 * (i & 7))) & 15;
      const b = Math.floor(i / Q4_BLOCK);
      // Rounded to float32 after each operation, as the device computes it.
      out[i] = Math.fround(code * (q.scale[b] as number)) + (q.min[b] as number);
    }
  }
  return out;
}

/** The codes and scales as device arrays. */
export function quantizedToDevice(q: HostQuantized, device?: Device): Q8Matrix | Q4Matrix {
  const words = (perWord: number) =>
    np.array(q.words, { dtype: np.uint32, device }).reshape([q.rows, q.cols / perWord]);
  if (q.format === 'q8') {
    return { q8: words(4), scale: np.array(q.scale, { device }).reshape([q.rows, 1]) };
  }
  const blocks = q.cols / Q4_BLOCK;
  return {
    q4: words(8),
    scale: np.array(q.scale, { device }).reshape([q.rows, blocks, 1]),
    min: np.array(q.min, { device }).reshape([q.rows, blocks, 1]),
  };
}

export function isQuantized(w: Weight): w is Q8Matrix | Q4Matrix {
  // By structure: under jit the arrays are tracers.
  return 'q8' in w || 'q4' in w;
}

/** Each code of the words [out, n] as float32 [out, n · 32/bits] (consumes `words`). */
function unpack(words: np.Array, bits: 8 | 4): np.Array {
  const perWord = 32 / bits;
  const [rows, n] = words.shape as [number, number];
  const shifts = np.array(
    Uint32Array.from({ length: perWord }, (_, k) => k * bits),
    { dtype: np.uint32 },
  );
  return np
    .bitwiseAnd(np.rightShift(np.expandDims(words, -1), shifts), (1 << bits) - 1)
    .astype(np.float32)
    .reshape([rows, n * perWord]);
}

/** The float32 [out, in] a frozen projection stands for (consumes `w`). */
export function dequantize(w: Weight): np.Array {
  if (!isQuantized(w)) return w;
  if ('q8' in w) return unpack(w.q8, 8).sub(128).mul(w.scale);
  const codes = unpack(w.q4, 4);
  const [rows, cols] = codes.shape as [number, number];
  return codes
    .reshape([rows, cols / Q4_BLOCK, Q4_BLOCK])
    .mul(w.scale)
    .add(w.min)
    .reshape([rows, cols]);
}

/** Rows `ids` (int32) of a table [V, D] (the token embedding), as float32 [ids…, D]: a quantised
 * table gathers its codes and scales first and dequantises only those rows. Consumes `table`. */
export function embedRows(table: Weight, ids: np.Array): np.Array {
  if (!isQuantized(table)) return np.take(table, ids, 0);
  const shape = [...ids.shape];
  const flat = ids.reshape([-1]);
  const rows =
    'q8' in table
      ? dequantize({ q8: np.take(table.q8, flat.ref, 0), scale: np.take(table.scale, flat, 0) })
      : dequantize({
          q4: np.take(table.q4, flat.ref, 0),
          scale: np.take(table.scale, flat.ref, 0),
          min: np.take(table.min, flat, 0),
        });
  return rows.reshape([...shape, -1]);
}

/** The device a weight lives on. */
export function weightDevice(w: Weight): Device {
  return isQuantized(w) ? ('q8' in w ? w.q8 : w.q4).device : w.device;
}

/** The format of the token embedding and lm_head under a model format: 8-bit even for q4, as GGUF's
 * 4-bit mixes keep the output layer in higher precision (measured: docs/decisions/0025-quantised-text-weights.md). */
export function tableFormat(format: WeightFormat): WeightFormat {
  return format === 'f32' ? 'f32' : 'q8';
}

/** Bytes a [rows, cols] tensor takes on the device when stored as `format` (what weightBytes()
 * counts once it is loaded; a vector is one row). */
export function storedBytes(rows: number, cols: number, format: WeightFormat): number {
  if (format === 'q8') return rows * cols + 4 * rows; // codes, a byte each; one scale per row
  if (format === 'q4') return (rows * cols) / 2 + 2 * 4 * ((rows * cols) / Q4_BLOCK); // + scale, min
  return 4 * rows * cols;
}

/** Bytes a weight, or a whole tree of them (a model's weights), takes on the device (every
 * dtype here is 4 bytes an element: float32, uint32). */
export function weightBytes(weights: object): number {
  return tree.leaves(weights as np.Array).reduce((sum, a) => sum + (a as np.Array).size * 4, 0);
}
