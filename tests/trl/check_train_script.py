"""Checks the parts of an exported train_ttrv.py that do not need TRL, with Debian's python3 alone:

    python3 check_train_script.py BUNDLE_DIR

- TtrvReward (every reward of ttrv_rewards.REWARDS; confidence refused), under a stand-in for
  accelerate that plays N processes: TRL hands each process a
  slice of the generation batch in which one prompt's completions are spread over processes; the
  rewards each process returns must equal the rewards of the whole batch computed in one piece
  (ttrv_rewards.rewards per prompt), whatever the number of processes;
- batch_geometry: one optimizer step holds prompts_per_step x num_generations completions.
Prints "ok" and exits 0, or raises.
"""

import importlib.util
import os
import sys
import types

bundle = sys.argv[1]
sys.path.insert(0, bundle)
spec = importlib.util.spec_from_file_location("train_ttrv", os.path.join(bundle, "train_ttrv.py"))
train = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train)  # TRL, torch and datasets are imported only inside functions
import ttrv_rewards  # noqa: E402


class Processes:
    """accelerate's PartialState and gather_object for `count` processes run one after another:
    gather_object returns what every process contributed, in process order."""

    def __init__(self, slices):
        self.slices, self.rank = slices, 0

    def install(self):
        accelerate = types.ModuleType("accelerate")
        accelerate.PartialState = lambda: types.SimpleNamespace(process_index=self.rank)
        utils = types.ModuleType("accelerate.utils")
        utils.gather_object = self.gather
        accelerate.utils = utils
        sys.modules["accelerate"], sys.modules["accelerate.utils"] = accelerate, utils

    def gather(self, obj):
        # Every process's contribution, computed from its slice the way TtrvReward builds it.
        if obj and isinstance(obj[0], int):
            return [len(s["completions"]) for s in self.slices]
        return [pair for s in self.slices for pair in zip(s["item_id"], s["answers"])]


def check_reward(kind, alpha, guard_threshold, processes):
    questions = {
        "p1": "Which shape is red?\nA. circle\nB. square\nC. star\nD. triangle",
        "p2": "What color is the star?",
    }
    votes = {
        "p1": ["B", "B. square", "The answer is C", "square", "It is square. B", "A", "B", "D"],
        "p2": ["red", "Red.", "It is red.", "blue", "red", "green", "a red", "red."],
    }
    # TRL's order: each prompt's completions consecutive, the batch cut into equal slices per process.
    rows = [(key, text) for key in votes for text in votes[key]]
    per = len(rows) // processes
    slices = []
    for rank in range(processes):
        part = rows[rank * per:(rank + 1) * per]
        completions = [[{"role": "assistant", "content": text}] for _, text in part]
        slices.append({
            "completions": completions,
            "question": [questions[k] for k, _ in part],
            "item_id": [k for k, _ in part],
            "answers": [ttrv_rewards.extract_answer(t, questions[k]) for k, t in part],
        })
    fake = Processes(slices)
    fake.install()
    reward = train.TtrvReward(kind, alpha, guard_threshold)
    got = []
    for rank, s in enumerate(slices):
        fake.rank = rank
        got += reward(completions=s["completions"], question=s["question"], item_id=s["item_id"], prompts=None)
    want = []
    for key in votes:
        answers = [ttrv_rewards.extract_answer(t, questions[key]) for t in votes[key]]
        want += ttrv_rewards.rewards(kind, answers, len(answers), alpha, guard_threshold)
    assert got == want, (kind, processes, got, want)
    if kind == "guarded_majority" and guard_threshold == 0.6:  # the guard skips p1 and keeps p2
        assert got[:8] == [0.0] * 8 and any(got[8:]), got
    p1 = [ttrv_rewards.extract_answer(t, questions["p1"]) for t in votes["p1"]]
    p2 = [ttrv_rewards.extract_answer(t, questions["p2"]) for t in votes["p2"]]
    assert abs(reward.last_agreement - (ttrv_rewards.agreement(p1) + ttrv_rewards.agreement(p2)) / 2) < 1e-12


for kind in ttrv_rewards.REWARDS:
    for processes in (1, 2, 4):
        # p1's majority (B) holds 4 of 8 votes, p2's (red) 5 of 8: a guard at 0.6 skips p1 only.
        check_reward(kind, 0.75, 0.6, processes)

try:
    train.TtrvReward("confidence", 0.75, 0.5)
except ValueError as refused:
    assert "log-probs" in str(refused), refused
else:
    raise AssertionError("TtrvReward should refuse the confidence reward")

assert train.batch_geometry(8, 32, 1) == (32, 8)
assert train.batch_geometry(8, 32, 8) == (32, 1)
assert train.batch_geometry(1, 16, 1) == (16, 1)
assert train.batch_geometry(1, 16, 4) == (4, 1)
assert train.batch_geometry(8, 32, 1, per_device=8) == (8, 32)
for bad in ((1, 16, 3, None), (8, 32, 1, 7)):
    try:
        train.batch_geometry(*bad)
    except SystemExit as stop:
        assert "divide" in str(stop), stop
    else:
        raise AssertionError(f"batch_geometry{bad} should refuse")
print("ok")
