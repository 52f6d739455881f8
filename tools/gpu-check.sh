#!/bin/sh
# The GPU check (issue 25, part 4): on a Linux machine with an NVIDIA driver and Vulkan but no
# internet, the engine's WebGPU parity test and bench:scale at SmolVLM-256M's shape on WebGPU in
# Node (Dawn), printing bench:scale's JSON.
#
#   tools/gpu-check.sh pack [OUT.tar.xz]   here, after `npm ci`: the repository at HEAD (git archive)
#                                          plus .gpu-check/ (bundle, Dawn, this Node) in one file,
#                                          refused above 64 MiB; default OUT: ttrv-gpu-check.tar.xz
#   tools/gpu-check.sh [--swiftshader] [--dry-run] [-- BENCH_ARGS…]
#                                          in the unpacked copy (tar -xJf OUT; cd ttrv-playground)
#
# How it gets its dependencies without a registry: `pack` bundles bench-scale.ts, the check's own
# entry (tools/bin/gpu-check.ts) and tests/engine/webgpu-agreement.gpu.test.ts into ES modules
# with Rolldown (tools/bin/gpu-check-bundle.mjs), copies npm `webgpu` (Dawn's linux-x64
# dawn.node) beside them and the Node binary that ran it; a Node ≥ 20.19 on PATH is used when the
# copy has none. The 256M checkpoint (513 MB) does not travel: its config and reference prompt do,
# and tools/lib/gpu-check/synthetic-checkpoint.ts draws the weights there and takes the reference
# logits from the engine on Wasm, so logits_max_abs_error is WebGPU against Wasm at real size.
#
# Vulkan: the NVIDIA driver's ICD (nvidia_icd.json) is named in VK_ICD_FILENAMES, so Dawn cannot
# fall back to a software adapter; the adapter is printed, and a software one fails the check.
# --swiftshader uses Chromium's SwiftShader ICD instead (to test the check without a GPU).
# BENCH_ARGS go to bench:scale (e.g. `-- --once --rows 4`). Temporary files go to a mktemp -d
# folder, removed at the end.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIMIT_MIB=64
SWIFTSHADER_ICD=/usr/lib/chromium/vk_swiftshader_icd.json

if [ "${1:-}" = pack ]; then
  OUT=${2:-ttrv-gpu-check.tar.xz}
  case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
  [ -d "$ROOT/node_modules/webgpu" ] || { echo "pack needs node_modules: run npm ci first." >&2; exit 1; }
  STAGE=$(mktemp -d)
  COPY=$STAGE/ttrv-playground
  mkdir -p "$COPY"
  git -C "$ROOT" archive HEAD | tar -x -C "$COPY"
  node "$ROOT/tools/bin/gpu-check-bundle.mjs" "$COPY/.gpu-check/bundle"
  mkdir -p "$COPY/.gpu-check/node/bin"
  cp "$(command -v node)" "$COPY/.gpu-check/node/bin/node"
  tar -C "$STAGE" -cf - ttrv-playground | xz -T0 -6 > "$OUT"
  case $STAGE in /tmp/tmp.*) rm -rf "$STAGE" ;; esac
  BYTES=$(wc -c < "$OUT")
  echo "packed $OUT: $BYTES bytes ($((BYTES / 1048576)) MiB; limit $LIMIT_MIB MiB)"
  if [ "$BYTES" -gt $((LIMIT_MIB * 1048576)) ]; then
    echo "The packed copy is over $LIMIT_MIB MiB: drop what it need not carry (git archive takes every tracked file)." >&2
    exit 1
  fi
  exit 0
fi

DRY=0
ICD=
while [ $# -gt 0 ]; do
  case $1 in
    --swiftshader) ICD=$SWIFTSHADER_ICD; shift ;;
    --dry-run) DRY=1; shift ;;
    --) shift; break ;;
    *) echo "unknown option $1 (usage: tools/gpu-check.sh pack [OUT] | [--swiftshader] [--dry-run] [-- BENCH_ARGS])" >&2; exit 2 ;;
  esac
done

if [ -z "$ICD" ]; then
  for f in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json \
           /usr/local/share/vulkan/icd.d/nvidia_icd*.json; do
    [ -f "$f" ] && { ICD=$f; break; }
  done
  [ -n "$ICD" ] || { echo "No NVIDIA Vulkan driver found (nvidia_icd.json): install the driver's Vulkan part, or pass --swiftshader to test the check without a GPU." >&2; exit 1; }
fi
export VK_ICD_FILENAMES=$ICD

NODE=$ROOT/.gpu-check/node/bin/node
[ -x "$NODE" ] || NODE=$(command -v node || true)
[ -n "$NODE" ] || { echo "No Node: the packed copy brings one in .gpu-check/node; otherwise install Node >= 20.19." >&2; exit 1; }
BUNDLE=$ROOT/.gpu-check/bundle
[ -f "$BUNDLE/run.mjs" ] || { echo "No bundle in $BUNDLE: make the copy with tools/gpu-check.sh pack." >&2; exit 1; }
[ -f "$BUNDLE/node_modules/webgpu/dist/linux-x64/dawn.node" ] || { echo "Dawn (dawn.node) is missing from the bundle: pack again." >&2; exit 1; }

echo "node $("$NODE" --version) at $NODE; VK_ICD_FILENAMES=$ICD; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
run() {
  echo "+ $*" >&2
  if [ $DRY = 0 ]; then "$@"; fi
}
START=$(date +%s)
WORK=$(mktemp -d)
trap 'case $WORK in /tmp/tmp.*) rm -rf "$WORK" ;; esac' EXIT

run "$NODE" "$BUNDLE/run.mjs" gpu-check adapter > "$WORK/adapter.json"
if [ $DRY = 0 ]; then
  echo "adapter: $(cat "$WORK/adapter.json")" >&2
  if [ "$ICD" != "$SWIFTSHADER_ICD" ] && grep -q '"swiftshader"' "$WORK/adapter.json"; then
    echo "Dawn gave SwiftShader, not the GPU: check the driver with vulkaninfo." >&2
    exit 1
  fi
fi
run "$NODE" "$BUNDLE/run.mjs" gpu-check parity
run "$NODE" "$BUNDLE/run.mjs" gpu-check checkpoint "$WORK/256m"
run "$NODE" "$BUNDLE/run.mjs" bench-scale --json --backend webgpu --shapes 256m \
  --dir-256m "$WORK/256m" --no-transformersjs --gpu-costs --gpu-cost-shapes 256m "$@" > "$WORK/bench.json"
if [ $DRY = 0 ]; then
  printf '{"adapter":%s,"bench_scale":%s}\n' "$(cat "$WORK/adapter.json")" "$(tail -n 1 "$WORK/bench.json")"
fi
echo "gpu check done in $(( $(date +%s) - START )) s; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
