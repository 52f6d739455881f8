"""A tiny byte-level BPE tokenizer in the Hugging Face `tokenizer.json` format.

Why BPE and byte-level: transformers.js reads BPE (not WordLevel) tokenizers, and byte-level
BPE (as SmolLM2 / SmolVLM use) can encode any text a user types, while the merges learned on
the domain make every domain word ("Ġcircle", "Ġred", "What", ...) a single token.

The merges are learned here by plain BPE training on the domain's pre-tokens until every
pre-token is one symbol. `Tokenizer.encode` is the reference encoder used for training; the
test suite checks it against transformers.js token for token.
"""

import json
import re

# Special tokens, as SmolVLM names them (ids differ: this vocabulary is tiny).
LOW_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
IMAGE_SPECIALS = (
    ["<global-img>"]
    + [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    + ["<fake_token_around_image>", "<image>"]
)
EOU = "<end_of_utterance>"
VOCAB_MULTIPLE = 64  # pad the vocabulary with reserved tokens, like SmolVLM does

# GPT-2's pre-tokenizer regex, with \p{L} / \p{N} spelled for Python's `re`.
PRETOKENIZE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable-unicode map (byte-level BPE alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_MAP = bytes_to_unicode()


def pretokens(text):
    return ["".join(BYTE_MAP[b] for b in piece.encode("utf-8")) for piece in PRETOKENIZE.findall(text)]


def train_merges(words):
    """BPE training on a set of words until each is a single symbol; deterministic ties."""
    seqs = {w: list(w) for w in sorted(set(words))}
    merges = []
    while True:
        counts = {}
        for w, s in seqs.items():
            for a, b in zip(s, s[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts:
            return merges
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        for w, s in seqs.items():
            i, out = 0, []
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out


class Tokenizer:
    def __init__(self, vocab, merges, added):
        self.vocab = vocab  # token string -> id (includes the added tokens)
        self.inv = {i: t for t, i in vocab.items()}
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.merges = merges
        self.added = added  # list of added (special) token strings
        self.split_re = re.compile("(" + "|".join(re.escape(t) for t in sorted(added, key=len, reverse=True)) + ")")
        self.cache = {}

    @classmethod
    def build(cls, corpus):
        words = [w for text in corpus for w in pretokens(text)]
        merges = train_merges(words)
        vocab = {}
        for t in LOW_SPECIALS:
            vocab[t] = len(vocab)
        for b in range(256):
            vocab[BYTE_MAP[b]] = len(vocab)
        for a, b in merges:
            vocab.setdefault(a + b, len(vocab))
        for t in IMAGE_SPECIALS:
            vocab[t] = len(vocab)
        n_total = -(-(len(vocab) + 1) // VOCAB_MULTIPLE) * VOCAB_MULTIPLE
        k = 0
        while len(vocab) < n_total - 1:
            vocab[f"<|reserved_special_token_{k}|>"] = len(vocab)
            k += 1
        vocab[EOU] = len(vocab)  # last id, as in SmolVLM
        added = [t for t in vocab if t.startswith("<") and t.endswith(">") and len(t) > 2]
        return cls(vocab, [list(m) for m in merges], added)

    def _bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        s = list(word)
        while len(s) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(s, s[1:]))]
            rank, i = min(pairs)
            if rank == 1 << 30:
                break
            s = s[:i] + [s[i] + s[i + 1]] + s[i + 2 :]
        self.cache[word] = s
        return s

    def encode(self, text):
        ids = []
        for part in self.split_re.split(text):
            if not part:
                continue
            if part in self.vocab and part in self.added:
                ids.append(self.vocab[part])
                continue
            for w in pretokens(part):
                ids.extend(self.vocab[t] for t in self._bpe(w))
        return ids

    def decode(self, ids, skip_special=False):
        inv_bytes = {v: k for k, v in BYTE_MAP.items()}
        out, buf = [], []
        for i in ids:
            t = self.inv[i]
            if t in self.added:
                if buf:
                    out.append(bytes(buf).decode("utf-8", "replace"))
                    buf = []
                if not skip_special:
                    out.append(t)
            else:
                buf.extend(inv_bytes[c] for c in t)
        if buf:
            out.append(bytes(buf).decode("utf-8", "replace"))
        return "".join(out)

    def to_json(self):
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {
                    "id": self.vocab[t],
                    "content": t,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    "normalized": False,
                    "special": True,
                }
                for t in self.added
            ],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "ignore_merges": False,
                "vocab": self.vocab,
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }


def save_json(obj, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")
