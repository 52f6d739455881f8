"""Training: the phases of a build, one loop, and checkpoints that let a build stop and resume anywhere.

A phase is (name, kind, steps, batch, peak LR, warm-up, ...). Kinds:
    vision  the vision tower and connector alone, on the auxiliary cell labels (no text)
    copy    text-only copy items (copytask.py): the multiple-choice word -> letter lookup
    image   clean image items, next-token loss on the reply, plus the auxiliary cell loss and
            `copy` copy items per step so that the lookup survives
Every item is a pure function of (seed, stream, index) and the stream index of step k is fixed by
the phase, so a build resumed from a checkpoint trains on exactly the items an uninterrupted build
would, and (one torch thread, deterministic algorithms) ends with the same weights.
"""

import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

import copytask
import data
import shapes

# Stream offsets: the vision phase draws its own clean `train` items, far from the image phases'.
VISION_STREAM = 1 << 26


@dataclass
class Phase:
    name: str
    kind: str  # vision | copy | image
    steps: int
    batch: int
    peak_lr: float
    warmup: int
    cosine: bool = True  # warm-up then cosine to 10 % of the peak; False: constant after the warm-up
    mix: dict = None  # image phases: the reply-form mixture (replies.py)
    start: int = 0  # image phases: first step of the item stream (phases after another start after it)
    copy: int = 0  # image phases: copy items per step
    short_steps: int = 0  # copy phase: first steps on options-only prompts
    queries: int = 6  # copy phase: letters asked per reply

    def to_dict(self):
        return {k: v for k, v in asdict(self).items() if v is not None}


def lr_at(step, ph):
    if step < ph.warmup:
        return ph.peak_lr * (step + 1) / ph.warmup
    if not ph.cosine:
        return ph.peak_lr
    p = (step - ph.warmup) / max(1, ph.steps - ph.warmup)
    return ph.peak_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))  # cosine to 10 % of peak


def aux_head(model):
    """Training-only head over the image tokens: the colour and the shape of the object covering each
    cell (data.cell_labels). Thrown away at export: it gives the vision tower a dense signal that the
    few reply tokens alone give a tiny VLM very slowly."""
    return torch.nn.Linear(model.c.hidden, 1 + len(shapes.COLOR_NAMES) + 1 + len(shapes.SHAPES))


def aux_loss(aux, feats, cells):
    n_col = 1 + len(shapes.COLOR_NAMES)
    za = aux(feats)
    return F.cross_entropy(za[..., :n_col].reshape(-1, n_col), cells[0].view(-1), reduction="sum") + F.cross_entropy(
        za[..., n_col:].reshape(-1, za.shape[-1] - n_col), cells[1].view(-1), reduction="sum")


def vision_loss(model, aux, seed, ph, step):
    items = [shapes.make_item("train", VISION_STREAM + step * ph.batch + i, seed) for i in range(ph.batch)]
    px = torch.from_numpy(np.stack([data.pixels(it["image"]) for it in items]))
    la = aux_loss(aux, model.image_features(px), data.cell_labels(items)) / (len(items) * model.c.image_seq_len)
    return la, {"aux": la.item()}


def copy_phase_loss(model, enc, pad_id, seed, ph, step):
    groups = copytask.copy_batch(enc, step * ph.batch, ph.batch, seed, pad_id, queries=ph.queries, short=step < ph.short_steps, lm=True)
    loss, letter = copytask.copy_loss(model, groups)
    return loss, {"letter": letter.item()}


def image_loss(model, aux, enc, pad_id, seed, ph, step):
    """Token-mean cross-entropy on the replies over the whole batch (summed over its length groups),
    plus the auxiliary cell loss, plus `copy` copy items (letter loss)."""
    k = ph.start + step
    groups = data.train_batch(enc, "train", k * ph.batch, ph.batch, seed, pad_id, ph.mix)
    n_tok = sum(int((tgt != -100).sum()) for _, tgt, _, _ in groups)
    n_cell = sum(px.shape[0] for _, _, px, _ in groups) * model.c.image_seq_len
    lm = la = 0.0
    for ids, tgt, px, cells in groups:
        feats = model.image_features(px)
        h, _ = model.model.text_model(model.embed(ids, feats))
        sel = tgt != -100  # the head only where there is a target: ~5 of ~50 positions
        lm = lm + F.cross_entropy(model.lm_head(h[sel]), tgt[sel], reduction="sum") / n_tok
        la = la + aux_loss(aux, feats, cells) / n_cell
    loss = lm + la
    parts = {"loss": lm.item(), "aux": la.item()}
    if ph.copy:
        cl = copytask.copy_loss(model, copytask.copy_batch(enc, copytask.MIX_OFFSET + k * ph.copy, ph.copy, seed, pad_id))[0]
        loss = loss + cl
        parts["copy"] = cl.item()
    return loss, parts


class Checkpoints:
    """The training state in `folder/latest.pt`, written at least every `every_s` seconds and at the end
    of every phase (atomically: a stopped build never leaves a half-written checkpoint), plus each
    finished phase's weights in `folder/phase-<name>.pt`."""

    def __init__(self, folder, every_s, recipe, log=print):
        self.folder, self.every_s, self.recipe, self.log = folder, every_s, recipe, log
        os.makedirs(folder, exist_ok=True)
        self.last = time.time()

    def latest(self):
        path = os.path.join(self.folder, "latest.pt")
        if not os.path.exists(path):
            return None
        state = torch.load(path)
        if state["recipe"] != self.recipe:
            raise SystemExit(f"{path} was written by another recipe; resume it with the build.py that wrote it, or start a new folder")
        return state

    def due(self):
        return time.time() - self.last >= self.every_s

    def save(self, phase, step, model, opt, aux):
        state = {"recipe": self.recipe, "phase": phase, "step": step, "model": model.state_dict(), "opt": opt.state_dict(),
                 "aux": aux.state_dict()}
        tmp = os.path.join(self.folder, "latest.pt.tmp")
        torch.save(state, tmp)
        os.replace(tmp, os.path.join(self.folder, "latest.pt"))
        self.last = time.time()
        self.log(f"checkpoint: phase {phase} step {step} ({self.folder}, load average {os.getloadavg()[0]:.2f})")


def run_phase(ph, model, aux, enc, pad_id, seed, ckpt=None, resume=None, log=print, every=None, on_eval=None, stop_at=None):
    """Train one phase from `resume` (a checkpoint of this phase) or from its start. stop_at: a step
    at which to checkpoint and return False, as a build stopped there would (the resume check)."""
    if ph.kind == "vision":
        params = list(model.model.vision_model.parameters()) + list(model.model.connector.parameters()) + list(aux.parameters())
        step_loss = lambda k: vision_loss(model, aux, seed, ph, k)
    elif ph.kind == "copy":  # no image: the vision tower gets no gradient and is left as it is
        params = list(model.parameters())
        step_loss = lambda k: copy_phase_loss(model, enc, pad_id, seed, ph, k)
    else:
        params = list(model.parameters()) + list(aux.parameters())
        step_loss = lambda k: image_loss(model, aux, enc, pad_id, seed, ph, k)
    opt = torch.optim.AdamW(params, lr=ph.peak_lr, betas=(0.9, 0.98), weight_decay=0.01)
    first = 0
    if resume is not None:
        opt.load_state_dict(resume["opt"])
        first = resume["step"]
    every = every or max(1, ph.steps // 20)
    model.train()
    t0, ema = time.time(), {}
    for step in range(first, ph.steps):
        if ckpt is not None and (ckpt.due() or step == stop_at):
            ckpt.save(ph.name, step, model, opt, aux)
        if step == stop_at:
            return False
        for g in opt.param_groups:
            g["lr"] = lr_at(step, ph)
        loss, parts = step_loss(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema = {k: v if k not in ema else 0.95 * ema[k] + 0.05 * v for k, v in parts.items()}
        if (step + 1) % every == 0 or step == ph.steps - 1:
            log(f"{ph.name} step {step + 1}/{ph.steps} " + " ".join(f"{k} {v:.4f}" for k, v in ema.items())
                + f" lr {opt.param_groups[0]['lr']:.2e} {time.time() - t0:.0f}s load {os.getloadavg()[0]:.2f}")
            if on_eval is not None and ((step + 1) % (every * 5) == 0 or step == ph.steps - 1):
                model.eval()
                on_eval(ph, step + 1)
                model.train()
    if ckpt is not None:
        ckpt.save(ph.name, ph.steps, model, opt, aux)
        torch.save(model.state_dict(), os.path.join(ckpt.folder, f"phase-{ph.name}.pt"))
    model.eval()
    return True
