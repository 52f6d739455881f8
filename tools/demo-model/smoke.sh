#!/bin/sh
# CI check that the demo-model pipeline still runs end to end (tiny settings, temp dir, ~15 s).
# It never touches the shipped model. Needs Debian's python3-torch, python3-onnx, python3-pil.
set -eu
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 tools/demo-model/build.py --smoke "$@"
