"""The oracle for the engine's quantised weights: the demo model with its decoder projections
quantised exactly as src/engine/quant.ts quantises them (ported below, code for code), dequantised
here, and run by PyTorch in float64 on the golden prompts (tests/fixtures/golden).

    /usr/bin/python3 tools/demo-model/quantized_reference.py q8|q4 OUT.json [ROOT]

OUT.json: {"format", "codes_sha256" (of every projection's packed uint32 words, in layer order
q k v o gate up down, then the q8 embedding and lm_head; little-endian), "relative_error" (per projection, of the dequantised weights),
"logits": [per golden prompt, [T * V] floats]}. tests/engine/quantized.test.ts runs it and compares.
"""

import hashlib
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import export  # noqa: E402
from model import VLM, Config  # noqa: E402

Q4_BLOCK = 32
PROJECTIONS = [("self_attn", "q_proj"), ("self_attn", "k_proj"), ("self_attn", "v_proj"), ("self_attn", "o_proj"),
               ("mlp", "gate_proj"), ("mlp", "up_proj"), ("mlp", "down_proj")]


def js_round(x):
    """JavaScript's Math.round: halves go up (numpy's round goes to even)."""
    return np.floor(x + 0.5)


def pack(codes, bits):
    """Codes (0..2^bits-1) of a row-major matrix into uint32 words, element i at bits (i % per) * bits."""
    per = 32 // bits
    flat = codes.reshape(-1, per).astype(np.uint64)
    words = np.zeros(flat.shape[0], dtype=np.uint64)
    for k in range(per):
        words |= flat[:, k] << np.uint64(k * bits)
    return words.astype("<u4")


def quantize(w, fmt):
    """(packed words, float32 weights the codes stand for), as quant.ts computes them."""
    w64 = w.astype(np.float64)
    if fmt == "q8":
        scale = (np.abs(w64).max(axis=1) / 127).astype(np.float32)
        scale[scale == 0] = 1
        codes = np.clip(js_round(w64 / scale.astype(np.float64)[:, None]), -127, 127)
        deq = codes.astype(np.float32) * scale[:, None]
        return pack((codes + 128).astype(np.int64), 8), deq
    rows, cols = w.shape
    blocks = w64.reshape(rows, cols // Q4_BLOCK, Q4_BLOCK)
    lo, hi = blocks.min(axis=2), blocks.max(axis=2)
    scale = ((hi - lo) / 15).astype(np.float32)
    scale[scale == 0] = 1
    low = lo.astype(np.float32)
    codes = np.clip(js_round((blocks - low.astype(np.float64)[..., None]) / scale.astype(np.float64)[..., None]), 0, 15)
    deq = (codes.astype(np.float32) * scale[..., None] + low[..., None]).astype(np.float32).reshape(rows, cols)
    return pack(codes.astype(np.int64).reshape(rows, cols), 4), deq


def main(fmt, out, root):
    model_dir = os.path.join(root, "public/models/ttrv-demo-shapes")
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    c = Config(vocab_size=cfg["text_config"]["vocab_size"], image_token_id=cfg["image_token_id"])
    sd = export.load_safetensors(os.path.join(model_dir, "model.safetensors"))
    digest = hashlib.sha256()
    errors = {}
    for i in range(c.layers):
        for block, name in PROJECTIONS:
            key = f"model.text_model.layers.{i}.{block}.{name}.weight"
            words, deq = quantize(sd[key], fmt)
            digest.update(words.tobytes())
            errors[key] = float(np.linalg.norm(deq - sd[key]) / np.linalg.norm(sd[key]))
            sd[key] = deq
    # The token embedding and lm_head: 8-bit under both formats (quant.ts' tableFormat).
    for key in ("model.text_model.embed_tokens.weight", "lm_head.weight"):
        words, deq = quantize(sd[key], "q8")
        digest.update(words.tobytes())
        errors[key] = float(np.linalg.norm(deq - sd[key]) / np.linalg.norm(sd[key]))
        sd[key] = deq
    m = VLM(c)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    m = m.double().eval()
    fx = os.path.join(root, "tests/fixtures/golden")
    gj = json.load(open(os.path.join(fx, "golden.json")))
    gt = export.load_safetensors(os.path.join(fx, "golden.safetensors"))
    logits = []
    with torch.no_grad():
        for i, p in enumerate(gj["prompts"]):
            ids = torch.tensor(p["input_ids"])[None]
            feats = torch.from_numpy(gt[f"prompt.{i}.image_features"]).double()
            h, _ = m.model.text_model(m.embed(ids, feats[None]))
            logits.append(m.lm_head(h)[0].flatten().tolist())
    with open(out, "w") as f:
        json.dump({"format": fmt, "codes_sha256": digest.hexdigest(), "relative_error": errors, "logits": logits}, f)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("q8", "q4"):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else os.path.dirname(os.path.dirname(HERE)))
