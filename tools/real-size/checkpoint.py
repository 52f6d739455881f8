"""Seeded random weights in the Hub's tensor names, written as BF16 safetensors (as the Hub ships
SmolVLM-256M/500M-Instruct), and the float32 PyTorch reference the checks compare against."""

import json

import numpy as np
import torch

import export  # tools/demo-model/export.py
from model import VLM  # tools/demo-model/model.py


def seeded_model(config, seed):
    """The model with every weight drawn from `seed` (N(0, 0.02), as tools/demo-model does) and
    rounded to bfloat16, so the float32 model, the BF16 file and the ONNX graphs hold the same values.
    RMSNorm / LayerNorm scales are drawn around 1 (not left at 1) so that a loader that drops them shows."""
    torch.manual_seed(seed)
    with torch.no_grad():
        model = VLM(config)
        for name, p in model.named_parameters():
            if "norm" in name.split(".")[-2] and name.endswith(".weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
    return model.eval()


def save_bf16_safetensors(model, path):
    """The safetensors format with BF16 data (exact: the values are already bfloat16)."""
    state = {name: t.detach().numpy() for name, t in model.state_dict().items()}
    export.save_safetensors(state, path, dtype="BF16")
    return sum(np.prod(a.shape) for a in state.values())


def reference_prompt(config, seed, n_text=12):
    """A prompt as the app builds it for one 512-px tile without splitting:
    <|im_start|>User:<fake_token_around_image><global-img><image>x64<fake_token_around_image>
    {text tokens}<end_of_utterance>\\nAssistant:  (text tokens drawn from the seed; "\\n" and the
    role words as byte tokens, since this tokenizer's merges are not SmolLM2's)."""
    from vocab import BYTE_MAP, build_vocab

    vocab, _ = build_vocab()
    text = lambda s: [vocab[BYTE_MAP[b]] for b in s.encode()]
    g = torch.Generator().manual_seed(seed + 1)
    words = torch.randint(273, 49152, (n_text,), generator=g).tolist()
    ids = ([vocab["<|im_start|>"]] + text("User:") + [vocab["<fake_token_around_image>"], vocab["<global-img>"]]
           + [config.image_token_id] * config.image_seq_len + [vocab["<fake_token_around_image>"]] + words
           + [vocab["<end_of_utterance>"]] + text("\nAssistant:"))
    return ids


GREEDY_TOKENS = 8


def reference(model, seed, path_json, path_tensors):
    """PyTorch float32 on a seeded 512-px image and the reference prompt: pixel values, image
    features, logits at a few positions (the first, around the image, the last) and the first
    GREEDY_TOKENS greedy tokens (with the smallest top-1/top-2 logit gap on the way)."""
    c = model.c
    g = torch.Generator().manual_seed(seed + 2)
    pixels = torch.rand(1, 3, c.image_size, c.image_size, generator=g) * 2 - 1  # normalised, as the processor gives
    ids = reference_prompt(c, seed)
    with torch.no_grad():
        feats = model.image_features(pixels)  # [1, 64, D]
        h, past = model.model.text_model(model.embed(torch.tensor([ids]), feats))
        logits = model.lm_head(h)[0]
        greedy, margins, step = [], [], logits[-1]
        for _ in range(GREEDY_TOKENS):  # greedy decoding with the KV cache, as generate() does
            top = torch.topk(step, 2).values
            margins.append(float(top[0] - top[1]))
            greedy.append(int(step.argmax()))
            out, past = model(torch.tensor([[greedy[-1]]]), past=past)
            step = out[0, -1]
    first_image = ids.index(c.image_token_id)
    positions = sorted({0, first_image - 1, first_image, first_image + c.image_seq_len, len(ids) - 2, len(ids) - 1})
    grpo, lora_tensors = lora_gradients(model, ids, feats, greedy, seed)
    export.save_safetensors({
        "pixel_values": pixels.numpy(),
        "image_features": feats[0].numpy(),
        "logits": logits[positions].numpy(),
        **lora_tensors,
    }, path_tensors)
    with open(path_json, "w") as f:
        json.dump({"input_ids": ids, "logit_positions": positions, "seed": seed, "greedy_ids": greedy,
                   "greedy_min_logit_margin": min(margins), "grpo": grpo,
                   "note": "float32 PyTorch (tools/demo-model/model.py) on the bfloat16 weights of model.safetensors"},
                  f, indent=1)
        f.write("\n")
    return logits


def lora_gradients(model, ids, feats, greedy, seed):
    """The GRPO loss of tools/demo-model/golden.py (clip, k3 KL to the adapter-off model, entropy;
    token_mean) on two completions of the reference prompt under a seeded LoRA on every
    projection (golden.make_lora: B non-zero, so the adapter changes the outputs), in float32.
    Returns the JSON record and the tensors: every LoRA A and B under PEFT's keys ("lora.<key>")
    and the gradient of the loss for a few of them ("grad.<key>": the first layer's q_proj, a
    middle layer's v_proj, the last layer's down_proj)."""
    import golden  # tools/demo-model/golden.py

    g = torch.Generator().manual_seed(seed + 3)
    completions = [greedy[:5], torch.randint(273, 49152, (3,), generator=g).tolist()]
    advantages = [1.0, -1.0]
    lora = {k: v.detach().float().requires_grad_() for k, v in golden.make_lora(model).items()}

    def stats(c):
        h, _ = model.model.text_model(model.embed(torch.tensor([ids + c]), feats))
        logp_all = torch.log_softmax(model.lm_head(h)[0, len(ids) - 1 : -1], -1)
        logp = logp_all.gather(-1, torch.tensor(c)[:, None])[:, 0]
        return logp, -(logp_all.exp() * logp_all).sum(-1)

    golden.set_lora(model, None)
    with torch.no_grad():
        ref = torch.cat([stats(c)[0] for c in completions])
    golden.set_lora(model, lora)
    parts = [stats(c) for c in completions]
    golden.set_lora(model, None)
    lp = torch.cat([p[0] for p in parts])
    ent = torch.cat([p[1] for p in parts])
    A = torch.cat([torch.full((len(c),), a) for c, a in zip(completions, advantages)])
    ratio = torch.exp(lp - lp.detach())
    pg = -torch.minimum(ratio * A, torch.clamp(ratio, 1 - golden.EPS, 1 + golden.EPS) * A)
    kl = torch.exp(ref - lp) - (ref - lp) - 1
    loss = pg.mean() + golden.BETA * kl.mean() - golden.ENT * ent.mean()
    n = len(model.model.text_model.layers)
    keys = [golden.peft_key(i, b, m, ab) for i, b, m in [(0, "self_attn", "q_proj"), (n // 2, "self_attn", "v_proj"),
                                                        (n - 1, "mlp", "down_proj")] for ab in "AB"]
    grads = torch.autograd.grad(loss, [lora[k] for k in keys])
    tensors = {f"lora.{k}": v.detach().numpy() for k, v in lora.items()}
    tensors.update({f"grad.{k}": gk.numpy() for k, gk in zip(keys, grads)})
    record = {"completions": completions, "advantages": advantages, "epsilon": golden.EPS, "beta": golden.BETA,
              "entropy_coef": golden.ENT, "loss_type": "token_mean", "loss": float(loss), "kl": float(kl.mean()),
              "lora": {"r": golden.R, "lora_alpha": golden.ALPHA, "seed": golden.LORA_SEED}, "grad_keys": keys}
    return record, tensors
