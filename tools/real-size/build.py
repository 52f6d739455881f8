"""Write a SmolVLM-shaped checkpoint with seeded random weights, in the Hub repository's layout.

    nice -n 19 /usr/bin/python3 tools/real-size/build.py --shape 256m          # -> .cache/real-size/256m
    /usr/bin/python3 tools/real-size/build.py --shape tiny --seed 1 --out DIR

Shapes: 256m (HuggingFaceTB/SmolVLM-256M-Instruct), 500m (-500M-Instruct), tiny (ours, for tests).
Writes config.json, generation_config.json, preprocessor_config.json, processor_config.json,
chat_template.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json, added_tokens.json,
vocab.json, merges.txt, model.safetensors (BF16), onnx/{vision_encoder,vision_encoder_fp16,embed_tokens,
decoder_model_merged}.onnx, and ttrv/ (not a Hub file: the PyTorch reference the checks compare
against, and build.json, the build log). The same shape and seed give the same bytes in every file
except ttrv/build.json (times); the script ends by printing their SHA-256 sums.
"""

import argparse
import hashlib
import json
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(os.path.dirname(HERE), "demo-model"))

import checkpoint  # noqa: E402
import graphs  # noqa: E402
import hub  # noqa: E402
import vocab  # noqa: E402

LOG = os.path.join("ttrv", "build.json")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def files_under(root):
    return sorted(os.path.relpath(os.path.join(r, f), root) for r, _, fs in os.walk(root) for f in fs)


def clear_previous(out):
    """A folder this script wrote before (it has ttrv/build.json) loses the files listed there;
    any other non-empty folder is refused, so no --out mistake deletes anything else."""
    if not os.path.isdir(out) or not os.listdir(out):
        return
    log = os.path.join(out, LOG)
    if not os.path.isfile(log):
        sys.exit(f"{out} is not empty and was not written by this script (no {LOG}): choose another --out")
    for rel in json.load(open(log))["files"] + [LOG]:
        p = os.path.join(out, rel)
        if os.path.isfile(p):
            os.remove(p)


def build(shape, seed, out, onnx=True):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    times = {}
    clear_previous(out)
    os.makedirs(os.path.join(out, "ttrv"), exist_ok=True)
    c = hub.SHAPES[shape]["config"]
    hub.write_configs(out, shape, vocab.tokenizer_files())
    times["configs_and_tokenizer_s"] = round(time.time() - t0, 1)
    model = checkpoint.seeded_model(c, seed)
    times["weights_s"] = round(time.time() - t0 - sum(times.values()), 1)
    params = checkpoint.save_bf16_safetensors(model, os.path.join(out, "model.safetensors"))
    times["safetensors_s"] = round(time.time() - t0 - sum(times.values()), 1)
    checkpoint.reference(model, seed, os.path.join(out, "ttrv", "reference.json"),
                         os.path.join(out, "ttrv", "reference.safetensors"))
    times["reference_s"] = round(time.time() - t0 - sum(times.values()), 1)
    if onnx:
        graphs.export_all(out, model)
        times["onnx_s"] = round(time.time() - t0 - sum(times.values()), 1)
    total = time.time() - t0
    files = [f for f in files_under(out) if f != LOG]
    sums = {f: sha256(os.path.join(out, f)) for f in files}
    sizes = {f: os.path.getsize(os.path.join(out, f)) for f in files}
    text_params = sum(p.numel() for n, p in model.named_parameters() if n.startswith("model.text_model.") or n == "lm_head.weight")
    log = {"shape": shape, "repo": hub.SHAPES[shape]["repo"], "seed": seed, "params": int(params),
           "params_text": int(text_params), "image_seq_len": c.image_seq_len, "seconds": round(total, 1),
           "phases": times, "load_average_1m_at_end": os.getloadavg()[0], "torch": torch.__version__,
           "bytes_total": sum(sizes.values()), "files": files, "bytes": sizes, "sha256": sums}
    with open(os.path.join(out, LOG), "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")
    return log


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(hub.SHAPES), required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="output folder (default: .cache/real-size/<shape> in the repository)")
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX graphs (the engine needs only model.safetensors)")
    args = ap.parse_args()
    out = args.out or os.path.join(REPO, ".cache", "real-size", args.shape)
    log = build(args.shape, args.seed, out, onnx=not args.no_onnx)
    for f in log["files"]:
        print(f"sha256 {log['sha256'][f][:16]}  {log['bytes'][f]:>11,d}  {f}")
    print(f"{args.shape} seed {args.seed}: {log['params'] / 1e6:.1f} M parameters ({log['params_text'] / 1e6:.1f} M text), "
          f"{log['bytes_total'] / 1e6:.1f} MB in {log['seconds']:.0f} s (phases {log['phases']}), "
          f"load average {log['load_average_1m_at_end']:.2f} -> {out}")


if __name__ == "__main__":
    main()
