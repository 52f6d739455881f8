"""Independent check of the golden vectors: reload the shipped model and golden files,
recompute loss, KL and entropy, and compare the stored gradients with central finite
differences of a surrogate with the same gradient as the GRPO loss at ratio 1:
    S = mean(-A * logp) + beta * mean(kl) - entropy_coef * mean(H)

    /usr/bin/python3 tools/demo-model/check_golden.py [root]     (root: repository root)
"""

import json
import os
import random
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402
import export  # noqa: E402
import golden  # noqa: E402
import shapes  # noqa: E402
from corpus import domain_corpus  # noqa: E402
from model import VLM, Config  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402


def check(root, n_entries=6, seed=1234):
    tok = Tokenizer.build(domain_corpus())
    c = Config(vocab_size=len(tok.vocab), image_token_id=tok.vocab["<image>"])
    m = VLM(c)
    sd = export.load_safetensors(os.path.join(root, "public/models/ttrv-demo-shapes/model.safetensors"))
    m.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    m = m.double().eval()
    fx = os.path.join(root, "tests/fixtures/golden")
    gj = json.load(open(os.path.join(fx, "golden.json")))
    gt = export.load_safetensors(os.path.join(fx, "golden.safetensors"))
    g = gj["grpo"]
    prompts = [p["input_ids"] for p in gj["prompts"]]
    items = [shapes.make_item("test", 0, seed), shapes.make_item("sketch", 1, seed)]  # as build.py picks them
    with torch.no_grad():
        feats = [m.image_features(torch.from_numpy(data.pixels(it["image"]))[None].double())[0] for it in items]
    lora = {k[5:]: torch.from_numpy(v).double() for k, v in gt.items() if k.startswith("lora.")}

    @torch.no_grad()
    def parts(lora):
        ref, new, ent, adv = [], [], [], []
        for j, comp in enumerate(gj["completions"]):
            p, ids = comp["prompt"], comp["token_ids"]
            out = []
            for L in (None, lora):
                golden.set_lora(m, L)
                h, _ = m.model.text_model(m.embed(torch.tensor(prompts[p] + ids)[None], feats[p][None]))
                lp = torch.log_softmax(m.lm_head(h)[0, len(prompts[p]) - 1 : -1], -1)
                out.append((lp.gather(-1, torch.tensor(ids)[:, None])[:, 0], -(lp.exp() * lp).sum(-1)))
            ref.append(out[0][0])
            new.append(out[1][0])
            ent.append(out[1][1])
            adv.append(torch.full_like(out[1][0], g["advantages"][j]))
        golden.set_lora(m, None)
        return [torch.cat(x) for x in (ref, new, ent, adv)]

    ref, new, ent, A = parts(lora)
    kl = torch.exp(ref - new) - (ref - new) - 1
    loss = float((-A).mean() + g["beta"] * kl.mean() - g["entropy_coef"] * ent.mean())
    assert abs(loss - g["loss"]) < 1e-6 and abs(float(kl.mean()) - g["kl"]) < 1e-9 and abs(float(ent.mean()) - g["entropy"]) < 1e-6

    def S(lora):
        ref, new, ent, A = parts(lora)
        kl = torch.exp(ref - new) - (ref - new) - 1
        return float((-A * new).mean() + g["beta"] * kl.mean() - g["entropy_coef"] * ent.mean())

    rnd = random.Random(0)
    worst = 0.0
    for k in rnd.sample(sorted(lora), n_entries):
        idx = tuple(rnd.randrange(s) for s in lora[k].shape)
        eps = 1e-5
        lp, lm = dict(lora), dict(lora)
        lp[k], lm[k] = lora[k].clone(), lora[k].clone()
        lp[k][idx] += eps
        lm[k][idx] -= eps
        fd = (S(lp) - S(lm)) / (2 * eps)
        ref_g = float(gt["grad." + k][idx])
        scale = float(abs(torch.from_numpy(gt["grad." + k])).max())
        worst = max(worst, abs(fd - ref_g) / scale)
    assert worst < 1e-4, f"golden gradient differs from finite differences: {worst:.2e} of the tensor's max"
    return loss, worst


if __name__ == "__main__":
    torch.set_num_threads(1)
    loss, worst = check(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(HERE)))
    print(f"golden OK: loss {loss:.8f}, gradients match finite differences to {worst:.1e} of each tensor's max")
