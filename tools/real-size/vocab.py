"""A byte-level BPE tokenizer of SmolVLM's exact size and special-token layout (49,280 entries).

SmolLM2's learned merges cannot be downloaded here, so the 48,879 merged tokens are made up:
first the merges plain BPE learns on the demo domain (tools/demo-model/corpus.py: whole words
such as "Ġcircle" become one token), then, deterministically, every pair and then triple of a
fixed alphabet (letters by English frequency, "Ġ" for a leading space, punctuation) until the
base vocabulary has its 49,152 entries. Everything else is laid out as the Hub's files are:

    0..16            SmolLM2's 17 special tokens (<|endoftext|>, <|im_start|>, <|im_end|>, ...)
    17..272          the 256 byte symbols (GPT-2's byte-to-unicode map)
    273..49151       merged tokens
    49152            <global-img>
    49153..49188     <row_R_col_C>, R, C in 1..6, row-major
    49189            <fake_token_around_image>
    49190            <image>
    49191..49278     <|reserved_special_token_0..87|>
    49279            <end_of_utterance>

The pre-tokenizer is SmolLM2's (single digits split off, then GPT-2's byte-level regex). Text
therefore tokenizes differently from the real model (other merges), while every special token,
id, template and file is where the real one is. Independent of the seed.
"""

import functools

from corpus import domain_corpus  # tools/demo-model
from tokenizer import BYTE_MAP, pretokens, train_merges  # tools/demo-model

BASE_SPECIALS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>", "<filename>",
    "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>", "<jupyter_text>",
    "<jupyter_code>", "<jupyter_output>", "<jupyter_script>", "<empty_output>",
]
BASE_VOCAB = 49152
ADDED = (["<global-img>"] + [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
         + ["<fake_token_around_image>", "<image>"] + [f"<|reserved_special_token_{i}|>" for i in range(88)]
         + ["<end_of_utterance>"])
ALPHABET = ["Ġ"] + list("etaoinshrdlcumwfgypbvkjxqz") + list("ETAOINSHRDLCUMWFGYPBVKJXQZ") + list(".,'-:;!?()\"/")
ADDITIONAL_SPECIAL = ["<fake_token_around_image>", "<image>", "<end_of_utterance>"]


@functools.lru_cache(maxsize=None)
def build_vocab():
    """(vocab: token -> id, merges: [(a, b)]) with len(vocab) == 49,280."""
    vocab = {t: i for i, t in enumerate(BASE_SPECIALS)}
    for b in range(256):
        vocab[BYTE_MAP[b]] = len(vocab)
    merges = []

    def merge(a, b):
        if a + b not in vocab and len(vocab) < BASE_VOCAB:
            vocab[a + b] = len(vocab)
            merges.append((a, b))

    for a, b in train_merges([w for text in domain_corpus() for w in pretokens(text)]):
        merge(a, b)
    pairs = [a + b for a in ALPHABET for b in ALPHABET]
    for a in ALPHABET:
        for b in ALPHABET:
            merge(a, b)
    for p in pairs:
        for c in ALPHABET:
            if len(vocab) == BASE_VOCAB:
                break
            if p in vocab:
                merge(p, c)
    assert len(vocab) == BASE_VOCAB, len(vocab)
    for t in ADDED:
        vocab[t] = len(vocab)
    assert len(vocab) == 49280 and vocab["<image>"] == 49190 and vocab["<end_of_utterance>"] == 49279
    return vocab, merges


def _added_entry(token, i):
    return {"id": i, "content": token, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
            "special": True}


def tokenizer_files(model_max_length=8192):
    """name -> content of tokenizer.json, tokenizer_config.json, special_tokens_map.json,
    added_tokens.json, vocab.json, merges.txt (the tokenizer files of the Hub repositories)."""
    vocab, merges = build_vocab()
    specials = [(t, vocab[t]) for t in BASE_SPECIALS] + [(t, vocab[t]) for t in ADDED]
    tokenizer_json = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [_added_entry(t, i) for t, i in specials],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        ]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for t, i in vocab.items() if i < BASE_VOCAB},
                  "merges": [f"{a} {b}" for a, b in merges]},
    }
    token_dict = lambda t: {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    special_map = {
        "additional_special_tokens": [token_dict(t) for t in ADDITIONAL_SPECIAL],
        "bos_token": token_dict("<|im_start|>"),
        "eos_token": token_dict("<end_of_utterance>"),
        "pad_token": token_dict("<|im_end|>"),
        "unk_token": token_dict("<|endoftext|>"),
    }
    from hub import CHAT_TEMPLATE

    tokenizer_config = {
        "add_prefix_space": False,
        "added_tokens_decoder": {str(i): {k: v for k, v in _added_entry(t, i).items() if k != "id"} for t, i in specials},
        "additional_special_tokens": ADDITIONAL_SPECIAL,
        "bos_token": "<|im_start|>",
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<end_of_utterance>",
        "legacy": False,
        "model_max_length": model_max_length,
        "pad_token": "<|im_end|>",
        "processor_class": "Idefics3Processor",
        "tokenizer_class": "GPT2Tokenizer",
        "truncation_side": "left",
        "unk_token": "<|endoftext|>",
        "vocab_size": BASE_VOCAB,
    }
    return {
        "tokenizer.json": tokenizer_json,
        "tokenizer_config.json": tokenizer_config,
        "special_tokens_map.json": special_map,
        "added_tokens.json": {t: vocab[t] for t in ADDED},
        "vocab.json": {t: i for t, i in vocab.items() if i < BASE_VOCAB},
        "merges.txt": "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges),
    }
