"""What the demo model is trained to say: replies of a few tokens in several surface forms.

A small instruction-tuned VLM does not answer in one fixed format. For a multiple-choice question
it mostly gives the bare letter, sometimes "B. square", "The answer is B", only the option's word,
or a short description first ("It is red. B") or instead ("It is red."). Free answers come as a
word or a short phrase ("Red.", "a star", "three", "Yes, there is."), sometimes as a sentence that
no extraction rule reduces to the answer ("It is red.", "There are three.").

Every training item gets one reply form, drawn from a fixed mixture (MIX) independently of the
image, so the trained model's distribution over forms at temperature 1 is that mixture. The forms
that do not start with the answer share their first tokens ("It", "The", "There", "I") across all
answers. Where the model is sure of the answer, the answer's own first token beats them and greedy
decoding answers; where it is unsure (under distribution shift), the shared prefix collects more
probability than any single answer, greedy decoding follows it into a description without an
answer (a format failure), while most samples still carry an answer and their majority is right.
That is the gap between greedy accuracy and maj@N that test-time RL can close (TTRV's logs: step-0
replies are often empty or malformed).

`check_forms` verifies, with evaluate.extract (the spec's rules, as src/rl/answers.ts), that every
answering form extracts to the gold answer and every failing form to no valid answer.
"""

NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]

# Reply-form mixtures, per question family (the data-mixture search tuned these; docs/experiments/2026-12-02-demo-model-v2-build-and-mixture-search.md).
MIX = {
    # mc and recognition: bare letter, "B. square", "The answer is B", "square" (fails),
    # "It is square." (fails), "It is square. B"
    "choice": {"bare": 0.44, "dot": 0.13, "answer_is": 0.13, "word": 0.07, "desc": 0.12, "desc_letter": 0.11},
    # color / shape / count: the word, a variant ("Red.", "a star", "three"), a sentence (fails)
    "free": {"bare": 0.54, "variant": 0.27, "desc": 0.19},
    # presence: "yes", "Yes, there is.", "I see it." (fails)
    "presence": {"bare": 0.49, "variant": 0.28, "desc": 0.23},
}
# Stage 1 (learning the task) sees every form often enough to learn its grammar.
STAGE1_MIX = {
    "choice": {"bare": 0.40, "dot": 0.12, "answer_is": 0.12, "word": 0.06, "desc": 0.15, "desc_letter": 0.15},
    "free": {"bare": 0.50, "variant": 0.25, "desc": 0.25},
    "presence": {"bare": 0.45, "variant": 0.25, "desc": 0.30},
}
FAILING = {"word", "desc"}  # forms that extract to no valid answer


def family(qtype):
    return "choice" if qtype in ("mc", "recognition") else "presence" if qtype == "presence" else "free"


def forms(item):
    """{form name: reply text} for one item (the text before <end_of_utterance>)."""
    q, a, w = item["type"], item["answer"], item["word"]
    if family(q) == "choice":
        return {"bare": a, "dot": f"{a}. {w}", "answer_is": f"The answer is {a}", "word": w,
                "desc": f"It is {w}.", "desc_letter": f"It is {w}. {a}"}
    if q == "color":
        return {"bare": a, "variant": f"{a.capitalize()}.", "desc": f"It is {a}."}
    if q == "shape":
        return {"bare": a, "variant": f"a {a}", "desc": f"It is a {a}."}
    if q == "count":
        n = int(a)
        return {"bare": a, "variant": NUMBER_WORDS[n],
                "desc": "There is one." if n == 1 else f"There are {NUMBER_WORDS[n]}."}
    if q == "presence":
        if a == "yes":
            return {"bare": "yes", "variant": "Yes, there is.", "desc": "I see it."}
        return {"bare": "no", "variant": "No, there is not.", "desc": "I do not see it."}
    raise ValueError(q)


def reply(item, rng, mix=None):
    """One reply for a training item, its form drawn from the mixture with `rng`."""
    m = (mix or MIX)[family(item["type"])]
    names = list(m)
    p = [m[n] for n in names]
    k = int(rng.choice(len(names), p=[x / sum(p) for x in p]))
    return forms(item)[names[k]]


def corpus_texts():
    """Every reply text the domain can produce (for the tokenizer's merges)."""
    import shapes

    out = set()
    for c in shapes.COLOR_NAMES:
        for s in shapes.SHAPES:
            for L in shapes.LETTERS:
                for w in (c, s, f"{c} {s}"):
                    out.update(forms({"type": "mc", "answer": L, "word": w}).values())
    for c in shapes.COLOR_NAMES:
        out.update(forms({"type": "color", "answer": c, "word": c}).values())
    for s in shapes.SHAPES:
        out.update(forms({"type": "shape", "answer": s, "word": s}).values())
    for n in range(1, 10):
        out.update(forms({"type": "count", "answer": str(n), "word": str(n)}).values())
    for a in ("yes", "no"):
        out.update(forms({"type": "presence", "answer": a, "word": a}).values())
    return sorted(out)


def check_forms(items, extract, valid):
    """Every answering form extracts to the gold answer, every failing one to no valid answer."""
    for it in items:
        gold = extract(it["answer"], it["question"])
        for name, text in forms(it).items():
            got = extract(text, it["question"])
            if name in FAILING:
                assert not valid(got, it["type"]), (name, text, got)
            else:
                assert got == gold, (name, text, got, gold)
