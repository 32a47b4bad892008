#!/usr/bin/env bash
# Rehearses the GPU check on a machine without a GPU: the same pieces (gpu-pack.sh) unpacked into
# a scratch folder outside the repository, the same gpu-check.sh with the CPU provider, the tiny
# bundle, small concurrency and PyTorch on the CPU; then the CUDA path, which must fail clearly
# here (no CUDA 13 libraries): the provider check and the runner both exit non-zero naming the
# missing library, never a silent CPU run.
#
#   bash gpu-runner/scripts/gpu-rehearse.sh      # SCRATCH=/tmp/unclip-gpu-rehearsal
set -uo pipefail
cd "$(git rev-parse --show-toplevel)"
SCRATCH=${SCRATCH:-/tmp/unclip-gpu-rehearsal}
[ -e .gpu-pack/tools/SHA256SUMS ] || bash gpu-runner/scripts/gpu-pack.sh || exit 1
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
export GPU_CHECK_PIECES=$SCRATCH/pieces GPU_CHECK_WORK=$SCRATCH/work OUT=$SCRATCH/out
start=$SECONDS
GPU_CHECK_PROVIDERS=cpu GPU_CHECK_BUNDLE_DIR=$PWD/models/tiny-test \
  GPU_CHECK_LEVELS=1,4 GPU_CHECK_SWEEP=8 GPU_CHECK_TORCH_DEVICE=cpu GPU_CHECK_WEBGPU=1 \
  GPU_CHECK_PYTHON=/usr/bin/python3 GPU_CHECK_PORT=18797 bash gpu-runner/scripts/gpu-check.sh
rc=$?
echo "gpu-check.sh (cpu rehearsal): exit $rc after $((SECONDS - start)) s"

U=$SCRATCH/work/unclip-gpu
echo "=== the CUDA path here must fail clearly"
"$U/bin/node" "$U/app/provider-check.mjs" --bundle "$PWD/models/tiny-test" --providers cuda >"$SCRATCH/cuda.json" 2>&1
cuda_rc=$?
cat "$SCRATCH/cuda.json"
UNCLIP_PROVIDERS=cuda UNCLIP_BUNDLE=$PWD/models/tiny-test UNCLIP_PORT=18798 timeout 60 \
  "$U/bin/node" "$U/app/runner.mjs" >"$SCRATCH/cuda-runner.log" 2>&1
runner_rc=$?
tail -3 "$SCRATCH/cuda-runner.log"
ok=1
[ "$cuda_rc" -ne 0 ] && grep -q 'libcublasLt.so.13' "$SCRATCH/cuda.json" || { echo "FAIL: provider check with cuda did not fail on libcublasLt.so.13"; ok=0; }
[ "$runner_rc" -ne 0 ] && [ "$runner_rc" -ne 124 ] && grep -q 'libcublasLt.so.13' "$SCRATCH/cuda-runner.log" || { echo "FAIL: runner with UNCLIP_PROVIDERS=cuda did not exit naming libcublasLt.so.13"; ok=0; }
[ "$rc" -eq 0 ] || { echo "FAIL: gpu-check.sh exited $rc"; ok=0; }
ls -la "$SCRATCH/out"
[ "$ok" = 1 ] && echo "rehearsal: PASS" || { echo "rehearsal: FAIL"; exit 1; }
