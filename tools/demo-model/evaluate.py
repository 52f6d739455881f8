"""Greedy and sampled decoding with the KV cache, answer extraction, and eval.json numbers."""

import re
from collections import Counter

import numpy as np
import torch

import data
import shapes

MAX_NEW = 8  # the app's default max_completion_length; every trained reply fits (with <end_of_utterance>)

# Answer extraction, docs/ttrv.md §2, exactly as src/rl/answers.ts does it (the app scores with that).
SPECIAL_TOKEN = re.compile(r"<\|[^\s<>|]+\|>|</?[A-Za-z][A-Za-z0-9_:-]*>")  # JS \w is ASCII
WORD = r"[^\W]"  # Python's Unicode \w: letters, digits, underscore (answers.ts: [\p{L}\p{N}_])
CHOICE_LETTER = re.compile(rf"(?<!{WORD})[ABCD](?!{WORD})")
YES_NO_FIRST_WORD = re.compile(rf"^(yes|no)(?!{WORD})")
NUMBER_WORDS = {w: str(i) for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"])}


def _option_label(letter):
    return re.compile(rf"(?<!{WORD})(?:\({letter}\)|{letter}[.)])")


OPTION_A, OPTION_B = _option_label("A"), _option_label("B")


def is_multiple_choice(question):
    return bool(OPTION_A.search(question)) and bool(OPTION_B.search(question))


def strip_special(text):
    return SPECIAL_TOKEN.sub("", text)


def extract_choice(completion):
    text = strip_special(completion)
    m = CHOICE_LETTER.findall(text.upper())
    return m[-1] if m else text.strip()


def extract_free(completion):
    text = strip_special(completion).strip().lower()
    text = re.sub(r"\.$", "", text).strip()
    text = re.sub(r"\s+", " ", text)
    yn = YES_NO_FIRST_WORD.match(text)
    if yn:
        return yn.group(1)
    text = re.sub(r"^(?:the|a|an) ", "", text)
    return " ".join(NUMBER_WORDS.get(w, w) for w in text.split(" "))


def extract(completion, question):
    """The answer a completion votes for (answers.ts extractAnswer)."""
    return extract_choice(completion) if is_multiple_choice(question) else extract_free(completion)


VALID = {
    "color": set(shapes.COLOR_NAMES),
    "shape": set(shapes.SHAPES),
    "count": {str(i) for i in range(10)},
    "presence": {"yes", "no"},
    "mc": set(shapes.LETTERS),
    "recognition": set(shapes.LETTERS),
}


def valid(answer, qtype):
    """False for a format failure: the reply extracts to no answer this question type can have."""
    return answer in VALID[qtype]


@torch.no_grad()
def generate(model, prompts, px, eou_id, n=1, temperature=0.0, gen=None, max_new=MAX_NEW, first_bias=None):
    """prompts: list of token-id lists (same image-token layout), px [B,3,H,W].
    Returns, per prompt, n completions (lists of ids, ending with <end_of_utterance> if emitted).
    Left-pads the batch and passes the 2-D attention mask, as transformers.js does.
    first_bias: optional [B, V] logits added before the first token only (mixture search, search.py)."""
    B = len(prompts)
    T = max(len(p) for p in prompts)
    ids = torch.zeros((B, T), dtype=torch.long)
    am = torch.zeros((B, T), dtype=torch.long)
    for b, p in enumerate(prompts):
        ids[b, T - len(p) :] = torch.tensor(p)
        am[b, T - len(p) :] = 1
    pos = (am.cumsum(-1) - 1).clamp(min=0)
    logits, past = model(ids, px, attention_mask=am, position_ids=pos)
    last = logits[:, -1]
    if first_bias is not None:
        last = last + first_bias
    if n > 1:  # share the prefill between the n samples of a prompt
        last = last.repeat_interleave(n, 0)
        past = [(k.repeat_interleave(n, 0), v.repeat_interleave(n, 0)) for k, v in past]
        am = am.repeat_interleave(n, 0)
        pos = pos.repeat_interleave(n, 0)
    R = last.shape[0]
    out = [[] for _ in range(R)]
    done = torch.zeros(R, dtype=torch.bool)
    next_pos = pos[:, -1:] + 1
    for _ in range(max_new):
        if temperature == 0.0:
            tok = last.argmax(-1)
        else:
            probs = torch.softmax(last.double() / temperature, -1)
            tok = torch.multinomial(probs, 1, generator=gen)[:, 0]
        for r in range(R):
            if not done[r]:
                out[r].append(int(tok[r]))
        done |= tok == eou_id
        if bool(done.all()):
            break
        am = torch.cat([am, torch.ones((R, 1), dtype=torch.long)], 1)
        emb = model.model.text_model.embed_tokens(tok[:, None])
        h, past = model.model.text_model(emb, next_pos, am, past)
        last = model.lm_head(h)[:, -1]
        next_pos = next_pos + 1
    return [out[i * n : (i + 1) * n] for i in range(B)]


def eval_split(model, tok, enc, split, items, seed, n_samples=32, batch=16, keep_rows=False, first_bias=None):
    """Greedy accuracy and format failures, mean single-sample accuracy and plurality-of-n accuracy
    (temperature 1), overall and per question type."""
    eou = tok.vocab[data.EOU]
    gen = torch.Generator().manual_seed(seed * 1000 + shapes.SPLIT_IDS[split])
    rows = []
    for s in range(0, len(items), batch):
        chunk = items[s : s + batch]
        prompts = [enc.prompt_ids(it["question"]) for it in chunk]
        px = torch.from_numpy(np.stack([data.pixels(it["image"]) for it in chunk]))
        fb = None if first_bias is None else torch.stack([first_bias[it["type"]] for it in chunk])
        greedy = generate(model, prompts, px, eou, first_bias=fb)
        samples = generate(model, prompts, px, eou, n=n_samples, temperature=1.0, gen=gen, first_bias=fb)
        for it, g, ss in zip(chunk, greedy, samples):
            ans = lambda ids: extract(tok.decode(ids, skip_special=True), it["question"])
            gold = extract(it["answer"], it["question"])
            votes = [ans(x) for x in ss]
            # Plurality vote; ties go to the answer sampled first (deterministic).
            cnt = Counter(votes)
            top = max(cnt.values())
            maj = next(v for v in votes if cnt[v] == top)
            g_ans = ans(g[0])
            r = {
                "type": it["type"],
                "greedy": float(g_ans == gold),
                "sample": float(np.mean([v == gold for v in votes])),
                "majority": float(maj == gold),
                "format_failure": float(not valid(g_ans, it["type"])),
                "sample_format_failure": float(np.mean([not valid(v, it["type"]) for v in votes])),
            }
            if keep_rows:
                r.update(greedy_text=tok.decode(g[0], skip_special=True), majority_answer=maj, gold=gold)
            rows.append(r)

    def summary(rs):
        m = lambda k: round(float(np.mean([r[k] for r in rs])), 4)
        return {
            "n_items": len(rs),
            "greedy_accuracy": m("greedy"),
            "mean_sample_accuracy": m("sample"),
            f"majority{n_samples}_accuracy": m("majority"),
            "format_failure_rate": m("format_failure"),
            "sample_format_failure_rate": m("sample_format_failure"),
        }

    out = summary(rows)
    out["per_type"] = {q: summary([r for r in rows if r["type"] == q]) for q in shapes.QTYPES}
    if keep_rows:
        out["rows"] = rows
    return out
