"""A text-only copy curriculum for the multiple-choice letter binding, and the copy probe.

The choice types (`mc`, `recognition`) need an induction-style lookup: find the option whose text is
the answer word and output the letter written just before it. The demo decoder did not learn it from
the image items (docs/experiments/2026-12-02-demo-model-v3-attempt.md). A copy item has the exact prompt layout
of a real `mc` / `recognition` item (same instruction text, same options grammar, same image-token
block, but no image: the <image> tokens keep their own embedding and no vision compute runs), random
option words and the reply "It is <word>. <letter>" with the loss on the letter only (or on the whole
reply). Item `k` is a pure function of (seed, k).

The copy probe: give a real item's prompt (with its image) the reply prefix " It is <gold word>." and
take the argmax of the next-token logits over the four letters; the fraction equal to the gold letter.
"""

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

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
