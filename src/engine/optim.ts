// AdamW over the LoRA tree, as PyTorch's torch.optim.AdamW (decoupled weight decay, bias
// correction), after gradient-norm clipping as torch.nn.utils.clip_grad_norm_.
import { jit, numpy as np, tree } from '@jax-js/jax';
import type { LoraParams } from './decoder';

export type AdamWOptions = {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
};

export const ADAMW_DEFAULTS: AdamWOptions = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
};

export type AdamMoments = { m: LoraParams; v: LoraParams };

export function zerosLikeTree(t: LoraParams): LoraParams {
  return tree.map((x: np.Array) => np.zerosLike(x.ref), t) as LoraParams;
}

/** √(Σ g²) over every tensor of the tree. Consumes `grads`. */
export const globalNorm = jit((grads: LoraParams) => {
  const squares = tree.leaves(grads).map((g: np.Array) => np.square(g).sum());
  return np.sqrt(squares.reduce((a, b) => a.add(b)));
});

/** The clip_grad_norm_ factor: max_norm / (norm + 1e-6), capped at 1; 0 turns clipping off. */
export function clipCoefficient(norm: number, maxGradNorm: number): number {
  if (maxGradNorm <= 0) return 1;
  return Math.min(1, maxGradNorm / (norm + 1e-6));
}

/**
 * One AdamW update, jitted per option set. `scalars` = [lr, gradient scale (clip), 1 - β1^t,
 * 1 - β2^t] as an array so that a new step or rate does not recompile. Consumes everything.
 */
export function adamwUpdate(opts: AdamWOptions) {
  return jit((params: LoraParams, grads: LoraParams, moments: AdamMoments, scalars: np.Array) => {
    const [lr, gradScale, bc1, bc2] = np.unstack(scalars) as [
      np.Array,
      np.Array,
      np.Array,
      np.Array,
    ];
    const [pLeaves, def] = tree.flatten(params);
    const gLeaves = tree.leaves(grads) as np.Array[];
    const mLeaves = tree.leaves(moments.m) as np.Array[];
    const vLeaves = tree.leaves(moments.v) as np.Array[];
    const newP: np.Array[] = [];
    const newM: np.Array[] = [];
    const newV: np.Array[] = [];
    pLeaves.forEach((p0, i) => {
      const p = p0 as np.Array;
      const g = (gLeaves[i] as np.Array).mul(gradScale.ref);
      const m = (mLeaves[i] as np.Array).mul(opts.beta1).add(g.ref.mul(1 - opts.beta1));
      const v = (vLeaves[i] as np.Array).mul(opts.beta2).add(np.square(g).mul(1 - opts.beta2));
      const denom = np.sqrt(v.ref.div(bc2.ref)).add(opts.eps);
      const decayed = p.ref.sub(p.mul(lr.ref).mul(opts.weightDecay));
      newP.push(decayed.sub(m.ref.div(bc1.ref).div(denom).mul(lr.ref)));
      newM.push(m);
      newV.push(v);
    });
    tree.dispose([lr, gradScale, bc1, bc2]);
    return {
      params: tree.unflatten(def, newP) as LoraParams,
      moments: {
        m: tree.unflatten(def, newM) as LoraParams,
        v: tree.unflatten(def, newV) as LoraParams,
      },
    };
  });
}
