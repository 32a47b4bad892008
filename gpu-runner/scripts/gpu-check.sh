#!/usr/bin/env bash
# The GPU check (issue 11), run on a GPU machine from the repository root, after the pieces made
# by gpu-pack.sh have arrived (see gpu-runner/README.md, "GPU check", for the device calls):
#
#   1. unpack Node 22, onnxruntime-node + its CUDA 13 provider (gpu-runner/gpu-versions.env, the
#      pair the GPU image ships), the bundle (no network);
#   2. point LD_LIBRARY_PATH at the machine's CUDA 13 libraries (PyTorch's nvidia-* wheels);
#   3. provider-check: providers per stage (a graph that fell back to the CPU fails: the provider
#      list names no cpu) and parity with the CPU provider, per stage and on whole images;
#   4. the runner (UNCLIP_PROVIDERS=cuda) over HTTP at 1, 8, 32, 64 concurrent requests,
#      256x256, default steps; GPU memory from nvidia-smi; then larger UNCLIP_MAX_BATCH values;
#   5. PyTorch eager on the same GPU (torch_gpu_baseline.py);
#   6. the WebGPU provider, if it loads;
#   7. results.md / results.json (for bench/results/) + check.log, runner.log, sheet.png in $OUT.
#
# Each step has a timeout; a failed step is recorded and the next one still runs. Exit 0 only
# when the provider check passed and the benchmark produced figures.
# Rehearsal on a machine without a GPU: gpu-rehearse.sh (same script, GPU_CHECK_* settings).
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PIECES=${GPU_CHECK_PIECES:-/root/unclip-gpu-pieces}
WORK=${GPU_CHECK_WORK:-/root/unclip-gpu-work}
OUT=${OUT:-$REPO/.gpu-check-out}
PROVIDERS=${GPU_CHECK_PROVIDERS:-cuda}
CONFIG=${GPU_CHECK_CONFIG:-emoji:gpu}
LEVELS=${GPU_CHECK_LEVELS:-1,8,32,64}
SWEEP=${GPU_CHECK_SWEEP:-64,128}         # extra UNCLIP_MAX_BATCH values (top two levels); "" = none
TORCH_DEVICE=${GPU_CHECK_TORCH_DEVICE:-cuda}
PYTHON=${GPU_CHECK_PYTHON:-python3}
WEBGPU=${GPU_CHECK_WEBGPU:-1}
BUDGET_S=${GPU_CHECK_BUDGET_S:-240}      # optional steps (sweep, WebGPU) are skipped past this
TOTAL_S=${GPU_CHECK_TOTAL_S:-390}        # every step's timeout is cut to end by then (the device
                                         # call's timeout_s is 420: the report still gets written)
PORT=${GPU_CHECK_PORT:-8790}
SECRET=gpu-check-secret-$RANDOM$RANDOM
U=$WORK/unclip-gpu
NODE=$U/bin/node
PARTS=$WORK/parts
mkdir -p "$OUT" "$PIECES" "$PARTS"
rm -f "$PARTS"/*.json
exec > >(tee -a "$OUT/check.log") 2>&1
t0=$SECONDS
step() { echo "=== [$((SECONDS - t0)) s] $*"; }
over_budget() { [ $((SECONDS - t0)) -gt "$BUDGET_S" ]; }
# A step's timeout: its own limit, cut so that it ends 15 s before TOTAL_S (at least 5 s).
tmo() { local left=$((TOTAL_S - (SECONDS - t0) - 15)); [ "$left" -lt "$1" ] && echo $((left > 5 ? left : 5)) || echo "$1"; }
# A step that printed no JSON: its error output becomes {"error": …} for the report.
json_error() { printf '%s' "$1" | tail -c 1500 | "$PYTHON" -c 'import json,sys;print(json.dumps({"error":sys.stdin.read()}))'; }

# 1. Pieces → $PIECES (earlier calls left theirs there; this call's are in .gpu-pack/chunks).
step "unpack"
shopt -s nullglob
for p in "$REPO"/.gpu-pack/chunks/unclip-gpu.tar.zst.*; do cp "$p" "$PIECES/"; done
ZSTD=$(command -v zstd || echo "$REPO/.gpu-pack/tools/zstd")
(cd "$PIECES" && sha256sum -c --quiet "$REPO/.gpu-pack/tools/SHA256SUMS") || {
  echo "pieces missing or damaged in $PIECES:"; ls -la "$PIECES"; exit 2; }
rm -rf "$U" && mkdir -p "$WORK"
cat "$PIECES"/unclip-gpu.tar.zst.* | "$ZSTD" -d -c | tar -x -C "$WORK" || { echo "unpack failed"; exit 2; }
tar -xzf "$REPO/.gpu-pack/tools/app.tar.gz" -C "$WORK" || { echo "no app.tar.gz"; exit 2; }
cat "$U/pack.json" "$U/app/app.json"

# 2. CUDA 13 libraries: PyTorch's nvidia-* wheels on the GPU image (no system CUDA 13 runtime).
step "environment"
SITE=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || true)
if [ -d "$SITE/nvidia" ]; then
  CUDA_DIRS=$(find "$SITE/nvidia" -name '*.so*' -printf '%h\n' | sort -u | paste -sd:)
  export LD_LIBRARY_PATH=$CUDA_DIRS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# The driver's libcuda.so.1: normally on the loader's path; else where NVIDIA's container setup puts it.
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/local/cuda/compat; do
    [ -e "$d/libcuda.so.1" ] && export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d && break
  done
fi
for lib in libcuda.so.1 libcublasLt.so.13 libcublas.so.13 libcudart.so.13 libcurand.so.10 libcudnn.so.9; do
  found=$(IFS=:; for d in ${LD_LIBRARY_PATH:-}; do [ -e "$d/$lib" ] && echo "$d/$lib" && break; done)
  found=${found:-$(ldconfig -p 2>/dev/null | grep -m1 "$lib " | sed 's/.*=> //')}
  echo "  $lib: ${found:-NOT FOUND}"
done
smi() { command -v nvidia-smi >/dev/null && nvidia-smi "$@"; }
mem_used() { smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1; }
GPU=$(smi --query-gpu=name --format=csv,noheader | head -1); GPU=${GPU:-none (no nvidia-smi)}
"$PYTHON" - "$U/pack.json" "$U/app/app.json" >"$PARTS/env.json" <<EOF
import json, os, platform, subprocess, sys, datetime
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception as e: return f"({e})"
pack, app = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
env = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "gpu": "$GPU",
       "gpu memory": sh("nvidia-smi --query-gpu=memory.total --format=csv,noheader | head -1"),
       "driver": sh("nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1"),
       "CUDA (driver)": sh("nvidia-smi | grep -o 'CUDA Version: [0-9.]*' | head -1"),
       "cpu": sh("lscpu | sed -n 's/^Model name: *//p'") + f" × {os.cpu_count()}",
       "kernel": platform.release(), "node": sh("$NODE -v"),
       "onnxruntime-node": pack["onnxruntime_node"], "CUDA provider": pack["cuda_provider"],
       "provider GPU code": json.dumps(pack["fatbin"]), "UNCLIP_PROVIDERS": "$PROVIDERS",
       "scripts commit": app["commit"] + (" (+ uncommitted changes)" if app["dirty"] else ""),
       "repo commit": sh("git -C $REPO rev-parse HEAD 2>/dev/null") or "(no git)"}
try:
    import torch
    env["torch"] = f"{torch.__version__} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()})"
except Exception as e:
    env["torch"] = f"not importable: {e}"
print(json.dumps(env))
EOF
cat "$PARTS/env.json"
BUNDLE_DIR=${GPU_CHECK_BUNDLE_DIR:-$U/models/$(sed -n 's/.*"bundle": "\([^"]*\)".*/\1/p' "$U/pack.json")}
echo "bundle: $BUNDLE_DIR"
IDLE=$(mem_used)

# 3. Providers per stage and parity with the CPU provider.
step "provider check ($PROVIDERS vs cpu)"
timeout "$(tmo 180)" "$NODE" "$U/app/provider-check.mjs" --bundle "$BUNDLE_DIR" --providers "$PROVIDERS" \
  --sheet "$OUT/sheet.png" >"$PARTS/provider-check.json" 2>"$WORK/provider-check.err"
CHECK_RC=$?
tail -5 "$WORK/provider-check.err"
[ -s "$PARTS/provider-check.json" ] || json_error "exit $CHECK_RC: $(cat "$WORK/provider-check.err")" >"$PARTS/provider-check.json"
head -c 1500 "$PARTS/provider-check.json"; echo
if grep -q 'requires the GPU, but' "$PARTS/provider-check.json"; then
  # Some graph fell back to the CPU: that is the finding (kept as provider-check.json). Measure
  # the rest anyway with cpu allowed, so the run still says where the nodes ran and how fast.
  mv "$PARTS/provider-check.json" "$PARTS/provider-check-strict.json"
  PROVIDERS=$PROVIDERS,cpu
  step "provider check again with cpu allowed ($PROVIDERS)"
  timeout "$(tmo 180)" "$NODE" "$U/app/provider-check.mjs" --bundle "$BUNDLE_DIR" --providers "$PROVIDERS" \
    --sheet "$OUT/sheet.png" >"$PARTS/provider-check.json" 2>>"$WORK/provider-check.err"
  head -c 1500 "$PARTS/provider-check.json"; echo
fi

# 4. The runner over HTTP.
RUNNER_PID=
start_runner() { # max batch, max queue
  UNCLIP_PROVIDERS=$PROVIDERS UNCLIP_BUNDLE=$BUNDLE_DIR UNCLIP_PORT=$PORT UNCLIP_HOST=127.0.0.1 \
    UNCLIP_POOL_SECRET=$SECRET UNCLIP_MAX_BATCH=$1 UNCLIP_MAX_QUEUE=$2 \
    "$NODE" "$U/app/runner.mjs" >>"$OUT/runner.log" 2>&1 &
  RUNNER_PID=$!
  for _ in $(seq 240); do
    "$NODE" -e "fetch('http://127.0.0.1:$PORT/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && return 0
    kill -0 "$RUNNER_PID" 2>/dev/null || { RUNNER_PID=; return 1; }
    sleep 0.5
  done
  return 1
}
stop_runner() {
  [ -n "$RUNNER_PID" ] || return 0
  kill -TERM "$RUNNER_PID" 2>/dev/null; wait "$RUNNER_PID" 2>/dev/null; RUNNER_PID=
}
bench() { # parts name, extra http-bench args...
  local name=$1; shift
  timeout "$(tmo 240)" "$NODE" "$U/app/http-bench.mjs" --url "http://127.0.0.1:$PORT" --secret "$SECRET" \
    --bundle "$BUNDLE_DIR" "$@" >"$PARTS/$name.json" 2>"$WORK/$name.err"
  cat "$WORK/$name.err"
  [ -s "$PARTS/$name.json" ] || json_error "$(cat "$WORK/$name.err")" >"$PARTS/$name.json"
}
step "runner (UNCLIP_PROVIDERS=$PROVIDERS, defaults) + benchmark at $LEVELS"
: >"$OUT/runner.log"
if start_runner 16 64; then
  READY=$(mem_used)
  (while sleep 0.5; do mem_used; done >"$WORK/mem.log" 2>/dev/null) & SAMPLER=$!
  bench http-bench --levels "$LEVELS" --level-timeout-s 45
  kill "$SAMPLER" 2>/dev/null
  PEAK=$(sort -n "$WORK/mem.log" 2>/dev/null | tail -1)
  stop_runner
else
  json_error "runner did not become ready: $(tail -c 1200 "$OUT/runner.log")" >"$PARTS/http-bench.json"
fi
echo "{\"idleMiB\": \"${IDLE:-}\", \"readyMiB\": \"${READY:-}\", \"peakMiB\": \"${PEAK:-}\"}" >"$PARTS/memory.json"

TOP_LEVELS=$(echo "$LEVELS" | tr ',' '\n' | tail -2 | paste -sd,)
for mb in ${SWEEP//,/ }; do
  over_budget && { echo "skipping UNCLIP_MAX_BATCH=$mb (over the ${BUDGET_S} s budget)"; break; }
  step "runner with UNCLIP_MAX_BATCH=$mb at $TOP_LEVELS"
  if start_runner "$mb" 256; then
    bench "sweep-max-batch-$mb" --levels "$TOP_LEVELS" --level-timeout-s 30
    stop_runner
  fi
done

# 5. PyTorch eager on the same GPU.
step "PyTorch eager ($TORCH_DEVICE)"
timeout "$(tmo 150)" "$PYTHON" "$REPO/gpu-runner/scripts/torch_gpu_baseline.py" --bundle "$BUNDLE_DIR" \
  --config "$CONFIG" --device "$TORCH_DEVICE" --batches "$LEVELS" >"$PARTS/torch.json" 2>"$WORK/torch.err"
tail -3 "$WORK/torch.err"
[ -s "$PARTS/torch.json" ] || json_error "$(cat "$WORK/torch.err")" >"$PARTS/torch.json"

# 6. WebGPU (Dawn over Vulkan): the loader comes from the carried Debian package.
if [ "$WEBGPU" = 1 ] && ! over_budget; then
  step "WebGPU provider"
  deb=$(ls "$REPO"/.gpu-pack/tools/libvulkan1_*.deb 2>/dev/null | head -1)
  if ! ldconfig -p | grep -q libvulkan.so.1 && [ -n "$deb" ]; then
    dpkg -x "$deb" "$WORK/gl" && export LD_LIBRARY_PATH=$WORK/gl/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd
  timeout "$(tmo 90)" "$NODE" "$U/app/provider-check.mjs" --bundle "$BUNDLE_DIR" --providers webgpu \
    --images 2 >"$PARTS/webgpu.json" 2>"$WORK/webgpu.err"
  tail -3 "$WORK/webgpu.err"
  [ -s "$PARTS/webgpu.json" ] || json_error "$(cat "$WORK/webgpu.err")" >"$PARTS/webgpu.json"
fi

# 7. Results.
step "report"
"$NODE" "$U/app/gpu-report.mjs" --parts "$PARTS" --json "$OUT/results.json" --md "$OUT/results.md"
cat "$OUT/results.md"
step "done"
grep -q '"ok":true' "$PARTS/provider-check.json" && grep -q '"levels"' "$PARTS/http-bench.json"
