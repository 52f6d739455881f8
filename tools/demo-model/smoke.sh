#!/bin/sh
# CI check that the demo-model pipeline still runs end to end (tiny settings, seconds), and that a
# build stopped part-way through a phase and resumed from its checkpoints writes the same files as
# one uninterrupted build. It never touches the shipped model. Needs Debian's python3-torch,
# python3-onnx, python3-pil.
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build() { /usr/bin/python3 tools/demo-model/build.py --smoke "$@" > "$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }; }
build --out "$tmp/straight"
tail -n 22 "$tmp/log"
build --out "$tmp/resumed" --checkpoints "$tmp/checkpoints" --stop-at image:2
build --out "$tmp/resumed" --resume "$tmp/checkpoints"
grep -q "resuming phase image at step 2" "$tmp/log" || { echo "the second run did not resume from the checkpoint"; exit 1; }
for f in model.safetensors onnx/decoder_model_merged.onnx eval.json; do
  cmp "$tmp/straight/public/models/ttrv-demo-shapes/$f" "$tmp/resumed/public/models/ttrv-demo-shapes/$f" ||
    { echo "resumed build differs from the uninterrupted one: $f"; exit 1; }
done
echo "resume OK: a build stopped at image:2 and resumed equals the uninterrupted build"
