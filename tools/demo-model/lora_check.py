"""Can a LoRA on the decoder's projections sharpen the demo model? A PyTorch re-implementation of
TTRV's dataset protocol (spec sections 1 and 3) on saved or shipped weights, for measurement only:

    nice -n 15 /usr/bin/python3 tools/demo-model/lora_check.py [--weights saved.pt] --split sketch

LoRA (PEFT init: A Kaiming-uniform, B zeros) r 8, alpha 16, on all 7 projections of every decoder
layer; final norm, lm_head and everything else frozen. Adapt on `--adapt` items drawn from the
evaluated split (labels unused), `--epochs` epochs, `--prompts` prompts per step, 32 votes per
prompt at temperature 1 of which the first 16 are trained, TTRV frequency reward (the entropy term
cancels under the group baseline), GRPO advantages, token-mean policy gradient, no KL, AdamW.
Then greedy accuracy and format failures over the first `--n` items of the split, and the mean
probability of each item's most frequent answer (sharpness), before and after.
"""

import argparse
import math
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
from collections import Counter

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402
import shapes  # noqa: E402
from build import NAME, SEED, TEST_SPLITS  # noqa: E402
from corpus import domain_corpus  # noqa: E402
from golden import TARGETS  # noqa: E402
from model import VLM, Config  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402


def make_lora(model, r, alpha, gen):
    params = []
    for layer in model.model.text_model.layers:
        for block, name in TARGETS:
            lin = getattr(getattr(layer, block), name)
            out_f, in_f = lin.weight.shape
            bound = 1.0 / math.sqrt(in_f)
            A = ((torch.rand(r, in_f, generator=gen) * 2 - 1) * bound).requires_grad_()
            B = torch.zeros(out_f, r, requires_grad=True)
            lin.lora = (A, B, alpha / r)
            params += [A, B]
    return params


def completion_logprobs(model, prompt, feats, comps):
    """Sum-free per-token log-probs of each completion (list of id lists) after one prompt."""
    rows = [prompt + c for c in comps]
    T = max(len(x) for x in rows)
    ids = torch.zeros(len(rows), T, dtype=torch.long)
    for b, x in enumerate(rows):
        ids[b, : len(x)] = torch.tensor(x)
    h, _ = model.model.text_model(model.embed(ids, feats.expand(len(rows), -1, -1)))
    logp = torch.log_softmax(model.lm_head(h), -1)
    out = []
    for b, c in enumerate(comps):
        pos = torch.arange(len(prompt) - 1, len(prompt) - 1 + len(c))
        out.append(logp[b, pos, torch.tensor(c)])
    return out


def measure(model, tok, enc, items, split, n_votes=32):
    ev = evaluate.eval_split(model, tok, enc, split, items, SEED + 1, n_samples=n_votes, keep_rows=True)
    return ev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=None, help="torch state dict (default: the shipped model.safetensors)")
    ap.add_argument("--split", default="sketch")
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--adapt", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    tok = Tokenizer.build(domain_corpus())
    c = Config(vocab_size=len(tok.vocab), image_token_id=tok.vocab["<image>"])
    enc = data.Encoder(tok, c.image_seq_len)
    model = VLM(c)
    if args.weights:
        model.load_state_dict(torch.load(args.weights))
    else:
        root = os.path.dirname(os.path.dirname(HERE))
        sd = export.load_safetensors(os.path.join(root, "public", "models", NAME, "model.safetensors"))
        model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    eou = tok.vocab[data.EOU]
    items = [shapes.make_item(TEST_SPLITS[args.split], i, SEED) for i in range(args.n)]
    before = measure(model, tok, enc, items, args.split)

    gen = torch.Generator().manual_seed(args.seed)
    params = make_lora(model, 8, 16, gen)
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), weight_decay=0.01)
    rng = np.random.default_rng(args.seed)
    adapt = [items[i] for i in rng.choice(len(items), args.adapt, replace=False)]
    step = 0
    for ep in range(args.epochs):
        order = rng.permutation(len(adapt))
        for s in range(0, len(order), args.prompts):
            losses, n_tok, agree = 0.0, 0, []
            opt.zero_grad()
            for k in order[s : s + args.prompts]:
                it = adapt[k]
                prompt = enc.prompt_ids(it["question"])
                px = torch.from_numpy(data.pixels(it["image"]))[None]
                with torch.no_grad():
                    comps = evaluate.generate(model, [prompt], px, eou, n=32, temperature=1.0, gen=gen)[0]
                votes = [evaluate.extract(tok.decode(x, skip_special=True), it["question"]) for x in comps]
                cnt = Counter(votes)
                agree.append(max(cnt.values()) / 32)
                r = torch.tensor([cnt[v] / 32 for v in votes[:16]], dtype=torch.float64)
                adv = ((r - r.mean()) / (r.std() + 1e-6)).float()
                feats = model.image_features(px)
                lps = completion_logprobs(model, prompt, feats, comps[:16])
                for a, lp in zip(adv, lps):
                    losses = losses - (a * lp).sum()
                    n_tok += len(lp)
            loss = losses / n_tok
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            print(f"step {step} loss {float(loss):+.4f} agreement {np.mean(agree):.2f}", flush=True)
    after = measure(model, tok, enc, items, args.split)
    for name, ev in (("before", before), ("after", after)):
        print(f"{name}: greedy {ev['greedy_accuracy']:.3f} maj32 {ev['majority32_accuracy']:.3f} sample {ev['mean_sample_accuracy']:.3f} "
              f"format failures {ev['format_failure_rate']:.3f} (samples {ev['sample_format_failure_rate']:.3f})")
    flips = Counter((int(a["greedy"]), int(b["greedy"])) for a, b in zip(before["rows"], after["rows"]))
    print(f"flips wrong->right {flips[(0, 1)]} right->wrong {flips[(1, 0)]}")


if __name__ == "__main__":
    main()
