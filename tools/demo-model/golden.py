"""Golden vectors for the engine, computed by PyTorch autograd in float64 (stored as F32).

golden.json + golden.safetensors (tests/fixtures/golden/):
  prompt.{i}.image_features [K, hidden]   vision encoder + connector (spliced at <image>)
  prompt.{i}.logits         [T_i, V]      base model, every prompt position
  completion.{j}.logprobs       [L_j]     base model, log p(token | prompt, previous tokens)
  completion.{j}.logprobs_lora  [L_j]     same with the seeded LoRA
  lora.<PEFT key>, grad.<PEFT key>        every LoRA A (r x in) and B (out x r) and the
                                          gradient of the GRPO loss with respect to it
GRPO loss (docs/ttrv.md §1, steps 6-8), token_mean over all tokens of all completions:
  ratio = exp(logp - stopgrad(logp)) (= 1), pg_t = -min(ratio*A, clip(ratio, 1-eps, 1+eps)*A)
  kl_t  = exp(ref - logp) - (ref - logp) - 1   (k3; ref = adapter off)
  H_t   = entropy of the LoRA model's next-token distribution at the position
  loss  = mean(pg_t) + beta * mean(kl_t) - entropy_coef * mean(H_t)
"""

import copy
import math

import torch

import data
from export import save_safetensors
from tokenizer import save_json

TARGETS = [("self_attn", "q_proj"), ("self_attn", "k_proj"), ("self_attn", "v_proj"), ("self_attn", "o_proj"),
           ("mlp", "gate_proj"), ("mlp", "up_proj"), ("mlp", "down_proj")]
R, ALPHA, LORA_SEED = 4, 8, 20251125
ADVANTAGES = [1.1547005, -0.5773503, 0.8660254, -0.8660254]
EPS, BETA, ENT = 0.2, 0.04, 0.01


def peft_key(i, block, name, ab):
    return f"base_model.model.model.text_model.layers.{i}.{block}.{name}.lora_{ab}.weight"


def make_lora(model):
    """PEFT init for A (kaiming_uniform, a=sqrt(5): U(-1/sqrt(in), 1/sqrt(in))), but B non-zero
    (N(0, 0.05^2)) so that step 0 differs from the base model and every gradient is non-zero."""
    g = torch.Generator().manual_seed(LORA_SEED)
    lora = {}
    for i, layer in enumerate(model.model.text_model.layers):
        for block, name in TARGETS:
            lin = getattr(getattr(layer, block), name)
            out_f, in_f = lin.weight.shape
            bound = 1.0 / math.sqrt(in_f)
            A = (torch.rand(R, in_f, generator=g, dtype=torch.float64) * 2 - 1) * bound
            B = torch.randn(out_f, R, generator=g, dtype=torch.float64) * 0.05
            lora[peft_key(i, block, name, "A")] = A.float().double().requires_grad_()  # f32-representable
            lora[peft_key(i, block, name, "B")] = B.float().double().requires_grad_()
    return lora


def set_lora(model, lora):
    for i, layer in enumerate(model.model.text_model.layers):
        for block, name in TARGETS:
            lin = getattr(getattr(layer, block), name)
            lin.lora = None if lora is None else (lora[peft_key(i, block, name, "A")], lora[peft_key(i, block, name, "B")], ALPHA / R)


def build(model32, tok, enc, items, completions, image_paths, model_dir, out_json, out_st):
    """items: 2 dataset items; completions: list of (prompt index, answer text)."""
    m = copy.deepcopy(model32).double().eval()
    T = {}
    feats, prompts = [], []
    for i, it in enumerate(items):
        px = torch.from_numpy(data.pixels(it["image"]))[None].double()
        with torch.no_grad():
            f = m.image_features(px)[0]
            ids = torch.tensor(enc.prompt_ids(it["question"]))[None]
            h, _ = m.model.text_model(m.embed(ids, f[None]))
            T[f"prompt.{i}.image_features"] = f
            T[f"prompt.{i}.logits"] = m.lm_head(h)[0]
        feats.append(f)
        prompts.append(ids[0].tolist())

    def completion_stats(j):
        p, text = completions[j]
        c = enc.completion_ids(text)
        ids = torch.tensor(prompts[p] + c)[None]
        h, _ = m.model.text_model(m.embed(ids, feats[p][None]))
        logits = m.lm_head(h)[0, len(prompts[p]) - 1 : -1]  # positions that predict c
        logp_all = torch.log_softmax(logits, -1)
        logp = logp_all.gather(-1, torch.tensor(c)[:, None])[:, 0]
        ent = -(logp_all.exp() * logp_all).sum(-1)
        return c, logp, ent

    lora = make_lora(m)
    toks, base, new, ents, adv = [], [], [], [], []
    for j in range(len(completions)):
        set_lora(m, None)
        with torch.no_grad():
            c, lp_ref, _ = completion_stats(j)
        set_lora(m, lora)
        _, lp, ent = completion_stats(j)
        toks.append(c)
        T[f"completion.{j}.logprobs"] = lp_ref
        T[f"completion.{j}.logprobs_lora"] = lp.detach()
        base.append(lp_ref)
        new.append(lp)
        ents.append(ent)
        adv.append(torch.full_like(lp, ADVANTAGES[j]))
    ref, lp, ent, A = torch.cat(base), torch.cat(new), torch.cat(ents), torch.cat(adv)
    ratio = torch.exp(lp - lp.detach())
    pg = -torch.minimum(ratio * A, torch.clamp(ratio, 1 - EPS, 1 + EPS) * A)
    kl = torch.exp(ref - lp) - (ref - lp) - 1
    loss = pg.mean() + BETA * kl.mean() - ENT * ent.mean()
    keys = list(lora)
    grads = torch.autograd.grad(loss, [lora[k] for k in keys])
    for k, g in zip(keys, grads):
        T[f"lora.{k}"] = lora[k].detach()
        T[f"grad.{k}"] = g
    set_lora(m, None)
    save_safetensors({k: v.detach().numpy() for k, v in T.items()}, out_st)
    save_json(
        {
            "model": model_dir,
            "dtype_computed": "float64 (weights are the f32 model; stored as F32)",
            "prompts": [
                {"input_ids": prompts[i], "image": image_paths[i], "n_image_tokens": int((torch.tensor(prompts[i]) == m.c.image_token_id).sum()),
                 "question": items[i]["question"], "answer": items[i]["answer"]}
                for i in range(len(items))
            ],
            "completions": [{"prompt": p, "token_ids": toks[j], "text": text} for j, (p, text) in enumerate(completions)],
            "lora": {"r": R, "lora_alpha": ALPHA, "scale": ALPHA / R,
                     "target_modules": [n for _, n in TARGETS], "scope": "model.text_model.layers.*",
                     "seed": LORA_SEED, "init": "A ~ U(-1/sqrt(in), 1/sqrt(in)), B ~ N(0, 0.05^2) (non-zero on purpose)"},
            "grpo": {"advantages": ADVANTAGES, "epsilon": EPS, "beta": BETA, "entropy_coef": ENT, "loss_type": "token_mean",
                     "n_tokens": int(lp.numel()), "loss": float(loss), "pg_loss": float(pg.mean()),
                     "kl": float(kl.mean()), "entropy": float(ent.mean())},
        },
        out_json,
    )
    return float(loss)


@torch.no_grad()
def greedy_reference(model, tok, enc, refs, model_dir, out_json, max_new=4):
    """refs: list of (split, index, item, image path). PyTorch f32 greedy tokens for the
    transformers.js parity tests, with the smallest top-1/top-2 logit gap along the way."""
    eou = tok.vocab[data.EOU]
    rows = []
    for split, idx, it, path in refs:
        ids = enc.prompt_ids(it["question"])
        px = torch.from_numpy(data.pixels(it["image"]))[None]
        seq, margin = list(ids), float("inf")
        feats = model.image_features(px)
        for _ in range(max_new):
            h, _ = model.model.text_model(model.embed(torch.tensor(seq)[None], feats))
            last = model.lm_head(h)[0, -1]
            top2 = torch.topk(last, 2).values
            margin = min(margin, float(top2[0] - top2[1]))
            t = int(last.argmax())
            seq.append(t)
            if t == eou:
                break
        gen = seq[len(ids):]
        rows.append({"split": split, "index": idx, "image": path, "question": it["question"], "answer": it["answer"],
                     "prompt_text": data.chat_prompt(it["question"]), "input_ids": ids, "generated_ids": gen,
                     "generated_text": tok.decode(gen), "min_logit_margin": round(margin, 5)})
    save_json({"model": model_dir, "max_new_tokens": max_new, "do_sample": False, "items": rows}, out_json)
