"""Write the model folder in the Hub layout of HuggingFaceTB/SmolVLM-256M-Instruct.

  config.json, generation_config.json, preprocessor_config.json, processor_config.json,
  chat_template.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
  model.safetensors (Hub tensor names), onnx/{vision_encoder,embed_tokens,decoder_model_merged}.onnx
  (the three sessions transformers.js opens for Idefics3/SmolVLM, with its input/output names).
"""

import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

from data import CHAT_TEMPLATE, MEAN, RESCALE, STD
from tokenizer import EOU, save_json

TRANSFORMERS_VERSION = "4.46.0"  # the config format this mirrors (as written on the Hub)


# ----------------------------------------------------------------------------- safetensors


def save_safetensors(tensors, path, metadata=None, dtype="F32"):
    """The whole format: u64 header size, JSON header (name -> dtype/shape/offsets), raw data.
    dtype "BF16" keeps the top 16 bits of each float32 (exact for values already bfloat16)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(np.asarray(tensors[name], dtype="<f4"))
        b = a.tobytes() if dtype == "F32" else (a.view("<u4") >> 16).astype("<u2").tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = metadata or {"format": "pt"}
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    h += b" " * (-len(h) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        buf = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        s, e = info["data_offsets"]
        out[name] = np.frombuffer(buf[s:e], dtype="<f4").reshape(info["shape"]).copy()
    return out


# ----------------------------------------------------------------------------- configs


def write_configs(out, c, tok):
    v = tok.vocab
    text_config = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": v["<|im_start|>"],
        "eos_token_id": v[EOU],
        "head_dim": c.head_dim,
        "hidden_act": "silu",
        "hidden_size": c.hidden,
        "initializer_range": 0.02,
        "intermediate_size": c.intermediate,
        "max_position_embeddings": c.max_position_embeddings,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": c.heads,
        "num_hidden_layers": c.layers,
        "num_key_value_heads": c.kv_heads,
        "pad_token_id": v["<|im_end|>"],
        "rms_norm_eps": c.rms_eps,
        "rope_scaling": None,
        "rope_theta": c.rope_theta,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": c.vocab_size,
    }
    vision_config = {
        "attention_dropout": 0.0,
        "hidden_act": "gelu_pytorch_tanh",
        "hidden_size": c.v_hidden,
        "image_size": c.image_size,
        "initializer_range": 0.02,
        "intermediate_size": c.v_intermediate,
        "layer_norm_eps": c.ln_eps,
        "max_image_size": {"longest_edge": c.image_size},
        "model_type": "idefics3_vision",
        "num_attention_heads": c.v_heads,
        "num_channels": 3,
        "num_hidden_layers": c.v_layers,
        "patch_size": c.patch_size,
        "size": {"longest_edge": c.image_size},
    }
    save_json(
        {
            "architectures": ["Idefics3ForConditionalGeneration"],
            "image_seq_len": c.image_seq_len,
            "image_token_id": c.image_token_id,
            "model_type": "idefics3",
            "pad_token_id": v["<|im_end|>"],
            "scale_factor": c.scale_factor,
            "text_config": text_config,
            "tie_word_embeddings": False,
            "torch_dtype": "float32",
            "transformers_version": TRANSFORMERS_VERSION,
            "use_cache": True,
            "vision_config": vision_config,
            "vocab_size": c.vocab_size,
        },
        os.path.join(out, "config.json"),
    )
    save_json(
        {
            "bos_token_id": v["<|im_start|>"],
            "eos_token_id": v[EOU],
            "pad_token_id": v["<|im_end|>"],
            "transformers_version": TRANSFORMERS_VERSION,
        },
        os.path.join(out, "generation_config.json"),
    )
    save_json(
        {
            "do_convert_rgb": True,
            "do_image_splitting": False,  # one tile: the image is resized to 64x64
            "do_normalize": True,
            "do_pad": True,
            "do_rescale": True,
            "do_resize": True,
            "image_mean": [MEAN] * 3,
            "image_processor_type": "Idefics3ImageProcessor",
            "image_std": [STD] * 3,
            "max_image_size": {"longest_edge": c.image_size},
            "processor_class": "Idefics3Processor",
            "resample": 1,
            "rescale_factor": RESCALE,
            "size": {"longest_edge": c.image_size},
        },
        os.path.join(out, "preprocessor_config.json"),
    )
    save_json({"image_seq_len": c.image_seq_len, "processor_class": "Idefics3Processor"}, os.path.join(out, "processor_config.json"))
    save_json({"chat_template": CHAT_TEMPLATE}, os.path.join(out, "chat_template.json"))
    save_json(tok.to_json(), os.path.join(out, "tokenizer.json"))
    specials = {
        "additional_special_tokens": ["<fake_token_around_image>", "<image>", EOU],
        "bos_token": "<|im_start|>",
        "eos_token": EOU,
        "pad_token": "<|im_end|>",
        "unk_token": "<|endoftext|>",
    }
    save_json(specials, os.path.join(out, "special_tokens_map.json"))
    save_json(
        {
            "add_bos_token": False,
            "add_prefix_space": False,
            "added_tokens_decoder": {
                str(v[t]): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
                for t in tok.added
            },
            **specials,
            "chat_template": CHAT_TEMPLATE,
            "clean_up_tokenization_spaces": False,
            "legacy": False,
            "model_max_length": c.max_position_embeddings,
            "processor_class": "Idefics3Processor",
            "tokenizer_class": "GPT2Tokenizer",
            "truncation_side": "left",
            "vocab_size": c.vocab_size,
        },
        os.path.join(out, "tokenizer_config.json"),
    )


def write_weights(out, model):
    save_safetensors({k: v.detach().numpy() for k, v in model.state_dict().items()}, os.path.join(out, "model.safetensors"))


# ----------------------------------------------------------------------------- ONNX


class VisionEncoderGraph(nn.Module):
    """pixel_values [B, I, 3, H, W] f32, pixel_attention_mask [B, I, H, W] bool -> image_features [B*I, S, D]."""

    def __init__(self, m):
        super().__init__()
        self.m, self.c = m, m.c

    def forward(self, pixel_values, pixel_attention_mask):
        c, p = self.c, self.c.patch_size
        g = c.image_size // p
        px = pixel_values.reshape(-1, 3, c.image_size, c.image_size)
        # A patch is real if any of its pixels is (Idefics3's patch_attention_mask).
        pm = pixel_attention_mask.reshape(-1, g, p, g, p).to(torch.float32).sum(dim=(2, 4)) > 0
        return self.m.image_features(px, pm.reshape(-1, g * g))


class EmbedTokensGraph(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.e = m.model.text_model.embed_tokens

    def forward(self, input_ids):
        return self.e(input_ids)


class DecoderGraph(nn.Module):
    """inputs_embeds, attention_mask, position_ids, past_key_values.{i}.key/value
    -> logits, present.{i}.key/value (an empty past means no cache)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, inputs_embeds, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        h, presents = self.m.model.text_model(inputs_embeds, position_ids, attention_mask, past)
        return (self.m.lm_head(h),) + tuple(t for kv in presents for t in kv)


def export_onnx(out, model):
    c = model.c
    d = os.path.join(out, "onnx")
    os.makedirs(d, exist_ok=True)
    kw = dict(opset_version=17, do_constant_folding=True)
    px = torch.zeros(1, 1, 3, c.image_size, c.image_size)
    pm = torch.ones(1, 1, c.image_size, c.image_size, dtype=torch.bool)
    torch.onnx.export(
        VisionEncoderGraph(model), (px, pm), os.path.join(d, "vision_encoder.onnx"),
        input_names=["pixel_values", "pixel_attention_mask"], output_names=["image_features"],
        dynamic_axes={"pixel_values": {0: "batch_size", 1: "num_images"},
                      "pixel_attention_mask": {0: "batch_size", 1: "num_images"},
                      "image_features": {0: "batch_size_x_num_images"}}, **kw)
    ids = torch.zeros(1, 5, dtype=torch.long)
    torch.onnx.export(
        EmbedTokensGraph(model), (ids,), os.path.join(d, "embed_tokens.onnx"),
        input_names=["input_ids"], output_names=["inputs_embeds"],
        dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                      "inputs_embeds": {0: "batch_size", 1: "sequence_length"}}, **kw)
    T, P = 3, 2
    emb = torch.zeros(1, T, c.hidden)
    am = torch.ones(1, P + T, dtype=torch.long)
    pos = torch.arange(P, P + T)[None]
    past, in_names, out_names, dyn = [], ["inputs_embeds", "attention_mask", "position_ids"], ["logits"], {
        "inputs_embeds": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    for i in range(c.layers):
        for kind in ("key", "value"):
            past.append(torch.zeros(1, c.kv_heads, P, c.head_dim))
            in_names.append(f"past_key_values.{i}.{kind}")
            out_names.append(f"present.{i}.{kind}")
            dyn[in_names[-1]] = {0: "batch_size", 2: "past_sequence_length"}
            dyn[out_names[-1]] = {0: "batch_size", 2: "total_sequence_length"}
    torch.onnx.export(
        DecoderGraph(model), (emb, am, pos, *past), os.path.join(d, "decoder_model_merged.onnx"),
        input_names=in_names, output_names=out_names, dynamic_axes=dyn, **kw)
