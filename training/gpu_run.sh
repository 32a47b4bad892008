#!/usr/bin/env bash
# One time-boxed GPU session: train the `gpu` config of both datasets side by side on one GPU
# and pack each run (EMA weights, fp16) into $OUT. Every stage stops at its wall-clock budget
# and saves, so the script always finishes. Test it on CPU first:
#   CONFIG=tiny B_CLIP=5 B_PRIOR=5 B_DEC=10 B_UP=10 OUT=/tmp/gpu_out training/gpu_run.sh
# Per dataset: A = clip -> decoder, B = upsampler, C = prior once clip.pt is final.
# The shipped *-gpu bundles: B_CLIP=70 B_PRIOR=230 B_DEC=320 B_UP=380 B_DEC2=215 (H200).
set -u
OUT=${OUT:-/tmp/gpu_out}
PY=${PY:-python3}
CONFIG=${CONFIG:-gpu}
B_CLIP=${B_CLIP:-70}
B_PRIOR=${B_PRIOR:-240}
B_DEC=${B_DEC:-320}
B_UP=${B_UP:-390}
B_DEC2=${B_DEC2:-0}  # > 0: afterwards, continue both decoders alone (less GPU sharing) for this long
THREADS=${THREADS:-2}
DATASETS=${DATASETS:-shapes emoji}
RUNS=${RUNS:-training/runs}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
T="$PY training/train.py --config $CONFIG --threads $THREADS"
for D in $DATASETS; do
  RUN=$RUNS/$D-$CONFIG
  rm -rf "$RUN"; mkdir -p "$RUN"
  # the tokenizer is written once, before the parallel stages read it
  $PY -c "import sys; sys.path.insert(0, 'training'); from train import get_tokenizer; from unclip.config import get_config; from unclip.dataset import load_data; c = get_config('$D', '$CONFIG'); get_tokenizer('$RUN', c, load_data(c))"
  ( $T --stage clip --data "$D" --run-dir "$RUN" --budget "$B_CLIP" && touch "$RUN/clip.done" &&
    $T --stage decoder --data "$D" --run-dir "$RUN" --budget "$B_DEC" ) >> "$OUT/$D.log" 2>&1 &
  ( $T --stage upsampler --data "$D" --run-dir "$RUN" --budget "$B_UP" ) >> "$OUT/$D.log" 2>&1 &
  ( for _ in $(seq 1 150); do [ -f "$RUN/clip.done" ] && break; sleep 2; done
    $T --stage prior --data "$D" --run-dir "$RUN" --budget "$B_PRIOR" ) >> "$OUT/$D.log" 2>&1 &
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
