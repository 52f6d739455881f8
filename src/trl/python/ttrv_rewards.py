"""TTRV's label-free rewards (and their relatives) and the answer extraction they vote with, in plain Python.

Exported by TTRV Playground with a training project; the playground's TypeScript (src/rl/answers.ts,
src/rl/rewards.ts) computes the same numbers, and both are held to one set of vectors:

    python3 ttrv_rewards.py --self-test          # checks this file against ttrv_reward_vectors.json

No dependency beyond the standard library, so the rewards can be reviewed and tested anywhere.
Algorithm reference: TTRV (arXiv 2510.06783) and its code (verl/utils/reward_score/ttrl/ttt_metrics.py):

- extract an answer from each completion: for a multiple-choice question (options "A." and "B."
  listed) the last standalone letter A-D of the upper-cased text, otherwise a normalised phrase;
- frequency reward: the share of all votes that gave the completion's answer;
- TTRV reward: frequency + alpha * (-H(p) / ln M), the second term one value per prompt;
- majority reward (TTRL): 1 when the completion's answer is the most common one, else 0;
- guarded majority (TTRL-Guard arXiv 2605.19444, DARE arXiv 2601.21804): the majority reward, but a
  prompt whose most common answer holds less than guard_threshold of the votes gets all zeros;
- confidence (RENT arXiv 2505.22660): each completion's mean sampled-token log-prob. It needs the
  log-probs of the sampled tokens, which TRL's reward functions are not given: confidence_rewards is
  here for the self-test only, and train_ttrv.py trains with the vote rewards (REWARDS).
"""

import json
import math
import os
import re
import sys

# JavaScript's whitespace (String.prototype.trim and \\s), spelled out so that this file and the
# playground strip exactly the same characters (Python's str.strip() differs on a few).
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_SPACES = re.compile(f"[{_JS_SPACE}]+")
_LEADING_SPACE = re.compile(f"^[{_JS_SPACE}]+")
_TRAILING_SPACE = re.compile(f"[{_JS_SPACE}]+$")

# Chat-template and tokenizer markers (<end_of_utterance>, <|im_end|>, </s>): they must not split
# otherwise identical answers. ASCII word characters, as in the playground.
_SPECIAL_TOKEN = re.compile(f"<\\|[^{_JS_SPACE}<>|]+\\|>|</?[A-Za-z][A-Za-z0-9_:-]*>")

# Python's \w on str is Unicode-aware: letters, digits, underscore (TTRV's regex relies on it).
_CHOICE_LETTER = re.compile(r"(?<!\w)[ABCD](?!\w)")
_YES_NO_FIRST_WORD = re.compile(r"^(yes|no)(?!\w)")
_ARTICLE = re.compile(r"^(?:the|a|an) ")
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"])}


def _option_label(letter):
    return re.compile(rf"(?<!\w)(?:\({letter}\)|{letter}[.)])")


_OPTION_A = _option_label("A")
_OPTION_B = _option_label("B")


def _trim(text):
    return _TRAILING_SPACE.sub("", _LEADING_SPACE.sub("", text))


def is_multiple_choice(question):
    """True when the question lists at least options A and B ("A.", "A)" or "(A)")."""
    return bool(_OPTION_A.search(question) and _OPTION_B.search(question))


def strip_special_tokens(text):
    return _SPECIAL_TOKEN.sub("", text)


def extract_choice_answer(completion):
    """The last standalone A-D of the upper-cased completion; without one, the trimmed text."""
    text = strip_special_tokens(completion)
    letters = _CHOICE_LETTER.findall(text.upper())
    return letters[-1] if letters else _trim(text)


def extract_free_form_answer(completion):
    """Lower-case, no trailing period, single spaces, "yes"/"no" first word, no leading article,
    number words zero-ten as digits."""
    text = _trim(strip_special_tokens(completion)).lower()
    if text.endswith("."):
        text = text[:-1]
    text = _SPACES.sub(" ", _trim(text))
    yes_no = _YES_NO_FIRST_WORD.match(text)
    if yes_no:
        return yes_no.group(1)
    text = _ARTICLE.sub("", text, count=1)
    return " ".join(_NUMBER_WORDS.get(word, word) for word in text.split(" "))


def extract_answer(completion, question):
    """The answer a completion votes for: an option letter when the question is multiple choice."""
    if is_multiple_choice(question):
        return extract_choice_answer(completion)
    return extract_free_form_answer(completion)


def count_votes(votes):
    """{answer: count}, in the order answers are first seen."""
    counts = {}
    for vote in votes:
        counts[vote] = counts.get(vote, 0) + 1
    return counts


def agreement(votes):
    """The most common answer's share of the votes."""
    return max(count_votes(votes).values()) / len(votes)


def entropy_reward(votes):
    """-H(p) / ln M over the M distinct answers, in [-1, 0]; 0 when M <= 1."""
    counts = count_votes(votes)
    if len(counts) <= 1:
        return 0.0
    entropy = 0.0
    for count in counts.values():
        p = count / len(votes)
        entropy -= p * math.log(p)
    return -entropy / math.log(len(counts))


def _check(votes, num_generations):
    if not (isinstance(num_generations, int) and 0 <= num_generations <= len(votes)):
        raise ValueError(f"num_generations must be an integer from 0 to {len(votes)}, got {num_generations}")


def frequency_rewards(votes, num_generations):
    """p(a_j) for each of the first num_generations votes; frequencies count every vote."""
    _check(votes, num_generations)
    counts = count_votes(votes)
    return [counts[vote] / len(votes) for vote in votes[:num_generations]]


def ttrv_rewards(votes, num_generations, alpha):
    """TTRV: p(a_j) + alpha * entropy_reward(votes)."""
    bonus = alpha * entropy_reward(votes)
    return [r + bonus for r in frequency_rewards(votes, num_generations)]


def majority_answer(votes):
    """The most common answer; among ties the one seen first (Counter.most_common(1), as TTRL)."""
    best, best_count = None, 0
    for answer, count in count_votes(votes).items():
        if count > best_count:
            best, best_count = answer, count
    if best is None:
        raise ValueError("majority_answer needs at least one vote")
    return best


def majority_rewards(votes, num_generations):
    """TTRL: 1 for each of the first num_generations votes that match the majority, else 0."""
    _check(votes, num_generations)
    if num_generations == 0:
        return []
    majority = majority_answer(votes)
    return [1.0 if vote == majority else 0.0 for vote in votes[:num_generations]]


def guard_skips(votes, threshold):
    """Whether the guard skips a prompt: its most common answer holds less than threshold of the
    votes (a share exactly at the threshold passes)."""
    return agreement(votes) < threshold


def guarded_majority_rewards(votes, num_generations, threshold):
    """The majority reward, or all zeros (no ranking, so no update) when guard_skips."""
    _check(votes, num_generations)
    if num_generations == 0:
        return []
    if guard_skips(votes, threshold):
        return [0.0] * num_generations
    return majority_rewards(votes, num_generations)


def _mean(values):
    """As the playground's mean: a run of identical values is that value, not a rounded sum."""
    if all(v == values[0] for v in values):
        return values[0]
    return sum(values) / len(values)


def confidence_rewards(logprobs, num_generations):
    """RENT-style confidence: the mean log-prob of the sampled tokens of each of the first
    num_generations completions; one without tokens gets the lowest of the others (0 when all are
    empty). Ignores the votes' agreement."""
    _check(logprobs, num_generations)
    means = [_mean(tokens) if tokens else None for tokens in logprobs[:num_generations]]
    measured = [m for m in means if m is not None]
    lowest = min(measured) if measured else 0.0
    return [lowest if m is None else m for m in means]


# The rewards computed from the votes alone: the ones train_ttrv.py can train with.
REWARDS = ("ttrv", "frequency", "majority", "guarded_majority")


def check_reward_kind(kind):
    """Raises ValueError, saying why, for a reward that train_ttrv.py cannot train with."""
    if kind == "confidence":
        raise ValueError('the "confidence" reward needs the log-probs of the sampled tokens, which a TRL reward '
                         f'function is not given: use one of {", ".join(REWARDS)}')
    if kind not in REWARDS:
        raise ValueError(f'unknown reward "{kind}": use one of {", ".join(REWARDS)}')


def rewards(kind, votes, num_generations, alpha=0.75, guard_threshold=0.5):
    """The rewards of the first num_generations votes under one of REWARDS."""
    check_reward_kind(kind)
    if kind == "ttrv":
        return ttrv_rewards(votes, num_generations, alpha)
    if kind == "frequency":
        return frequency_rewards(votes, num_generations)
    if kind == "majority":
        return majority_rewards(votes, num_generations)
    return guarded_majority_rewards(votes, num_generations, guard_threshold)


def self_test(path):
    """Every vector of the playground's file, recomputed here; returns the list of mismatches."""
    with open(path, encoding="utf-8") as f:
        vectors = json.load(f)
    failures = []
    for case in vectors["extraction"]:
        got = extract_answer(case["completion"], case["question"])
        if got != case["answer"]:
            failures.append(f"extract_answer({case['completion']!r}, {case['question']!r}) = {got!r}, expected {case['answer']!r}")
    for case in vectors["rewards"]:
        answers = [extract_answer(c, case["question"]) for c in case["completions"]]
        if answers != case["answers"]:
            failures.append(f"answers of {case['completions']!r}: {answers!r}, expected {case['answers']!r}")
            continue
        checks = {
            "agreement": agreement(answers),
            "entropy_reward": entropy_reward(answers),
            **{kind: rewards(kind, answers, case["num_generations"], case["alpha"], case["guard_threshold"])
               for kind in REWARDS},
        }
        for name, got in checks.items():
            if not _close(got, case[name]):
                failures.append(f"{name} of {answers!r} (num_generations {case['num_generations']}, alpha {case['alpha']}, "
                                f"guard_threshold {case['guard_threshold']}): {got!r}, expected {case[name]!r}")
    for case in vectors["confidence"]:
        got = confidence_rewards(case["logprobs"], case["num_generations"])
        if not _close(got, case["confidence"]):
            failures.append(f"confidence of {case['logprobs']!r} (num_generations {case['num_generations']}): {got!r}, "
                            f"expected {case['confidence']!r}")
    return failures, len(vectors["extraction"]) + len(vectors["rewards"]) + len(vectors["confidence"])


def _close(got, want):
    if isinstance(want, list):
        return len(got) == len(want) and all(_close(a, b) for a, b in zip(got, want))
    return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)


def main(argv):
    if argv[:1] != ["--self-test"]:
        print("usage: python3 ttrv_rewards.py --self-test [VECTORS.json]", file=sys.stderr)
        return 2
    path = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "ttrv_reward_vectors.json")
    failures, checked = self_test(path)
    for failure in failures:
        print("MISMATCH", failure)
    print(f"{checked - len(failures)} of {checked} vectors match the playground's ({path})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
