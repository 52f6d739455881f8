"""Greedy and sampled decoding with the KV cache, answer extraction, and eval.json numbers."""

import re
from collections import Counter

import numpy as np
import torch

import data
import shapes

MAX_NEW = 4  # answers are one token + <end_of_utterance>; a little slack for babble


def extract(text, is_mc):
    """Spec section 2 (the subset this domain needs)."""
    if is_mc:
        m = re.findall(r"\b(A|B|C|D)\b", text.upper())
        return m[-1] if m else text.strip()
    t = " ".join(text.strip().lower().split())
    t = t[:-1] if t.endswith(".") else t
    t = re.sub(r"^(the|a|an)\s+", "", t)
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    return str(words.index(t)) if t in words else t


@torch.no_grad()
def generate(model, prompts, px, eou_id, n=1, temperature=0.0, gen=None, max_new=MAX_NEW):
    """prompts: list of token-id lists (same image-token layout), px [B,3,H,W].
    Returns, per prompt, n completions (lists of ids, ending with <end_of_utterance> if emitted).
    Left-pads the batch and passes the 2-D attention mask, as transformers.js does."""
    B = len(prompts)
    T = max(len(p) for p in prompts)
    ids = torch.zeros((B, T), dtype=torch.long)
    am = torch.zeros((B, T), dtype=torch.long)
    for b, p in enumerate(prompts):
        ids[b, T - len(p) :] = torch.tensor(p)
        am[b, T - len(p) :] = 1
    pos = (am.cumsum(-1) - 1).clamp(min=0)
    logits, past = model(ids, px, attention_mask=am, position_ids=pos)
    last = logits[:, -1]
    if n > 1:  # share the prefill between the n samples of a prompt
        last = last.repeat_interleave(n, 0)
        past = [(k.repeat_interleave(n, 0), v.repeat_interleave(n, 0)) for k, v in past]
        am = am.repeat_interleave(n, 0)
        pos = pos.repeat_interleave(n, 0)
    R = last.shape[0]
    out = [[] for _ in range(R)]
    done = torch.zeros(R, dtype=torch.bool)
    next_pos = pos[:, -1:] + 1
    for _ in range(max_new):
        if temperature == 0.0:
            tok = last.argmax(-1)
        else:
            probs = torch.softmax(last.double() / temperature, -1)
            tok = torch.multinomial(probs, 1, generator=gen)[:, 0]
        for r in range(R):
            if not done[r]:
                out[r].append(int(tok[r]))
        done |= tok == eou_id
        if bool(done.all()):
            break
        am = torch.cat([am, torch.ones((R, 1), dtype=torch.long)], 1)
        emb = model.model.text_model.embed_tokens(tok[:, None])
        h, past = model.model.text_model(emb, next_pos, am, past)
        last = model.lm_head(h)[:, -1]
        next_pos = next_pos + 1
    return [out[i * n : (i + 1) * n] for i in range(B)]


def eval_split(model, tok, enc, split, items, seed, n_samples=16, batch=32):
    """Greedy accuracy, mean single-sample accuracy and majority-of-n accuracy (temperature 1)."""
    eou = tok.vocab[data.EOU]
    gen = torch.Generator().manual_seed(seed * 1000 + shapes.SPLIT_IDS[split])
    per = {}
    rows = []
    for s in range(0, len(items), batch):
        chunk = items[s : s + batch]
        prompts = [enc.prompt_ids(it["question"]) for it in chunk]
        px = torch.from_numpy(np.stack([data.pixels(it["image"]) for it in chunk]))
        greedy = generate(model, prompts, px, eou)
        samples = generate(model, prompts, px, eou, n=n_samples, temperature=1.0, gen=gen)
        for it, g, ss in zip(chunk, greedy, samples):
            mc = it["type"] == "mc"
            ans = lambda ids: extract(tok.decode(ids, skip_special=True), mc)
            gold = it["answer"]
            votes = [ans(x) for x in ss]
            # Plurality vote; ties go to the answer sampled first (deterministic).
            cnt = Counter(votes)
            top = max(cnt.values())
            maj = next(v for v in votes if cnt[v] == top)
            r = {
                "type": it["type"],
                "greedy": float(ans(g[0]) == gold),
                "sample": float(np.mean([v == gold for v in votes])),
                "majority": float(maj == gold),
            }
            rows.append(r)
    def summary(rs):
        return {
            "n_items": len(rs),
            "greedy_accuracy": round(float(np.mean([r["greedy"] for r in rs])), 4),
            "mean_sample_accuracy": round(float(np.mean([r["sample"] for r in rs])), 4),
            f"majority{n_samples}_accuracy": round(float(np.mean([r["majority"] for r in rs])), 4),
        }
    out = summary(rows)
    for q in shapes.QTYPES:
        per[q] = summary([r for r in rows if r["type"] == q])
    out["per_type"] = per
    return out
