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
    export.save_safetensors({
        "pixel_values": pixels.numpy(),
        "image_features": feats[0].numpy(),
        "logits": logits[positions].numpy(),
    }, path_tensors)
    with open(path_json, "w") as f:
        json.dump({"input_ids": ids, "logit_positions": positions, "seed": seed, "greedy_ids": greedy,
                   "greedy_min_logit_margin": min(margins),
                   "note": "float32 PyTorch (tools/demo-model/model.py) on the bfloat16 weights of model.safetensors"},
                  f, indent=1)
        f.write("\n")
    return logits
