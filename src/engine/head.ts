// The LM head at full vocabulary size without ever holding N × V logits, and without autodiff
// through it (the Liger-kernel fused-linear-cross-entropy idea).
//
// Forward: logits are computed one vocabulary chunk at a time; an online log-sum-exp keeps the
// running max m, s = Σ exp(z - m) and t = Σ exp(z - m)·z, from which
//   log p(target) = z_target - (m + log s)     and     H = (m + log s) - t / s.
// The target logit is selected with a comparison mask (arange(chunk) == target, then where):
// nn.oneHot over the vocabulary breaks under jit at large V (CONTRIBUTING.md).
//
// Backward: given per-token cotangents g_logp and g_H (from the loss), the gradient with respect
// to the logits of a chunk is
//   dz_k = g_logp · (1[k = target] - p_k) - g_H · p_k · (log p_k + H)
// and dh = Σ_chunks dz Wc, again one chunk at a time. lm_head is frozen, so dW is never needed.
import { numpy as np, tree } from '@jax-js/jax';

export const DEFAULT_VOCAB_CHUNK = 8192;

export type HeadStats = {
  /** log p(target) per row [N]. */
  logp: np.Array;
  /** Entropy of each row's next-token distribution [N]. */
  entropy: np.Array;
  /** log-sum-exp of each row's logits [N] (for the backward pass). */
  lse: np.Array;
};

function chunkBounds(vocab: number, chunk: number): [number, number][] {
  const out: [number, number][] = [];
  for (let v = 0; v < vocab; v += chunk) out.push([v, Math.min(vocab, v + chunk)]);
  return out;
}

/** Logits of one vocabulary chunk [N, Vc] and the mask selecting each row's target in it. */
function chunkLogits(
  hidden: np.Array,
  head: np.Array,
  targets: np.Array,
  [start, stop]: [number, number],
  invTemperature: number,
): { z: np.Array; isTarget: np.Array } {
  let z = np.matmul(hidden, head.slice([start, stop]).transpose());
  if (invTemperature !== 1) z = z.mul(invTemperature);
  const ids = np.arange(start, stop, 1, { dtype: np.int32 }).reshape([1, stop - start]);
  const isTarget = ids.equal(targets.reshape([-1, 1]));
  return { z, isTarget };
}

/** Online log-sum-exp state over the chunks seen so far: max m, Σ e^(z-m), Σ e^(z-m)·z, z_target. */
type Running = { m: np.Array; s: np.Array; t: np.Array; zTarget: np.Array };

function summarize(z: np.Array, isTarget: np.Array): Running {
  const zTarget = np.where(isTarget, z.ref, 0).sum(-1);
  const m = z.ref.max(-1);
  const e = np.exp(z.ref.sub(m.ref.reshape([-1, 1])));
  return { m, s: e.ref.sum(-1), t: e.mul(z).sum(-1), zTarget };
}

function merge(a: Running, b: Running): Running {
  const m = np.maximum(a.m.ref, b.m.ref);
  const ra = np.exp(a.m.sub(m.ref));
  const rb = np.exp(b.m.sub(m.ref));
  return {
    m,
    s: a.s.mul(ra.ref).add(b.s.mul(rb.ref)),
    t: a.t.mul(ra).add(b.t.mul(rb)),
    zTarget: a.zTarget.add(b.zTarget),
  };
}

/**
 * Target log-probs and entropies of hidden states h [N, D] under head [V, D] (logits divided by
 * `temperature`). Consumes its arguments. Not differentiable by autodiff: use headBackward.
 */
export function headForward(
  hidden: np.Array,
  head: np.Array,
  targets: np.Array,
  opts: { chunk?: number; temperature?: number } = {},
): HeadStats {
  const vocab = head.shape[0] as number;
  const inv = 1 / (opts.temperature ?? 1);
  let acc: Running | null = null;
  for (const bounds of chunkBounds(vocab, opts.chunk ?? DEFAULT_VOCAB_CHUNK)) {
    const { z, isTarget } = chunkLogits(hidden.ref, head.ref, targets.ref, bounds, inv);
    const part = summarize(z, isTarget);
    acc = acc ? merge(acc, part) : part;
  }
  tree.dispose([hidden, head, targets]);
  const { m, s, t, zTarget } = acc as Running;
  const lse = m.add(np.log(s.ref));
  const entropy = lse.ref.sub(t.div(s));
  return { logp: zTarget.sub(lse.ref), entropy, lse };
}

/**
 * dL/dh [N, D] for a loss that depends on the head only through log p(target) and H, given
 * their cotangents gLogp and gEntropy [N]. Consumes its arguments.
 */
export function headBackward(
  hidden: np.Array,
  head: np.Array,
  targets: np.Array,
  stats: { lse: np.Array; entropy: np.Array },
  cotangents: { gLogp: np.Array; gEntropy: np.Array },
  opts: { chunk?: number; temperature?: number } = {},
): np.Array {
  const vocab = head.shape[0] as number;
  const chunks = chunkBounds(vocab, opts.chunk ?? DEFAULT_VOCAB_CHUNK);
  const inv = 1 / (opts.temperature ?? 1);
  const lse = stats.lse.reshape([-1, 1]);
  const entropy = stats.entropy.reshape([-1, 1]);
  const gLogp = cotangents.gLogp.reshape([-1, 1]);
  const gEntropy = cotangents.gEntropy.reshape([-1, 1]);
  let dh: np.Array | null = null;
  for (const bounds of chunks) {
    const { z, isTarget } = chunkLogits(hidden.ref, head.ref, targets.ref, bounds, inv);
    const logp = z.sub(lse.ref);
    const p = np.exp(logp.ref);
    const fromTarget = np.where(isTarget, gLogp.ref, 0).sub(p.ref.mul(gLogp.ref));
    const fromEntropy = p.mul(logp.add(entropy.ref)).mul(gEntropy.ref);
    let dz = fromTarget.sub(fromEntropy);
    if (inv !== 1) dz = dz.mul(inv);
    const part = np.matmul(dz, head.ref.slice([bounds[0], bounds[1]]));
    dh = dh ? dh.add(part) : part;
  }
  tree.dispose([hidden, head, targets, lse, entropy, gLogp, gEntropy]);
  return dh as unknown as np.Array;
}
