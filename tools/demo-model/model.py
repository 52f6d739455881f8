"""Tiny Idefics3 / SmolVLM in plain PyTorch, with the Hub's module names.

    pixels -> SigLIP-style ViT (model.vision_model) -> pixel shuffle + linear (model.connector)
           -> features spliced in at the <image> token positions
    tokens -> Llama decoder (model.text_model: GQA, RoPE, RMSNorm, SwiGLU) -> lm_head

The parameter names of `VLM().state_dict()` are exactly those of
HuggingFaceTB/SmolVLM-256M-Instruct's model.safetensors, so one loader serves both.
The same code path is used for training, evaluation, golden vectors and ONNX export
(the decoder accepts a KV cache and a 2-D attention mask, as the exported graph does).
"""

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 384
    image_token_id: int = 0
    # vision (SigLIP-style)
    image_size: int = 64
    patch_size: int = 8
    v_hidden: int = 64
    v_intermediate: int = 256
    v_layers: int = 3
    v_heads: int = 4
    ln_eps: float = 1e-6
    scale_factor: int = 2  # pixel shuffle: (64/8)^2 = 64 patches -> 16 image tokens
    # text (Llama)
    hidden: int = 128
    intermediate: int = 256
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 32
    rope_theta: float = 100000.0
    rms_eps: float = 1e-5
    max_position_embeddings: int = 512

    @property
    def n_patches(self):
        return (self.image_size // self.patch_size) ** 2

    @property
    def image_seq_len(self):
        return self.n_patches // self.scale_factor**2

    def to_dict(self):
        return asdict(self)


NEG = torch.finfo(torch.float32).min  # additive mask value (as HF): no NaN on fully masked rows


class Proj(nn.Linear):
    """nn.Linear plus an optional LoRA delta (A: r x in, B: out x r), PEFT semantics."""

    lora = None  # (A, B, scale) or None

    def forward(self, x):
        y = F.linear(x, self.weight, self.bias)
        if self.lora is not None:
            A, B, scale = self.lora
            y = y + F.linear(F.linear(x, A), B) * scale
        return y


# ----------------------------------------------------------------------------- vision


class VisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.patch_embedding = nn.Conv2d(3, c.v_hidden, kernel_size=c.patch_size, stride=c.patch_size)
        self.position_embedding = nn.Embedding(c.n_patches, c.v_hidden)

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)  # [N, P, D]
        # One full tile per image, so the bucketed position ids of Idefics3 are 0..P-1.
        return x + self.position_embedding.weight[None]


class VisionAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.d = c.v_heads, c.v_hidden // c.v_heads
        self.q_proj = nn.Linear(c.v_hidden, c.v_hidden)
        self.k_proj = nn.Linear(c.v_hidden, c.v_hidden)
        self.v_proj = nn.Linear(c.v_hidden, c.v_hidden)
        self.out_proj = nn.Linear(c.v_hidden, c.v_hidden)

    def forward(self, x, bias):
        N, P, D = x.shape
        q, k, v = (p(x).view(N, P, self.h, self.d).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        a = (q @ k.transpose(-1, -2)) * (self.d**-0.5)
        if bias is not None:
            a = a + bias
        o = torch.softmax(a, dim=-1) @ v
        return self.out_proj(o.transpose(1, 2).reshape(N, P, D))


class VisionMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Linear(c.v_hidden, c.v_intermediate)
        self.fc2 = nn.Linear(c.v_intermediate, c.v_hidden)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))  # gelu_pytorch_tanh


class VisionLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(c.v_hidden, eps=c.ln_eps)
        self.self_attn = VisionAttention(c)
        self.layer_norm2 = nn.LayerNorm(c.v_hidden, eps=c.ln_eps)
        self.mlp = VisionMLP(c)

    def forward(self, x, bias):
        x = x + self.self_attn(self.layer_norm1(x), bias)
        return x + self.mlp(self.layer_norm2(x))


class VisionEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList(VisionLayer(c) for _ in range(c.v_layers))


class VisionModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embeddings = VisionEmbeddings(c)
        self.encoder = VisionEncoder(c)
        self.post_layernorm = nn.LayerNorm(c.v_hidden, eps=c.ln_eps)

    def forward(self, pixel_values, patch_mask=None):
        """pixel_values [N,3,H,W]; patch_mask [N,P] bool (False = padding patch) or None."""
        x = self.embeddings(pixel_values)
        bias = None
        if patch_mask is not None:
            bias = (~patch_mask).to(x.dtype)[:, None, None, :] * NEG
        for layer in self.encoder.layers:
            x = layer(x, bias)
        return self.post_layernorm(x)


class ModalityProjection(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.proj = nn.Linear(c.v_hidden * c.scale_factor**2, c.hidden, bias=False)


class Connector(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.s = c.scale_factor
        self.modality_projection = ModalityProjection(c)

    def pixel_shuffle(self, x):
        # Idefics3Connector.pixel_shuffle: each output token concatenates an s x s block.
        N, P, D = x.shape
        s, h = self.s, int(math.isqrt(P))
        x = x.view(N, h, h, D).view(N, h, h // s, D * s).permute(0, 2, 1, 3)
        x = x.reshape(N, h // s, h // s, D * s * s).permute(0, 2, 1, 3)
        return x.reshape(N, P // (s * s), D * s * s)

    def forward(self, x):
        return self.modality_projection.proj(self.pixel_shuffle(x))


# ----------------------------------------------------------------------------- text


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope(position_ids, head_dim, theta, dtype):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float32) / head_dim))
    f = position_ids[:, :, None].to(torch.float32) * inv[None, None, :]
    emb = torch.cat([f, f], dim=-1)
    return emb.cos().to(dtype)[:, None], emb.sin().to(dtype)[:, None]  # [B,1,T,hd]


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.kv, self.d = c.heads, c.kv_heads, c.head_dim
        self.q_proj = Proj(c.hidden, c.heads * c.head_dim, bias=False)
        self.k_proj = Proj(c.hidden, c.kv_heads * c.head_dim, bias=False)
        self.v_proj = Proj(c.hidden, c.kv_heads * c.head_dim, bias=False)
        self.o_proj = Proj(c.heads * c.head_dim, c.hidden, bias=False)

    def forward(self, x, cos, sin, bias, past):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        # Grouped-query attention: kv head j serves q heads j*rep .. j*rep+rep-1.
        rep, L = self.h // self.kv, k.shape[2]
        kk = k[:, :, None].expand(B, self.kv, rep, L, self.d).reshape(B, self.h, L, self.d)
        vv = v[:, :, None].expand(B, self.kv, rep, L, self.d).reshape(B, self.h, L, self.d)
        a = (q @ kk.transpose(-1, -2)) * (self.d**-0.5) + bias
        o = torch.softmax(a, dim=-1) @ vv
        return self.o_proj(o.transpose(1, 2).reshape(B, T, self.h * self.d)), present


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = Proj(c.hidden, c.intermediate, bias=False)
        self.up_proj = Proj(c.hidden, c.intermediate, bias=False)
        self.down_proj = Proj(c.intermediate, c.hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden, c.rms_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden, c.rms_eps)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, bias, past):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, bias, past)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), present


class TextModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden)
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.layers))
        self.norm = RMSNorm(c.hidden, c.rms_eps)

    def forward(self, inputs_embeds, position_ids=None, attention_mask=None, past=None):
        """inputs_embeds [B,T,D]; attention_mask [B, past+T] (1 = attend) or None (all ones);
        past: list of (k, v) per layer, each [B, kv_heads, past_len, head_dim], or None."""
        B, T, _ = inputs_embeds.shape
        past_len = past[0][0].shape[2] if past is not None else 0
        if position_ids is None:
            position_ids = (torch.arange(T) + past_len)[None].expand(B, T)
        q_pos = torch.arange(T)[:, None] + past_len
        k_pos = torch.arange(past_len + T)[None, :]
        allowed = (k_pos <= q_pos)[None, None]  # causal
        if attention_mask is not None:
            allowed = allowed & (attention_mask[:, None, None, :] > 0)
        bias = (~allowed).to(inputs_embeds.dtype) * NEG
        cos, sin = rope(position_ids, self.c.head_dim, self.c.rope_theta, inputs_embeds.dtype)
        x, presents = inputs_embeds, []
        for i, layer in enumerate(self.layers):
            x, pr = layer(x, cos, sin, bias, past[i] if past is not None else None)
            presents.append(pr)
        return self.norm(x), presents


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.vision_model = VisionModel(c)
        self.connector = Connector(c)
        self.text_model = TextModel(c)


class VLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Inner(c)
        self.lm_head = nn.Linear(c.hidden, c.vocab_size, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def image_features(self, pixel_values, patch_mask=None):
        """[N,3,H,W] -> [N, image_seq_len, hidden]: what replaces the <image> tokens."""
        return self.model.connector(self.model.vision_model(pixel_values, patch_mask))

    def embed(self, input_ids, image_features=None):
        x = self.model.text_model.embed_tokens(input_ids)
        if image_features is not None:
            mask = input_ids == self.c.image_token_id
            x = x.masked_scatter(mask[..., None], image_features.reshape(-1, x.shape[-1]).to(x.dtype))
        return x

    def forward(self, input_ids, pixel_values=None, attention_mask=None, past=None, position_ids=None):
        feats = self.image_features(pixel_values) if pixel_values is not None else None
        h, presents = self.model.text_model(self.embed(input_ids, feats), position_ids, attention_mask, past)
        return self.lm_head(h), presents
