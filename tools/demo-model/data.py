"""Prompts, pixels and batches, built exactly as transformers.js' Idefics3Processor builds them.

Prompt = chat template with the <image> placeholder expanded by the processor:
  <|im_start|>User:<fake_token_around_image><global-img><image>x16<fake_token_around_image>
  {question}<end_of_utterance>\nAssistant:
and the target completion is " {reply}<end_of_utterance>" (the assistant turn of the
template is "Assistant: {reply}<end_of_utterance>\n"); replies.py draws the reply's form.
"""

import math

import numpy as np
import torch

import replies
import shapes
from tokenizer import EOU

CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
RESCALE = 0.00392156862745098  # 1/255 as written in SmolVLM's preprocessor_config.json
MEAN = STD = 0.5


def chat_prompt(question):
    """What `apply_chat_template([{role:user, content:[image, text]}], add_generation_prompt)` gives."""
    return f"<|im_start|>User:<image>{question}{EOU}\nAssistant:"


def expand_image(prompt, image_seq_len):
    """Idefics3Processor, one image, no splitting: <image> -> fake, global, image x N, fake."""
    return prompt.replace(
        "<image>", "<fake_token_around_image><global-img>" + "<image>" * image_seq_len + "<fake_token_around_image>"
    )


def completion(reply):
    return f" {reply}{EOU}"


def reply_rng(split, index, seed):
    """The stream that draws item `index`'s reply form (independent of its image)."""
    return np.random.default_rng([seed, 7, shapes.SPLIT_IDS[split], index])


def pixels(img):
    """uint8 HxWx3 -> float32 3xHxW, rounding like transformers.js (each step stored as f32)."""
    x = img.astype(np.float32).astype(np.float64) * RESCALE
    x = x.astype(np.float32).astype(np.float64)
    x = ((x - MEAN) / STD).astype(np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


class Encoder:
    """Caches the token ids of prompts and completions (questions repeat a lot)."""

    def __init__(self, tok, image_seq_len):
        self.tok, self.n = tok, image_seq_len
        self.cache = {}

    def prompt_ids(self, question):
        key = ("p", question)
        if key not in self.cache:
            self.cache[key] = self.tok.encode(expand_image(chat_prompt(question), self.n))
        return self.cache[key]

    def completion_ids(self, answer):
        key = ("c", answer)
        if key not in self.cache:
            self.cache[key] = self.tok.encode(completion(answer))
        return self.cache[key]


def train_batch(enc, split, start, batch_size, seed, pad_id, mix=None):
    """Items [start, start+batch_size) of `split` as tensors, in groups of similar length (the
    recognition prompt is twice as long as the others: one padded batch would double the cost).
    Returns a list of (ids, targets, pixels, cell labels); loss only on completion tokens."""
    items = [shapes.make_item(split, i, seed) for i in range(start, start + batch_size)]
    groups = {}
    for i, it in zip(range(start, start + batch_size), items):
        p = enc.prompt_ids(it["question"])
        c = enc.completion_ids(replies.reply(it, reply_rng(split, i, seed), mix))
        groups.setdefault(("mc", "recognition").index(it["type"]) + 1 if it["type"] in ("mc", "recognition") else 0, []).append((it, p, c))
    out = []
    for key in sorted(groups):
        g = groups[key]
        T = max(len(p) + len(c) for _, p, c in g)
        ids = torch.full((len(g), T), pad_id, dtype=torch.long)
        tgt = torch.full((len(g), T), -100, dtype=torch.long)
        for b, (_, p, c) in enumerate(g):
            # Right padding: causal attention never looks at the padding on the right.
            ids[b, : len(p) + len(c)] = torch.tensor(p + c)
            tgt[b, len(p) - 1 : len(p) + len(c) - 1] = torch.tensor(c)  # position t predicts token t+1
        px = torch.from_numpy(np.stack([pixels(it["image"]) for it, _, _ in g]))
        out.append((ids, tgt, px, cell_labels([it for it, _, _ in g])))
    return out


def cell_labels(items, grid=4, reach=0.6):
    """Training-only auxiliary targets: for each of the grid x grid image tokens (one per 16x16 px
    cell), the colour and the shape of the object that covers it (0 = none): every cell whose nearest
    point lies within `reach` x radius of an object's centre, the nearest object winning. Every token
    an object touches is asked for its shape, not only the one at its centre: with the centre cell
    alone the shape stayed near chance (0.40 after 32 k images); with coverage it reached 0.64 after
    51 k and was still rising (docs/experiments, demo model v4)."""
    col = torch.zeros(len(items), grid * grid, dtype=torch.long)
    shp = torch.zeros(len(items), grid * grid, dtype=torch.long)
    cell = shapes.IMAGE_SIZE / grid
    for b, it in enumerate(items):
        best = [math.inf] * (grid * grid)
        for (cx, cy, r), (s, c) in zip(it["places"], it["objects"]):
            for k in range(grid * grid):
                x0, y0 = (k % grid) * cell, (k // grid) * cell
                d = math.hypot(max(x0 - cx, 0, cx - x0 - cell), max(y0 - cy, 0, cy - y0 - cell))
                if d < reach * r and d < best[k]:
                    best[k] = d
                    col[b, k] = 1 + shapes.COLOR_NAMES.index(c)
                    shp[b, k] = 1 + shapes.SHAPES.index(s)
    return col, shp
