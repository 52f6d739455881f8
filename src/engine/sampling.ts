// Sampling completions of one prompt: the prompt is prefilled once, then every row is decoded as
// one batch with a fixed-size KV cache, so the decode step compiles once per (rows, cache size,
// prompt bucket) and not once per token. Logits come back to the host each step and the next
// tokens are chosen there (temperature, top-k, top-p), which keeps the traced code free of
// sorting and random numbers and makes runs reproducible from a seed.
//
// Positions: the prompt occupies 0..P-1 (padded on the right to a PROMPT_BUCKET multiple, the
// padding masked out as keys). The first token is chosen from the prompt's last hidden state;
// decode step s feeds the token chosen at step s, at position P + s, into cache slot s.
import type { numpy as np } from '@jax-js/jax';
import { jit, numpy as jnp, tree } from '@jax-js/jax';
import { seededRandom } from '../random';
import type { DecodeInputs, LayerKV, ModelSpec, PrefixInputs } from './decoder';
import { headMatrix, logits, rmsNorm } from './decoder';
import type { HeadWeights } from './grpo';
import { bucket, decodeInputs, padPositions, prefixInputs } from './inputs';
import type { Adapter, TextModel } from './model';
import { cachedJit, specOf } from './model';
import { runDecode, runPrefill } from './programs';
import { headWeights, LENGTH_BUCKET, PROMPT_BUCKET } from './train';

export type SampleOptions = {
  numRows: number;
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** Keep the k most likely tokens (ties with the k-th kept, as transformers); null = no filter. */
  topK?: number | null;
  /** Nucleus filter as transformers' TopPLogitsWarper; 1 (default) = no filter. */
  topP?: number;
  seed: number;
  /** Default: the model config's eos ids. */
  eosTokenIds?: number[];
  /**
   * Checked between decoded tokens: once aborted, sampling frees its caches and throws the
   * signal's reason, so a stop acts within one token instead of after a whole completion.
   */
  signal?: AbortSignal;
};

export type Samples = {
  /** Per row, ending with EOS when the row stopped. */
  tokens: number[][];
  /**
   * Per row and token: log-prob under softmax(logits / temperature) before top-k / top-p
   * filtering (under softmax(logits) when greedy, temperature 0).
   */
  logprobs: number[][];
};

/** NaN or ±Infinity in a row of logits: the forward pass overflowed, so no token can be chosen. */
export class NonFiniteLogitsError extends Error {
  constructor() {
    super(
      'The model produced non-finite logits (NaN/Infinity): the adapter may have diverged; reset or re-import it.',
    );
  }
}

function checkFinite(row: ArrayLike<number>): void {
  for (let i = 0; i < row.length; i++) {
    if (!Number.isFinite(row[i] as number)) throw new NonFiniteLogitsError();
  }
}

function argmaxOf(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] as number) > (row[best] as number)) best = i;
  return best;
}

/** log Σ exp(z): a token's log-softmax is z[token] minus this (no array of them is built). */
function logSumExp(z: ArrayLike<number>): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < z.length; i++) if ((z[i] as number) > m) m = z[i] as number;
  let s = 0;
  for (let i = 0; i < z.length; i++) s += Math.exp((z[i] as number) - m);
  return m + Math.log(s);
}

/**
 * Chooses the next token from one row of logits. The log-prob returned is the token's under
 * softmax(logits / T) before filtering. T = 0 is greedy (argmax, first on ties; log-prob under
 * softmax(logits); `random` is not called). Otherwise top-k keeps the k largest scaled logits
 * (and any tied with the k-th), then top-p keeps the smallest set of most likely tokens whose
 * probability reaches topP (transformers' TopPLogitsWarper: in ascending order, drop tokens while
 * the cumulative probability is ≤ 1 − topP; the most likely token always stays), and one token
 * is drawn from the renormalised remainder with one call of `random`. A NaN or infinite logit
 * throws NonFiniteLogitsError.
 */
export function chooseToken(
  row: ArrayLike<number>,
  opts: Pick<SampleOptions, 'temperature' | 'topK' | 'topP'>,
  random: () => number,
): { token: number; logprob: number } {
  const vocab = row.length;
  if (vocab === 0) throw new Error('chooseToken: empty logits');
  // NaN compares false with everything: without this, argmax and the draw would quietly return
  // token 0 or −1 and the run would go on with garbage.
  checkFinite(row);
  const t = opts.temperature;
  if (!(t >= 0)) throw new Error(`temperature must be ≥ 0, got ${t}`);
  if (t === 0) {
    const token = argmaxOf(row);
    return { token, logprob: (row[token] as number) - logSumExp(row) };
  }
  const z = Float64Array.from(row, (v) => v / t);
  const lse = logSumExp(z);
  const keep = new Uint8Array(vocab).fill(1);
  const topK = opts.topK;
  if (topK != null && topK > 0 && topK < vocab) {
    const kth = Float64Array.from(z).sort()[vocab - topK] as number;
    for (let i = 0; i < vocab; i++) if ((z[i] as number) < kth) keep[i] = 0;
  }
  const topP = opts.topP ?? 1;
  if (topP < 1) {
    // Softmax over what top-k kept, in ascending order of score (stable: ties by index).
    const kept: number[] = [];
    for (let i = 0; i < vocab; i++) if (keep[i]) kept.push(i);
    kept.sort((a, b) => (z[a] as number) - (z[b] as number) || a - b);
    const m = z[kept[kept.length - 1] as number] as number;
    const e = kept.map((i) => Math.exp((z[i] as number) - m));
    const total = e.reduce((a, b) => a + b, 0);
    let cumulative = 0;
    for (let j = 0; j < kept.length - 1; j++) {
      cumulative += (e[j] as number) / total;
      if (cumulative <= 1 - topP) keep[kept[j] as number] = 0;
      else break;
    }
  }
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vocab; i++) if (keep[i] && (z[i] as number) > m) m = z[i] as number;
  const weights = new Float64Array(vocab);
  let total = 0;
  let last = -1;
  for (let i = 0; i < vocab; i++) {
    if (!keep[i]) continue;
    const w = Math.exp((z[i] as number) - m);
    weights[i] = w;
    total += w;
    if (w > 0) last = i;
  }
  const u = random() * total;
  let token = last;
  let acc = 0;
  for (let i = 0; i < vocab; i++) {
    const w = weights[i] as number;
    if (w === 0) continue;
    acc += w;
    if (u < acc) {
      token = i;
      break;
    }
  }
  return { token, logprob: (z[token] as number) - lse };
}

function asFloats(data: Awaited<ReturnType<np.Array['data']>>): Float32Array | Float64Array {
  return data instanceof Float32Array || data instanceof Float64Array
    ? data
    : Float32Array.from(data as ArrayLike<number>);
}

type PrefillOut = { logits: np.Array; kv: LayerKV[] };
type DecodeOut = { logits: np.Array; cache: LayerKV[] };

/** Logits [B, T, V] of last-layer states x [B, T, D] (final norm, then the head). */
function headLogits(spec: ModelSpec, weights: HeadWeights, x: np.Array): np.Array {
  const head = headMatrix({ embed: weights.embed, lmHead: weights.lmHead });
  return logits(rmsNorm(x, weights.norm, spec.config.rmsNormEps), head);
}

/** Prefill and decode for this model and adapter: the layers in compiled groups
 * (./programs.ts), the head in one more program. */
function compiledFns(model: TextModel, adapter: Adapter | null) {
  const spec = specOf(model, adapter);
  // Logits [1, V] at the prompt's last real position (`pick`: one-hot [P]).
  const lastLogits = cachedJit(model, 'sample/prefill-head', () =>
    jit((w: HeadWeights, x: np.Array, pick: np.Array) =>
      headLogits(spec, w, jnp.where(pick.reshape([1, -1, 1]), x, 0).sum(1)),
    ),
  );
  // One decode step's logits [B, 1, V] (not reshaped: that would be one more kernel).
  const stepLogits = cachedJit(model, 'sample/decode-head', () =>
    jit((w: HeadWeights, x: np.Array) => headLogits(spec, w, x)),
  );
  return {
    prefill: async (input: PrefixInputs, pick: np.Array): Promise<PrefillOut> => {
      const { x, kv } = await runPrefill(model, adapter, input);
      return { logits: lastLogits(headWeights(model), x, pick), kv };
    },
    // Borrows `kv` (the prompt's), consumes `cache` and `input`.
    decode: async (kv: LayerKV[], cache: LayerKV[], input: DecodeInputs): Promise<DecodeOut> => {
      const out = await runDecode(model, adapter, kv, cache, input);
      return { logits: stepLogits(headWeights(model), out.x), cache: out.cache };
    },
  };
}

/**
 * Samples `numRows` completions of one prompt (`promptEmbeds` [1, P, D], borrowed, not consumed)
 * under the model with `adapter` (null = base model). Each row stops after its first EOS token
 * (included); decoding stops when every row has stopped or after `maxNewTokens` tokens.
 */
export async function sample(
  model: TextModel,
  adapter: Adapter | null,
  promptEmbeds: np.Array,
  opts: SampleOptions,
): Promise<Samples> {
  const { config } = model;
  const rows = opts.numRows;
  if (!Number.isInteger(rows) || rows < 1) throw new Error('numRows must be a positive integer');
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) {
    throw new Error('maxNewTokens must be a non-negative integer');
  }
  const tokens: number[][] = Array.from({ length: rows }, () => []);
  const logprobs: number[][] = Array.from({ length: rows }, () => []);
  if (opts.maxNewTokens === 0) return { tokens, logprobs };
  const [one, promptLength, dim] = promptEmbeds.shape as [number, number, number];
  if (one !== 1 || promptLength < 1 || dim !== config.hiddenSize) {
    throw new Error(`promptEmbeds must be [1, P ≥ 1, ${config.hiddenSize}]`);
  }
  opts.signal?.throwIfAborted();
  const eos = new Set(opts.eosTokenIds ?? config.eosTokenIds);
  const random = seededRandom(opts.seed);
  const at = { dtype: promptEmbeds.dtype };
  const fns = compiledFns(model, adapter);
  const done = new Array<boolean>(rows).fill(false);

  const choose = (data: Float32Array | Float64Array, perRow: boolean) => {
    const vocab = data.length / (perRow ? rows : 1);
    for (let r = 0; r < rows; r++) {
      if (done[r]) continue;
      const off = perRow ? r * vocab : 0;
      const { token, logprob } = chooseToken(data.subarray(off, off + vocab), opts, random);
      tokens[r]?.push(token);
      logprobs[r]?.push(logprob);
      if (eos.has(token)) done[r] = true;
    }
  };

  // Prefill: the whole prompt once; the first token of every row comes from its last position.
  const padded = bucket(promptLength, PROMPT_BUCKET);
  const prefixEmbeds = padPositions(promptEmbeds.ref, padded);
  const pick = jnp
    .array(
      Array.from({ length: padded }, (_, j) => j === promptLength - 1),
      { dtype: jnp.bool },
    )
    .reshape([padded]);
  const first = await fns.prefill(prefixInputs(prefixEmbeds, promptLength, config, at), pick);
  const prefixKV = first.kv;
  // The caches are freed also when choosing throws (non-finite logits).
  try {
    choose(asFloats(await first.logits.data()), false);
    opts.signal?.throwIfAborted();
    const steps = opts.maxNewTokens - 1;
    if (steps > 0 && done.some((d) => !d)) {
      // Slots 0..steps-1; the size is bucketed so nearby maxNewTokens share one compiled step.
      const cacheSize = bucket(steps, LENGTH_BUCKET);
      const { numKvHeads, headDim } = config;
      let cache: LayerKV[] = prefixKV.map(() => ({
        k: jnp.zeros([rows, numKvHeads, cacheSize, headDim], at),
        v: jnp.zeros([rows, numKvHeads, cacheSize, headDim], at),
      }));
      try {
        for (let step = 0; step < steps && done.some((d) => !d); step++) {
          // Stopped rows keep feeding their last token; their outputs are ignored.
          const fed = tokens.map((row) => row[row.length - 1] as number);
          const input = decodeInputs(
            fed,
            promptLength,
            step,
            cacheSize,
            padded,
            promptLength,
            config,
            at,
          );
          const out = await fns.decode(prefixKV, cache, input);
          cache = out.cache;
          choose(asFloats(await out.logits.data()), true);
          opts.signal?.throwIfAborted();
        }
      } finally {
        tree.dispose(cache);
      }
    }
  } finally {
    tree.dispose(prefixKV);
  }
  return { tokens, logprobs };
}
