// Teacher-forced log-probs and the GRPO training step: host-side batching around the traced
// functions of grpo.ts.
//
// A completion c_0..c_{L-1} after a prompt of P positions is scored from the hidden states at
// positions P-1 .. P+L-2. So the shared prefix is the prompt's first P-1 positions, and each row
// is [prompt's last position, c_0 .. c_{L-2}] with targets c_0 .. c_{L-1}. Rows are grouped in
// microbatches of fixed size (padded with zero-weight rows) and lengths are padded to buckets,
// so a run compiles a few shapes; every microbatch is a forward pass, the head's
// jit(valueAndGrad) and a backward pass through the layers (./programs.ts), and its LoRA
// gradients are summed (the loss weights already carry the 1/N normalisation of the whole step).
import { jit, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import type { LoraParams, PrefixInputs, RowInputs } from './decoder';
import type { HeadOptions, HeadWeights, LossMetrics, LossOptions, TrainInputs } from './grpo';
import { headSurrogate, rowStats } from './grpo';
import { bucket, embedTokens, padPositions, prefixInputs, rowInputs } from './inputs';
import type { Adapter, TextModel } from './model';
import { cachedJit, specOf } from './model';
import type { AdamMoments, AdamWOptions } from './optim';
import { ADAMW_DEFAULTS, adamwUpdate, clipCoefficient, globalNorm, zerosLikeTree } from './optim';
import { runExtend, runPrefill, trainBackward, trainForward } from './programs';

/** Prompts are padded to a multiple of this many positions, completions to LENGTH_BUCKET. */
export const PROMPT_BUCKET = 16;
export const LENGTH_BUCKET = 8;

export type Completion = {
  tokens: number[];
  advantage: number;
  /** Log-probs under the policy that sampled it; absent = the current policy's (ratio 1). */
  oldLogprobs?: number[];
};

/**
 * One prompt and completions of it. `promptEmbeds` [1, P, D] is borrowed, not consumed.
 * `auxiliary`: the group re-scores other groups' completions under another prompt (the perception
 * term scores them after a masked image): its completions take the loss weights they would have
 * as policy completions but do not count in the step's normalisation, carry only the
 * policy-gradient term with ratio 1 (no KL, entropy or clip: those belong to the policy's own
 * prompt), and add only to `auxiliaryLogp` among the metrics.
 */
export type PromptGroup = {
  promptEmbeds: np.Array;
  completions: Completion[];
  auxiliary?: boolean;
};

export type GrpoOptions = LossOptions & {
  lossType: 'token_mean' | 'sequence_mean';
  /** This step's rate (the schedule is src/rl/schedule.ts). */
  learningRate: number;
  maxGradNorm: number;
  /** Rows per jit(valueAndGrad) call: bounds activation memory. */
  microBatchSize: number;
  adamw?: Partial<AdamWOptions>;
};

export type TrainState = { adapter: Adapter; moments: AdamMoments; step: number };

export type GrpoStepMetrics = {
  loss: number;
  pgLoss: number;
  kl: number;
  entropy: number;
  clipFraction: number;
  /** The loss-weighted mean log-prob of the policy groups' tokens (Σ w·logp_t). */
  logp: number;
  /** The same over the auxiliary groups' tokens; 0 without auxiliary groups. */
  auxiliaryLogp: number;
  gradNorm: number;
  learningRate: number;
};

export type StepResult = {
  state: TrainState;
  metrics: GrpoStepMetrics;
  /** Why the update was not applied (non-finite loss or gradient), or null. */
  skipped: string | null;
};

export function initTrainState(adapter: Adapter): TrainState {
  const params = adapter.params;
  return { adapter, moments: { m: zerosLikeTree(params), v: zerosLikeTree(params) }, step: 0 };
}

type Row = { tokens: number[]; weight: number; advantage: number; oldLogprobs?: number[] };

/** Inputs of one microbatch: a shared prompt and `rows` padded to `size` rows × bucketed length. */
function microbatch(
  model: TextModel,
  promptEmbeds: np.Array,
  rows: Row[],
  size: number,
): { input: TrainInputs; length: number } {
  const { config, weights } = model;
  const promptLength = promptEmbeds.shape[1] as number;
  const prefixLength = promptLength - 1;
  const prefixPadded = bucket(prefixLength, PROMPT_BUCKET);
  const prefixEmbeds =
    prefixLength > 0
      ? padPositions(promptEmbeds.ref.slice([], [0, prefixLength]), prefixPadded)
      : np.zeros([1, prefixPadded, config.hiddenSize], { dtype: promptEmbeds.dtype });
  const length = bucket(Math.max(...rows.map((r) => r.tokens.length)), LENGTH_BUCKET);
  const padded = [...rows];
  while (padded.length < size) padded.push({ tokens: [], weight: 0, advantage: 0 });
  const grid = (f: (r: Row, t: number) => number) =>
    padded.flatMap((r) => Array.from({ length }, (_, t) => f(r, t)));
  const inputIds = padded.map((r) =>
    Array.from({ length: length - 1 }, (_, t) => r.tokens[t] ?? 0),
  );
  const last = promptEmbeds.ref.slice([], [prefixLength, promptLength]);
  const rowEmbeds = np.concatenate(
    [np.broadcastTo(last, [size, 1, config.hiddenSize]), embedTokens(weights.embed, inputIds)],
    1,
  );
  const real = (r: Row, t: number) => t < r.tokens.length;
  const at = { dtype: promptEmbeds.dtype };
  const floats = (f: (r: Row, t: number) => number) => np.array(grid(f), at);
  const withOld = rows.every((r) => r.oldLogprobs);
  return {
    length,
    input: {
      prefix: prefixInputs(prefixEmbeds, prefixLength, config, at),
      rows: rowInputs(rowEmbeds, prefixLength, prefixPadded, prefixLength, config, at),
      tokens: {
        targets: np.array(
          grid((r, t) => r.tokens[t] ?? 0),
          { dtype: np.int32 },
        ),
        weight: floats((r, t) => (real(r, t) ? r.weight : 0)),
        advantage: floats((r) => r.advantage),
        ...(withOld ? { oldLogp: floats((r, t) => r.oldLogprobs?.[t] ?? 0) } : {}),
      },
    },
  };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function headKey(opts: HeadOptions): string {
  return `${opts.vocabChunk ?? 'default'}/${opts.temperature ?? 1}`;
}

/** The rows' last-layer states [B, L, D]: the prompt, then the rows after it. Consumes `input`. */
async function rowStates(
  model: TextModel,
  adapter: Adapter | null,
  input: StatsInput,
): Promise<np.Array> {
  const { x, kv } = await runPrefill(model, adapter, input.prefix);
  x.dispose();
  const r = await runExtend(model, adapter, kv, input.rows);
  tree.dispose(kv);
  return r;
}

type StatsInput = { prefix: PrefixInputs; rows: RowInputs };
type Stats = ReturnType<typeof rowStats>;

/** Log-probs and entropies of `targets` (consumed) after the rows of `input` (consumed). */
async function rowStatsOf(
  model: TextModel,
  adapter: Adapter | null,
  input: StatsInput,
  targets: np.Array,
  opts: HeadOptions,
): Promise<Stats> {
  const spec = specOf(model, adapter);
  const f = cachedJit(model, `stats/${headKey(opts)}`, () =>
    jit((weights: HeadWeights, r: np.Array, t: np.Array) => rowStats(spec, weights, r, t, opts)),
  );
  return f(headWeights(model), await rowStates(model, adapter, input), targets);
}

/** New references to the head's frozen inputs (final norm, embedding, lm_head). */
export function headWeights(model: TextModel): HeadWeights {
  const { embed, lmHead, norm } = model.weights;
  return tree.ref({ embed, lmHead, norm });
}

/**
 * Teacher-forced log-probs and entropies of each completion's tokens after the prompt
 * (`promptEmbeds` [1, P, D], borrowed). Batched `microBatchSize` rows at a time.
 */
export async function completionLogprobs(
  model: TextModel,
  adapter: Adapter | null,
  promptEmbeds: np.Array,
  completions: number[][],
  opts: HeadOptions & { microBatchSize?: number } = {},
): Promise<{ logprobs: number[][]; entropies: number[][] }> {
  const size = opts.microBatchSize ?? completions.length;
  const logprobs: number[][] = [];
  const entropies: number[][] = [];
  for (const part of chunks(completions, size)) {
    const rows = part.map((tokens) => ({ tokens, weight: 0, advantage: 0 }));
    const { input, length } = microbatch(model, promptEmbeds, rows, size);
    tree.dispose([input.tokens.weight, input.tokens.advantage, input.tokens.oldLogp]);
    const out = await rowStatsOf(model, adapter, input, input.tokens.targets, opts);
    const [lp, ent] = [await out.logp.data(), await out.entropy.data()];
    part.forEach((tokens, r) => {
      logprobs.push(Array.from(lp.subarray(r * length, r * length + tokens.length)));
      entropies.push(Array.from(ent.subarray(r * length, r * length + tokens.length)));
    });
  }
  return { logprobs, entropies };
}

/** Loss weight of each token: token_mean 1/N over the step's tokens, sequence_mean 1/(B·L_j). */
function lossWeights(groups: PromptGroup[], lossType: GrpoOptions['lossType']): number[][] {
  const all = groups
    .filter((g) => !g.auxiliary)
    .flatMap((g) => g.completions)
    .filter((c) => c.tokens.length > 0);
  const tokens = all.reduce((n, c) => n + c.tokens.length, 0);
  return groups.map((g) =>
    g.completions.map((c) =>
      lossType === 'token_mean' ? 1 / tokens : 1 / (all.length * Math.max(1, c.tokens.length)),
    ),
  );
}

function addTrees(a: LoraParams | null, b: LoraParams): LoraParams {
  if (!a) return b;
  return tree.map((x: np.Array, y: np.Array) => x.add(y), a, b) as LoraParams;
}

/** The loss's metrics, in the order a microbatch reads them. */
const METRICS: (keyof LossMetrics)[] = ['loss', 'pgLoss', 'kl', 'entropy', 'clipFraction', 'logp'];

/** Loss-weighted sums of the metrics plus the summed LoRA gradients of every microbatch. */
export type Gradients = {
  grads: LoraParams | null;
  sums: Omit<GrpoStepMetrics, 'gradNorm' | 'learningRate'>;
};

/** The GRPO loss and its gradient with respect to LoRA over every completion of every group. */
export async function grpoGradients(
  model: TextModel,
  adapter: Adapter,
  groups: PromptGroup[],
  opts: Omit<GrpoOptions, 'learningRate' | 'maxGradNorm' | 'adamw'>,
): Promise<Gradients> {
  const spec = specOf(model, adapter);
  const headLossAndGradOf = (o: LossOptions & HeadOptions) =>
    cachedJit(model, `grpo-head/${o.epsilon}/${o.beta}/${o.entropyCoef}/${headKey(o)}`, () =>
      jit(valueAndGrad(headSurrogate(spec, o), { hasAux: true })),
    );
  const weights = lossWeights(groups, opts.lossType);
  let grads: LoraParams | null = null;
  const sums = {
    loss: 0,
    pgLoss: 0,
    kl: 0,
    entropy: 0,
    clipFraction: 0,
    logp: 0,
    auxiliaryLogp: 0,
  };
  const read: { keys: (keyof Gradients['sums'])[]; values: np.Array }[] = [];
  for (const [g, group] of groups.entries()) {
    const aux = group.auxiliary === true;
    const groupOpts = aux ? { ...opts, beta: 0, entropyCoef: 0 } : opts;
    const headLossAndGrad = headLossAndGradOf(groupOpts);
    const rows: Row[] = group.completions
      .map((c, j) => ({
        ...c,
        weight: weights[g]?.[j] ?? 0,
        oldLogprobs: aux ? undefined : c.oldLogprobs,
      }))
      .filter((r) => r.tokens.length > 0);
    for (const part of chunks(rows, opts.microBatchSize)) {
      const { input } = microbatch(model, group.promptEmbeds, part, opts.microBatchSize);
      if (groupOpts.beta > 0) {
        const ref = await rowStatsOf(
          model,
          null,
          tree.ref({ prefix: input.prefix, rows: input.rows }),
          input.tokens.targets.ref,
          opts,
        );
        ref.entropy.dispose();
        input.tokens.refLogp = ref.logp;
      }
      const { embeds: x, ...prefixTables } = input.prefix;
      const { embeds: r, ...rowTables } = input.rows;
      const tables = { prefix: prefixTables, rows: rowTables };
      const forward = await trainForward(model, adapter, { x, r }, tree.ref(tables));
      const [[surrogate, metrics], dr] = headLossAndGrad(
        forward.r,
        headWeights(model),
        input.tokens,
      ) as [[np.Array, LossMetrics], np.Array];
      surrogate.dispose();
      if (aux) {
        const { logp, ...rest } = metrics;
        tree.dispose(rest);
        read.push({ keys: ['auxiliaryLogp'], values: logp.reshape([1]) });
      } else {
        read.push({ keys: METRICS, values: np.stack(METRICS.map((k) => metrics[k])) });
      }
      grads = addTrees(grads, await trainBackward(model, adapter, forward.inputs, tables, dr));
    }
  }
  // Every microbatch's metrics come to the host in one read: on WebGPU a read is a round trip.
  if (read.length > 0) {
    const values = await np.concatenate(read.map((r) => r.values)).data();
    let i = 0;
    for (const r of read) for (const k of r.keys) sums[k] += values[i++] as number;
  }
  return { grads, sums };
}

/**
 * One GRPO step on LoRA: loss and gradients over every completion of every group (microbatched),
 * gradient-norm clipping, AdamW. A non-finite loss or gradient leaves the adapter untouched and
 * reports why. Consumes `state` when the update is applied (the result holds the new arrays).
 */
export async function grpoStep(
  model: TextModel,
  state: TrainState,
  groups: PromptGroup[],
  opts: GrpoOptions,
): Promise<StepResult> {
  const adapter = state.adapter;
  const { grads, sums } = await grpoGradients(model, adapter, groups, opts);
  const gradNorm = grads ? ((await globalNorm(tree.ref(grads)).data())[0] as number) : 0;
  const metrics: GrpoStepMetrics = { ...sums, gradNorm, learningRate: opts.learningRate };
  if (!grads || !Number.isFinite(sums.loss) || !Number.isFinite(gradNorm)) {
    tree.dispose(grads);
    const what = Number.isFinite(sums.loss) ? 'gradient' : 'loss';
    return { state, metrics, skipped: grads ? `non-finite ${what}` : 'no completion tokens' };
  }
  const adamw = { ...ADAMW_DEFAULTS, ...opts.adamw };
  const update = cachedJit(model, `adamw/${JSON.stringify(adamw)}`, () => adamwUpdate(adamw));
  const t = state.step + 1;
  const clip = clipCoefficient(gradNorm, opts.maxGradNorm);
  const scalars = np.array([opts.learningRate, clip, 1 - adamw.beta1 ** t, 1 - adamw.beta2 ** t], {
    dtype: (tree.leaves(adapter.params)[0] as np.Array).dtype,
  });
  const next = update(adapter.params, grads, state.moments, scalars);
  return {
    state: {
      adapter: { config: adapter.config, params: next.params },
      moments: next.moments,
      step: t,
    },
    metrics,
    skipped: null,
  };
}
