"""A text-only copy curriculum for the multiple-choice letter binding, and the copy probe.

The choice types (`mc`, `recognition`) need an induction-style lookup: find the option whose text is
the answer word and output the letter written just before it. The demo decoder did not learn it from
the image items (docs/decisions.md, "Demo model v3 attempt"). A copy item has the exact prompt layout
of a real `mc` / `recognition` item (same instruction text, same options grammar, same image-token
block, but no image: the <image> tokens keep their own embedding and no vision compute runs), random
option words and the reply "It is <word>. <letter>" with the loss on the letter only (or on the whole
reply). Item `k` is a pure function of (seed, k).

The copy probe: give a real item's prompt (with its image) the reply prefix " It is <gold word>." and
take the argmax of the next-token logits over the four letters; the fraction equal to the gold letter.

    nice -n 15 /usr/bin/python3 tools/demo-model/copytask.py --steps 1500   # development experiment
"""

import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402
import shapes  # noqa: E402

COPY_STREAM = 11  # the copy items' own rng stream tag (data.reply_rng uses 7)
MIX_OFFSET = 1 << 24  # copy items mixed into the image phases come from here on (phase 0 uses the start)


def copy_item(k, seed, n_options=4):
    """Copy item k: dict(question, answer, word, type). Types alternate mc / recognition; the correct
    letter cycles over the options (k // 2 % n_options); mc asks colour or shape as the real items do."""
    rng = np.random.default_rng([seed, COPY_STREAM, k])
    L = shapes.LETTERS[:n_options]
    li = (k // 2) % n_options
    if k % 2 == 0:  # mc
        if rng.random() < 0.5:
            s = shapes.SHAPES[int(rng.integers(len(shapes.SHAPES)))]
            q, pool = f"What color is the {s}?", shapes.COLOR_NAMES
        else:
            c = shapes.COLOR_NAMES[int(rng.integers(len(shapes.COLOR_NAMES)))]
            q, pool = f"What shape is {c}?", shapes.SHAPES
        picks = [pool[i] for i in rng.permutation(len(pool))[:n_options]]
        word, opts = picks[li], picks
        text = q + " " + " ".join(f"{L[j]}. {o}" for j, o in enumerate(picks)) + " Answer with the letter."
        typ = "mc"
    else:  # recognition: the answer class plus same-shape, same-colour and neither distractors
        c = shapes.COLOR_NAMES[int(rng.integers(len(shapes.COLOR_NAMES)))]
        s = shapes.SHAPES[int(rng.integers(len(shapes.SHAPES)))]
        same_shape = [f"{c2} {s}" for c2 in shapes.COLOR_NAMES if c2 != c]
        same_color = [f"{c} {s2}" for s2 in shapes.SHAPES if s2 != s]
        neither = [f"{c2} {s2}" for c2 in shapes.COLOR_NAMES for s2 in shapes.SHAPES if c2 != c and s2 != s]
        distract = [same_shape[int(rng.integers(len(same_shape)))], same_color[int(rng.integers(len(same_color)))],
                    neither[int(rng.integers(len(neither)))]]
        distract = [distract[i] for i in rng.permutation(3)][: n_options - 1]
        word = f"{c} {s}"
        opts = distract[:li] + [word] + distract[li:]
        text = shapes.RECOGNITION_PROMPT + " " + " ".join(f"{L[j]}. {o}" for j, o in enumerate(opts))
        typ = "recognition"
    # Extra queries for the dense form: (word, letter) of the other options in a random order.
    extra = [(opts[j], L[j]) for j in rng.integers(n_options, size=8)]
    return {"question": text, "answer": L[li], "word": word, "type": typ, "extra": extra}


def copy_batch(enc, start, batch, seed, pad_id, letter_only=True, n_options=4, queries=1, short=False, lm=False, forward=False):
    """Copy items [start, start+batch) as (ids, targets) groups (mc, recognition: similar lengths).
    queries > 1: the reply asks more options after the answer ("It is red. B It is blue. D ..."),
    each letter a target (a denser signal for the same prompt)."""
    groups = {}
    letter_ids = {enc.tok.vocab["Ġ" + x] for x in shapes.LETTERS}
    dot = enc.tok.vocab["."]
    for k in range(start, start + batch):
        it = copy_item(k, seed, n_options)
        if short:  # curriculum: the options only, no instruction and no image block
            opts = it["question"][it["question"].index(" A. ") + 1 :].replace(" Answer with the letter.", "")
            p = enc.tok.encode(f"<|im_start|>User:{opts}{data.EOU}\nAssistant:")
        else:
            p = enc.prompt_ids(it["question"])
        qs = [(it["word"], it["answer"])] + it["extra"][: queries - 1]
        if forward:  # the classic induction direction, as the "dot" reply form: "B. blue D. red ..."
            c = enc.completion_ids(" ".join(f"{x}. {w}" for w, x in qs))
        else:
            c = enc.completion_ids(" ".join(f"It is {w}. {x}" for w, x in qs))
        groups.setdefault(it["type"], []).append((p, c))
    out = []
    for key in sorted(groups):
        g = groups[key]
        T = max(len(p) + len(c) for p, c in g)
        ids = torch.full((len(g), T), pad_id, dtype=torch.long)
        tgt = torch.full((len(g), T), -100, dtype=torch.long)
        for b, (p, c) in enumerate(g):
            ids[b, : len(p) + len(c)] = torch.tensor(p + c)
            if forward:  # every word token (after the letter and its '.')
                for j in range(1, len(c) - 1):
                    if c[j] not in letter_ids and c[j] != dot:
                        tgt[b, len(p) + j - 1] = c[j]
            elif letter_only:  # every letter after a '.' (c = [' It', ' is', w.., '.', ' X', ...]), predicted one position earlier
                for j in range(1, len(c)):
                    if c[j] in letter_ids and c[j - 1] == dot:
                        tgt[b, len(p) + j - 1] = c[j]
            else:
                tgt[b, len(p) - 1 : len(p) + len(c) - 1] = torch.tensor(c)
        aux = None
        if lm:  # next-token loss on everything else too (the options' letter order trains letter -> word-position features)
            aux = torch.full_like(tgt, -100)
            for b, (p, c) in enumerate(g):
                seq = torch.tensor(p + c)
                aux[b, : len(seq) - 1] = seq[1:]
            aux[tgt != -100] = -100
        out.append((ids, tgt, aux))
    return out


def copy_loss(model, groups, lm_weight=1.0):
    """Token-mean letter loss, plus lm_weight x the token-mean loss on the other tokens (lm=True batches)."""
    n_tok = sum(int((t != -100).sum()) for _, t, _ in groups)
    n_aux = sum(int((a != -100).sum()) for _, _, a in groups if a is not None)
    letter = other = 0.0
    for ids, tgt, aux in groups:
        h, _ = model.model.text_model(model.embed(ids, None))
        sel = tgt != -100
        letter = letter + F.cross_entropy(model.lm_head(h[sel]), tgt[sel], reduction="sum") / n_tok
        if aux is not None:
            sel = aux != -100
            other = other + F.cross_entropy(model.lm_head(h[sel]), aux[sel], reduction="sum") / n_aux
    return letter + lm_weight * other, letter


def train_copy(model, enc, pad_id, seed, short_steps, full_steps, batch=32, lr=2e-3, warmup=50, queries=6, log=print, every=500):
    """Phase 0 of a build with the copy curriculum (docs/decisions.md, "copy curriculum"): `short_steps`
    on options-only prompts, then `full_steps` on the real prompts, `queries` letter targets per reply
    plus the next-token loss on every other token; AdamW as train.py, constant LR after a linear
    warm-up. Deterministic: item k of the copy stream is a pure function of (seed, k), no other
    randomness (the torch RNG is not used)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
    model.train()
    t0, ema, steps = time.time(), None, short_steps + full_steps
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, (step + 1) / warmup)
        groups = copy_batch(enc, step * batch, batch, seed, pad_id, queries=queries, short=step < short_steps, lm=True)
        loss, letter = copy_loss(model, groups)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = letter.item() if ema is None else 0.95 * ema + 0.05 * letter.item()
        if (step + 1) % every == 0 or step == steps - 1:
            log(f"copy step {step + 1}/{steps} letter loss {ema:.4f} {time.time() - t0:.0f}s")
    model.eval()
    return model


@torch.no_grad()
def probe(model, tok, enc, items, with_image=True):
    """Copy probe: fraction of items where argmax over A-D after " It is <gold word>." is the gold letter.
    Returns (accuracy, histogram of the chosen letters)."""
    letters = [tok.vocab["Ġ" + L] for L in shapes.LETTERS]
    right, hist = 0, [0, 0, 0, 0]
    by_len = {}
    for it in items:
        ids = enc.prompt_ids(it["question"]) + enc.completion_ids(f"It is {it['word']}.")[:-1]  # drop <eou>
        by_len.setdefault(len(ids), []).append((ids, it))
    for T, g in by_len.items():
        ids = torch.tensor([x for x, _ in g])
        feats = None
        if with_image:
            feats = model.image_features(torch.from_numpy(np.stack([data.pixels(it["image"]) for _, it in g])))
        h, _ = model.model.text_model(model.embed(ids, feats))
        choice = model.lm_head(h[:, -1])[:, letters].argmax(-1)
        for ch, (_, it) in zip(choice.tolist(), g):
            hist[ch] += 1
            right += shapes.LETTERS[ch] == it["answer"]
    return right / len(items), hist


def val_choice_items(seed, n=120):
    """The first n `val` items of each choice type (types cycle every 6 items)."""
    out = {"mc": [], "recognition": []}
    i = 0
    while min(len(v) for v in out.values()) < n:
        q = shapes.QTYPES[i % len(shapes.QTYPES)]
        if q in out and len(out[q]) < n:
            out[q].append(shapes.make_item("val", i, seed))
        i += 1
    return out


def main():
    import train
    from build import SEED
    from corpus import domain_corpus
    from model import VLM, Config
    from tokenizer import Tokenizer

    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--two-first", type=int, default=0, help="steps with 2 options before the 4-option items")
    ap.add_argument("--full-loss", action="store_true", help="loss on the whole reply, not only the letter")
    ap.add_argument("--queries", type=int, default=1)
    ap.add_argument("--wide", action="store_true", help="experiment: decoder hidden 256, 8 heads / 4 KV heads, MLP 512")
    ap.add_argument("--forward", action="store_true", help="letter -> word replies (B. blue) instead of word -> letter")
    ap.add_argument("--lm", action="store_true", help="also next-token loss on the prompt and the rest of the reply")
    ap.add_argument("--short-steps", type=int, default=0, help="first steps with the options-only prompt")
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--n-probe", type=int, default=60)
    ap.add_argument("--load", default=None)
    ap.add_argument("--save", default=None)
    ap.add_argument("--then-steps", type=int, default=0, help="then normal image training (phase-1a recipe) for this many steps")
    ap.add_argument("--then-batch", type=int, default=32)
    ap.add_argument("--then-lr", type=float, default=2e-3)
    ap.add_argument("--then-every", type=int, default=200)
    ap.add_argument("--then-copy", type=int, default=0, help="copy items per step mixed into the image training")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    tok = Tokenizer.build(domain_corpus())
    c = Config(vocab_size=len(tok.vocab), image_token_id=tok.vocab["<image>"])
    if args.wide:
        c = Config(vocab_size=len(tok.vocab), image_token_id=tok.vocab["<image>"], hidden=256, intermediate=512, heads=8, kv_heads=4)
    enc = data.Encoder(tok, c.image_seq_len)
    pad = tok.vocab["<|im_end|>"]
    torch.manual_seed(SEED)
    model = VLM(c)
    if args.load:
        model.load_state_dict(torch.load(args.load))
    val = val_choice_items(SEED, args.n_probe)

    def report(tag, images=True):
        model.eval()
        r = []
        for q in ("mc", "recognition"):
            a, h = probe(model, tok, enc, val[q], with_image=False)
            r.append(f"{q} text {a:.2f}")
            if images:
                a, h = probe(model, tok, enc, val[q], with_image=True)
                r.append(f"img {a:.2f} {h}")
        print(f"[probe] {tag}: " + " | ".join(r) + f" | load {os.getloadavg()[0]:.2f}", flush=True)
        model.train()

    report("init")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    model.train()
    t0 = time.time()
    ema = None
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / args.warmup)
        nopt = 2 if step < args.two_first else 4
        groups = copy_batch(enc, step * args.batch, args.batch, SEED, pad, letter_only=not args.full_loss, n_options=nopt, queries=args.queries, short=step < args.short_steps, lm=args.lm, forward=args.forward)
        loss, lt = copy_loss(model, groups)
        lt = lt.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = lt if ema is None else 0.95 * ema + 0.05 * lt
        if (step + 1) % args.every == 0 or step == args.steps - 1:
            print(f"step {step + 1} loss {ema:.4f} {time.time() - t0:.0f}s", flush=True)
            report(f"copy step {step + 1} ({time.time() - t0:.0f}s)", images=(step + 1) % (args.every * 3) == 0 or step == args.steps - 1)
    if args.save:
        torch.save(model.state_dict(), args.save)
    if args.then_steps:
        import replies
        t1 = time.time()
        train.train(model, enc, pad, SEED, args.then_steps, args.then_batch, args.then_lr, 100, every=args.then_every,
                    mix=replies.STAGE1_MIX, copy=args.then_copy, on_eval=lambda s: report(f"image step {s} ({time.time() - t1:.0f}s)"))


if __name__ == "__main__":
    main()
