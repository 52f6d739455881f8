"""Training loop: clean `train` split only, next-token loss on the completion tokens."""

import math
import time

import torch
import torch.nn.functional as F

import copytask
import data
import shapes


def lr_at(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))  # cosine to 10 % of peak


def train(model, enc, pad_id, seed, steps, batch, peak_lr=2e-3, warmup=60, aux_weight=1.0, log=print, every=50, on_eval=None,
          mix=None, start_step=0, aux_seed=None, copy=0):
    """Next-token loss on the completion, plus (training only) an auxiliary loss that asks each
    image token the colour and shape of the object centred in its 16x16 px cell. The auxiliary
    head is thrown away: it only gives the vision tower a dense signal early on, which a tiny
    VLM otherwise gets very slowly through the one-token answers.
    copy > 0: each step also trains `copy` text-only copy items (copytask.py, letter loss, weight 1)
    from the copy stream at offset (start_step + step) * copy, so the choice letter binding stays."""
    n_col, n_shp = 1 + len(shapes.COLOR_NAMES), 1 + len(shapes.SHAPES)
    if aux_seed is not None:  # later phases: their auxiliary head's init does not depend on earlier phases
        torch.manual_seed(aux_seed)
    aux = torch.nn.Linear(model.c.hidden, n_col + n_shp)
    params = list(model.parameters()) + list(aux.parameters())
    opt = torch.optim.AdamW(params, lr=peak_lr, betas=(0.9, 0.98), weight_decay=0.01)
    model.train()
    t0 = time.time()
    ema = None
    for step in range(steps):
        groups = data.train_batch(enc, "train", (start_step + step) * batch, batch, seed, pad_id, mix)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, peak_lr, warmup)
        # Token-mean cross-entropy over the whole batch, summed over its length groups.
        n_tok = sum(int((tgt != -100).sum()) for _, tgt, _, _ in groups)
        n_cell = sum(px.shape[0] for _, _, px, _ in groups) * model.c.image_seq_len
        lm = la = 0.0
        for ids, tgt, px, cells in groups:
            feats = model.image_features(px)
            h, _ = model.model.text_model(model.embed(ids, feats))
            logits = model.lm_head(h)
            lm = lm + F.cross_entropy(logits.view(-1, logits.shape[-1]), tgt.view(-1), ignore_index=-100, reduction="sum") / n_tok
            za = aux(feats)
            la = la + (F.cross_entropy(za[..., :n_col].reshape(-1, n_col), cells[0].view(-1), reduction="sum") + F.cross_entropy(
                za[..., n_col:].reshape(-1, n_shp), cells[1].view(-1), reduction="sum")) / n_cell
        loss = lm + aux_weight * la
        if copy:
            loss = loss + copytask.copy_loss(model, copytask.copy_batch(enc, copytask.MIX_OFFSET + (start_step + step) * copy, copy, seed, pad_id))[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema = [lm.item(), la.item()] if ema is None else [0.95 * e + 0.05 * v for e, v in zip(ema, (lm.item(), la.item()))]
        if (step + 1) % every == 0 or step == steps - 1:
            log(f"step {step + 1}/{steps} loss {ema[0]:.4f} aux {ema[1]:.4f} lr {opt.param_groups[0]['lr']:.2e} {time.time() - t0:.0f}s")
            if on_eval is not None:
                model.eval()
                on_eval(step + 1)
                model.train()
    model.eval()
    return model
