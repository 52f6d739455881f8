"""Every text the domain can produce, for learning the BPE merges.

Enumerated from the question templates in shapes.py rather than sampled, so each domain word
is guaranteed to become one token whatever the seed.
"""

import replies
import shapes
from data import chat_prompt, completion


def domain_corpus():
    texts = [chat_prompt("x"), "Assistant: x", "User: x"]
    qs = ["How many shapes are there?"]
    for s in shapes.SHAPES:
        qs.append(f"What color is the {s}?")
    for c in shapes.COLOR_NAMES:
        qs.append(f"What shape is {c}?")
        for s in shapes.SHAPES:
            qs.append(f"Is there {shapes._a(c)} {c} {s}?")
    # Multiple choice: every option word after every letter, and the instruction.
    for pool in (shapes.COLOR_NAMES, shapes.SHAPES):
        for L in shapes.LETTERS:
            for o in pool:
                qs.append(f"x {L}. {o} Answer with the letter.")
    # TTRV's recognition format: the instruction and every class after every letter.
    for L in shapes.LETTERS:
        for o in shapes.CLASSES:
            qs.append(f"{shapes.RECOGNITION_PROMPT} {L}. {o}")
    answers = shapes.COLOR_NAMES + shapes.SHAPES + ["yes", "no"] + list(shapes.LETTERS) + [str(i) for i in range(10)]
    texts += qs + [completion(a) for a in answers] + [completion(r) for r in replies.corpus_texts()]
    return texts
