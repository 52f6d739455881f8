"""Prompts, pixels and batches, built exactly as transformers.js' Idefics3Processor builds them.

Prompt = chat template with the <image> placeholder expanded by the processor:
  <|im_start|>User:<fake_token_around_image><global-img><image>x16<fake_token_around_image>
  {question}<end_of_utterance>\nAssistant:
and the target completion is " {answer}<end_of_utterance>" (the assistant turn of the
template is "Assistant: {answer}<end_of_utterance>\n").
"""

import numpy as np
import torch

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


def completion(answer):
    return f" {answer}{EOU}"


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


def train_batch(enc, split, start, batch_size, seed, pad_id):
    """Items [start, start+batch_size) of `split` as tensors; loss only on completion tokens."""
    items = [shapes.make_item(split, i, seed) for i in range(start, start + batch_size)]
    seqs, labels = [], []
    for it in items:
        p, c = enc.prompt_ids(it["question"]), enc.completion_ids(it["answer"])
        seqs.append(p + c)
        labels.append([-100] * len(p) + c)
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    tgt = torch.full((len(seqs), T), -100, dtype=torch.long)
    for b, (s, l) in enumerate(zip(seqs, labels)):
        # Right padding: causal attention never looks at the padding on the right.
        ids[b, : len(s)] = torch.tensor(s)
        tgt[b, : len(l) - 1] = torch.tensor(l[1:])  # position t predicts token t+1
    px = torch.from_numpy(np.stack([pixels(it["image"]) for it in items]))
    return ids, tgt, px, cell_labels(items)


def cell_labels(items, grid=4):
    """Training-only auxiliary targets: for each of the grid x grid image tokens (one per
    16x16 px cell), the colour and the shape of the object centred in that cell (0 = none)."""
    col = torch.zeros(len(items), grid * grid, dtype=torch.long)
    shp = torch.zeros(len(items), grid * grid, dtype=torch.long)
    cell = shapes.IMAGE_SIZE / grid
    for b, it in enumerate(items):
        for (cx, cy, _), (s, c) in zip(it["places"], it["objects"]):
            k = int(cy // cell) * grid + int(cx // cell)
            col[b, k] = 1 + shapes.COLOR_NAMES.index(c)
            shp[b, k] = 1 + shapes.SHAPES.index(s)
    return col, shp
