"""Development tool for the data-mixture search (docs/experiments/2026-12-02-demo-model-v2-build-and-mixture-search.md): train a model with a given
reply mixture and step count, or fine-tune saved weights with another mixture, and print the
eval numbers on the first N items of each test split. Writes nothing under the repository.

    nice -n 15 /usr/bin/python3 tools/demo-model/search.py --steps 1500 --save /tmp/x.pt
    nice -n 15 /usr/bin/python3 tools/demo-model/search.py --load /tmp/x.pt --steps 300 --mix '{"choice": {...}}'
"""

import argparse
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402
import evaluate  # noqa: E402
import replies  # noqa: E402
import shapes  # noqa: E402
import train  # noqa: E402
from build import SEED, TEST_SPLITS  # noqa: E402
from corpus import domain_corpus  # noqa: E402
from model import VLM, Config  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--mix", default=None, help="JSON: families to override in replies.MIX")
    ap.add_argument("--load", default=None)
    ap.add_argument("--save", default=None)
    ap.add_argument("--start-step", type=int, default=1600, help="stream offset (fine-tuning sees fresh items)")
    ap.add_argument("--n", type=int, default=150, help="items per split")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--splits", default="clean,sketch,noise,cast")
    ap.add_argument("--bias", default=None, help='JSON {"choice": b, "free": b, "presence": b}: logit added to the '
                    'descriptive forms\' first tokens (It, There, I) at the first reply position: simulates a mixture change')
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    mix = dict(replies.MIX)
    if args.mix:
        mix.update(json.loads(args.mix))
    tok = Tokenizer.build(domain_corpus())
    c = Config(vocab_size=len(tok.vocab), image_token_id=tok.vocab["<image>"])
    enc = data.Encoder(tok, c.image_seq_len)
    torch.manual_seed(SEED)
    model = VLM(c)
    if args.load:
        model.load_state_dict(torch.load(args.load))
    t0 = time.time()
    if args.steps:
        train.train(model, enc, tok.vocab["<|im_end|>"], SEED, args.steps, args.batch, args.lr, args.warmup,
                    every=max(1, args.steps // 10), mix=mix, start_step=args.start_step)
    print(f"trained {time.time() - t0:.0f}s; load {os.getloadavg()[0]:.2f}", flush=True)
    if args.save:
        torch.save(model.state_dict(), args.save)
    model.eval()
    first_bias = None
    if args.bias:
        b = json.loads(args.bias)
        first_bias = {}
        for q in shapes.QTYPES:
            v = torch.zeros(c.vocab_size)
            for w in ("ĠIt", "ĠThere", "ĠI"):
                v[tok.vocab[w]] = b.get(replies.family(q), 0.0)
            first_bias[q] = v
    res = {}
    for s in args.splits.split(","):
        items = [shapes.make_item(TEST_SPLITS[s], i, SEED) for i in range(args.n)]
        r = evaluate.eval_split(model, tok, enc, s, items, SEED, n_samples=args.samples, first_bias=first_bias)
        res[s] = r
        mk = f"majority{args.samples}_accuracy"
        pt = " ".join(f"{q[:4]} {r['per_type'][q]['greedy_accuracy']:.2f}/{r['per_type'][q][mk]:.2f}/{r['per_type'][q]['format_failure_rate']:.2f}"
                      for q in shapes.QTYPES)
        print(f"{s:6s} greedy {r['greedy_accuracy']:.3f} maj {r[mk]:.3f} (+{r[mk] - r['greedy_accuracy']:.3f}) "
              f"sample {r['mean_sample_accuracy']:.3f} ff {r['format_failure_rate']:.3f} sff {r['sample_format_failure_rate']:.3f} | {pt}",
              flush=True)
    print(f"total {time.time() - t0:.0f}s; load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
