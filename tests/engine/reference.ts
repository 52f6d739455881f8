// An independent float64 reference of the Llama-family decoder on the host, written from the
// Hugging Face modeling code (LlamaForCausalLM / Qwen2 with biases) with plain loops: the
// engine's jax-js functions are tested against it. One sequence at a time, full causal attention,
// no cache, no padding, no buckets.
import type { TextConfig } from '../../src/layout/textConfig';
import type { Projection } from '../../src/layout/textLayout';

/** A row-major host matrix [rows, cols] (PyTorch Linear layout: [out, in]). */
export type Matrix = { rows: number; cols: number; data: Float64Array };

export type RefLayer = Record<Projection, Matrix> & {
  inputNorm: Float64Array;
  postNorm: Float64Array;
  bias?: { q: Float64Array; k: Float64Array; v: Float64Array };
};

export type RefWeights = {
  embed: Matrix;
  layers: RefLayer[];
  norm: Float64Array;
  /** The output projection (the embedding when tied). */
  lmHead: Matrix;
};

/** LoRA pairs in PEFT's layout: a [r, in], b [out, r]; y += scale · B A x. */
export type RefLora = {
  scale: number;
  layers: Partial<Record<Projection, { a: Matrix; b: Matrix }>>[];
};

/** y = M x for M [out, in]. */
export function matVec(m: Matrix, x: Float64Array): Float64Array {
  if (x.length !== m.cols) throw new Error(`matVec: ${m.rows}x${m.cols} · ${x.length}`);
  const y = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    const off = i * m.cols;
    for (let j = 0; j < m.cols; j++) s += (m.data[off + j] as number) * (x[j] as number);
    y[i] = s;
  }
  return y;
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + (b[i] as number));
}

function rmsNorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  let ms = 0;
  for (const v of x) ms += v * v;
  const inv = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => v * inv * (w[i] as number));
}

function proj(
  layer: RefLayer,
  lora: RefLora['layers'][number] | undefined,
  scale: number,
  p: Projection,
  x: Float64Array,
): Float64Array {
  let y = matVec(layer[p], x);
  const bias = layer.bias && (p === 'q' || p === 'k' || p === 'v') ? layer.bias[p] : undefined;
  if (bias) y = add(y, bias);
  const pair = lora?.[p];
  if (pair) {
    const delta = matVec(pair.b, matVec(pair.a, x));
    y = y.map((v, i) => v + scale * (delta[i] as number));
  }
  return y;
}

/** HF rotate_half RoPE of one head vector at `pos`. */
function rope(x: Float64Array, pos: number, theta: number): Float64Array {
  const d = x.length;
  const half = d / 2;
  const out = new Float64Array(d);
  for (let i = 0; i < half; i++) {
    const angle = pos * theta ** ((-2 * i) / d);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const x1 = x[i] as number;
    const x2 = x[i + half] as number;
    out[i] = x1 * c - x2 * s;
    out[i + half] = x2 * c + x1 * s;
  }
  return out;
}

const silu = (v: number) => v / (1 + Math.exp(-v));

/** Embedding rows of token ids. */
export function refEmbed(w: RefWeights, ids: number[]): Float64Array[] {
  const d = w.embed.cols;
  return ids.map((id) => w.embed.data.slice(id * d, (id + 1) * d));
}

/**
 * Logits [T][V] at every position of one sequence given its input embeddings [T][D]
 * (positions 0..T-1, causal attention).
 */
export function refLogits(
  config: TextConfig,
  w: RefWeights,
  lora: RefLora | null,
  embeds: Float64Array[],
): Float64Array[] {
  const { numHeads, numKvHeads, headDim, rmsNormEps: eps, ropeTheta } = config;
  const groups = numHeads / numKvHeads;
  const scale = lora?.scale ?? 0;
  let xs: Float64Array[] = embeds.map((x) => Float64Array.from(x));
  const T = xs.length;
  w.layers.forEach((layer, l) => {
    const ll = lora?.layers[l];
    const normed = xs.map((x) => rmsNorm(x, layer.inputNorm, eps));
    const head = (v: Float64Array, h: number) => v.slice(h * headDim, (h + 1) * headDim);
    const qs = normed.map((x, t) => {
      const q = proj(layer, ll, scale, 'q', x);
      return Array.from({ length: numHeads }, (_, h) => rope(head(q, h), t, ropeTheta));
    });
    const ks = normed.map((x, t) => {
      const k = proj(layer, ll, scale, 'k', x);
      return Array.from({ length: numKvHeads }, (_, h) => rope(head(k, h), t, ropeTheta));
    });
    const vs = normed.map((x) => {
      const v = proj(layer, ll, scale, 'v', x);
      return Array.from({ length: numKvHeads }, (_, h) => head(v, h));
    });
    xs = xs.map((x, t) => {
      const merged = new Float64Array(numHeads * headDim);
      for (let h = 0; h < numHeads; h++) {
        const kvh = Math.floor(h / groups);
        const q = qs[t]?.[h] as Float64Array;
        const scores: number[] = [];
        for (let j = 0; j <= t; j++) {
          const k = ks[j]?.[kvh] as Float64Array;
          let s = 0;
          for (let i = 0; i < headDim; i++) s += (q[i] as number) * (k[i] as number);
          scores.push(s / Math.sqrt(headDim));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= t; j++) {
          const v = vs[j]?.[kvh] as Float64Array;
          const p = (e[j] as number) / z;
          for (let i = 0; i < headDim; i++) {
            merged[h * headDim + i] = (merged[h * headDim + i] as number) + p * (v[i] as number);
          }
        }
      }
      const hres = add(x, proj(layer, ll, scale, 'o', merged));
      const n2 = rmsNorm(hres, layer.postNorm, eps);
      const gate = proj(layer, ll, scale, 'gate', n2);
      const up = proj(layer, ll, scale, 'up', n2);
      const act = gate.map((g, i) => silu(g) * (up[i] as number));
      return add(hres, proj(layer, ll, scale, 'down', act));
    });
  });
  if (xs.length !== T) throw new Error('refLogits: length changed');
  return xs.map((x) => matVec(w.lmHead, rmsNorm(x, w.norm, eps)));
}

/** log softmax(z / temperature) of one row. */
export function logSoftmax(z: ArrayLike<number>, temperature = 1): Float64Array {
  const s = Float64Array.from(z, (v) => v / temperature);
  const m = Math.max(...s);
  let sum = 0;
  for (const v of s) sum += Math.exp(v - m);
  const lse = m + Math.log(sum);
  return s.map((v) => v - lse);
}

/** Index of the largest value (first on ties). */
export function argmax(z: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < z.length; i++) if ((z[i] as number) > (z[best] as number)) best = i;
  return best;
}
