#!/usr/bin/env bash
# One time-boxed GPU session: train every stage of the `gpu` config of each dataset side by side
# on one GPU and pack each run (EMA weights, fp16, split into parts under 15 MB) into $OUT.
# Every stage stops at its wall-clock budget and saves, so the script always finishes; a stage
# with budget 0 is skipped. RESUME=1 continues the runs already in $RUNS (or unpacked there).
# Rehearse it on the CPU first (training/README.md):
#   CONFIG=tiny B_CLIP=20 B_PRIOR=20 B_DEC=40 B_UP=40 OUT=/tmp/gpu_out training/gpu_run.sh
# Per dataset: A = clip -> decoder, B = upsampler, C = prior once clip.pt is final.
# Emoji v2 needs training/.cache/pack/{emoji64,emoji256}.npz + tokenizer.json (carried).
set -u
OUT=${OUT:-/tmp/gpu_out}
PY=${PY:-python3}
CONFIG=${CONFIG:-gpu}
B_CLIP=${B_CLIP:-60}
B_PRIOR=${B_PRIOR:-400}
B_DEC=${B_DEC:-440}
B_UP=${B_UP:-500}
B_DEC2=${B_DEC2:-0}  # > 0: afterwards, continue the decoders alone (less GPU sharing) for this long
THREADS=${THREADS:-2}
DATASETS=${DATASETS:-emoji}
RUNS=${RUNS:-training/runs}
RESUME=${RESUME:-0}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null || true
$PY -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" || exit 3
$PY -c "import PIL" 2>/dev/null || $PY -c "import torchvision.io" || { echo "no WebP decoder (PIL or torchvision)"; exit 3; }
T="$PY training/train.py --config $CONFIG --threads $THREADS"
R=""; [ "$RESUME" = 1 ] && R=--resume
stage() {  # stage NAME DATA RUN BUDGET
  [ "$4" = 0 ] && return 0
  $T --stage "$1" --data "$2" --run-dir "$3" --budget "$4" $R
}
for D in $DATASETS; do
  RUN=$RUNS/$D-$CONFIG
  [ "$RESUME" = 1 ] || rm -rf "$RUN"
  mkdir -p "$RUN"
  rm -f "$RUN/clip.done"
  # the tokenizer is written once, before the parallel stages read it
  $PY -c "import sys; sys.path.insert(0, 'training'); from train import get_tokenizer; from unclip.config import get_config; from unclip.dataset import load_data; c = get_config('$D', '$CONFIG'); get_tokenizer('$RUN', c, load_data(c))" || exit 4
  ( stage clip "$D" "$RUN" "$B_CLIP" && touch "$RUN/clip.done" &&
    stage decoder "$D" "$RUN" "$B_DEC" ) >> "$OUT/$D.log" 2>&1 &
  ( stage upsampler "$D" "$RUN" "$B_UP" ) >> "$OUT/$D.log" 2>&1 &
  ( for _ in $(seq 1 300); do [ -f "$RUN/clip.done" ] && break; sleep 2; done
    stage prior "$D" "$RUN" "$B_PRIOR" ) >> "$OUT/$D.log" 2>&1 &
done
wait
if [ "$B_DEC2" != 0 ]; then
  for D in $DATASETS; do
    $T --stage decoder --data "$D" --run-dir "$RUNS/$D-$CONFIG" --resume --budget "$B_DEC2" >> "$OUT/$D.log" 2>&1 &
  done
  wait
fi
for D in $DATASETS; do
  $PY training/pack_run.py --run-dir "$RUNS/$D-$CONFIG" --out "$OUT/$D-$CONFIG.pt"
  grep -E "done|Error|error" "$OUT/$D.log"
done
ls -la "$OUT"
