// The GRPO loss of the spec (§1.6–1.8) as traced functions, with gradients to LoRA only.
//
// Per completion token t (A = the completion's advantage, w_t = its loss weight: 1/N over all
// tokens of the step for token_mean, 1/(B·L_j) for sequence_mean, 0 on padding):
//   ratio_t = exp(logp_t - logp_old_t)
//   pg_t    = -min(ratio_t·A, clip(ratio_t, 1-ε, 1+ε)·A)
//   kl_t    = exp(ref_t - logp_t) - (ref_t - logp_t) - 1          (k3; only when β > 0)
//   loss    = Σ_t w_t · (pg_t + β·kl_t - entropy_coef·H_t)
// The loss depends on the LM head only through logp_t and H_t, so the head is never traced by
// autodiff: head.ts computes dloss/dh from the scalar cotangents below, and the final norm is
// differentiated through the surrogate Σ h · stopGradient(dloss/dh), whose gradient with respect
// to the last layer's states is the loss's; the layers take it from there, group by group
// (./programs.ts). Memory is bounded by one vocabulary chunk of logits.
import { lax, numpy as np } from '@jax-js/jax';
import type { DecoderWeights, ModelSpec, PrefixInputs, RowInputs } from './decoder';
import { headMatrix, rmsNorm } from './decoder';
import type { HeadStats } from './head';
import { headBackward, headForward } from './head';

export type HeadOptions = { vocabChunk?: number; temperature?: number };

export type LossOptions = HeadOptions & {
  epsilon: number;
  beta: number;
  entropyCoef: number;
};

/** Per-token arrays [N] of one microbatch (N = rows × padded length). */
export type TokenInputs = {
  targets: np.Array; // int32
  weight: np.Array;
  advantage: np.Array;
  /** Absent: logp_old is the detached current log-prob (one update per batch, ratio 1). */
  oldLogp?: np.Array;
  /** Required when beta > 0: log-probs with the adapter off. */
  refLogp?: np.Array;
};

export type TrainInputs = { prefix: PrefixInputs; rows: RowInputs; tokens: TokenInputs };

/** Weighted sums over the microbatch; they add up across microbatches to the step's values. */
export type LossMetrics = {
  loss: np.Array;
  pgLoss: np.Array;
  kl: np.Array;
  entropy: np.Array;
  clipFraction: np.Array;
  /** Σ w·logp_t: the loss-weighted mean log-prob of the completions' tokens. */
  logp: np.Array;
};

/** The head's frozen inputs: the final norm and the output projection's weights. */
export type HeadWeights = Pick<DecoderWeights, 'embed' | 'lmHead' | 'norm'>;

/** Final hidden states [B·L, D] of rows' last-layer states [B, L, D] (./programs.ts). */
function finalHidden(spec: ModelSpec, norm: np.Array, r: np.Array): np.Array {
  return rmsNorm(r, norm, spec.config.rmsNormEps).reshape([-1, spec.config.hiddenSize]);
}

/** Log-probs and entropies of the targets [N] from the rows' last-layer states (no gradient). */
export function rowStats(
  spec: ModelSpec,
  weights: HeadWeights,
  r: np.Array,
  targets: np.Array,
  opts: HeadOptions,
): { logp: np.Array; entropy: np.Array } {
  const head = headMatrix({ embed: weights.embed, lmHead: weights.lmHead });
  const stats = headForward(finalHidden(spec, weights.norm, r), head, targets, headOpts(opts));
  stats.lse.dispose();
  return { logp: stats.logp, entropy: stats.entropy };
}

function headOpts(opts: HeadOptions) {
  return { chunk: opts.vocabChunk, temperature: opts.temperature };
}

/** Loss terms and their cotangents with respect to logp and H, per token. Consumes its inputs. */
function tokenTerms(stats: HeadStats, tok: TokenInputs, opts: LossOptions) {
  const { logp, entropy } = stats;
  const w = tok.weight;
  const adv = tok.advantage;
  const ratio = tok.oldLogp ? np.exp(logp.ref.sub(tok.oldLogp)) : np.onesLike(logp.ref);
  const unclipped = ratio.ref.mul(adv.ref);
  const clipped = np.clip(ratio.ref, 1 - opts.epsilon, 1 + opts.epsilon).mul(adv.ref);
  const useUnclipped = unclipped.ref.lessEqual(clipped.ref);
  const pg = np.minimum(unclipped, clipped).neg();
  // d pg / d logp: -A·ratio where the unclipped branch is the minimum, else 0.
  let gLogp = np.where(useUnclipped.ref, ratio.mul(adv).neg(), 0);
  let perToken = pg.ref;
  let kl = np.zerosLike(logp.ref);
  if (opts.beta > 0) {
    if (!tok.refLogp) throw new Error('beta > 0 needs reference log-probs');
    const diff = tok.refLogp.sub(logp.ref);
    const expDiff = np.exp(diff.ref);
    kl.dispose();
    kl = expDiff.ref.sub(diff).sub(1);
    perToken = perToken.add(kl.ref.mul(opts.beta));
    gLogp = gLogp.add(np.negative(expDiff).add(1).mul(opts.beta));
  } else {
    tok.refLogp?.dispose();
  }
  perToken = perToken.sub(entropy.ref.mul(opts.entropyCoef));
  const weighted = (x: np.Array) => x.mul(w.ref).sum();
  const metrics: LossMetrics = {
    loss: weighted(perToken),
    pgLoss: weighted(pg),
    kl: weighted(kl),
    entropy: weighted(entropy),
    clipFraction: weighted(np.where(useUnclipped, 0, 1)),
    logp: weighted(logp),
  };
  const gEntropy = w.ref.mul(-opts.entropyCoef);
  return { metrics, gLogp: gLogp.mul(w), gEntropy };
}

/**
 * The function to differentiate with respect to the rows' last-layer states `r` [B, L, D]
 * (argument 0): returns [surrogate, metrics]. Use as jit(valueAndGrad(f, { hasAux: true })); the
 * gradient is the cotangent the layers' backward pass starts from (./programs.ts).
 */
export function headSurrogate(
  spec: ModelSpec,
  opts: LossOptions,
): (r: np.Array, weights: HeadWeights, tokens: TokenInputs) => [np.Array, LossMetrics] {
  return (r, weights, tokens) => {
    const head = headMatrix({ embed: weights.embed, lmHead: weights.lmHead });
    const h = finalHidden(spec, weights.norm, r);
    const hs = lax.stopGradient(h.ref);
    const { targets } = tokens;
    const stats = headForward(hs.ref, head.ref, targets.ref, headOpts(opts));
    const lse = stats.lse;
    const entropy = stats.entropy.ref;
    const { metrics, gLogp, gEntropy } = tokenTerms(stats, tokens, opts);
    const dh = headBackward(
      hs,
      head,
      targets,
      { lse, entropy },
      { gLogp, gEntropy },
      headOpts(opts),
    );
    const surrogate = h.mul(lax.stopGradient(dh)).sum();
    return [surrogate, metrics];
  };
}
