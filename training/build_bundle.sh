#!/usr/bin/env bash
# One command per bundle: prepare data -> train all stages -> export -> eval -> model card.
#   training/build_bundle.sh shapes cpu            # -> models/shapes-cpu
#   training/build_bundle.sh shapes tiny tiny-test # -> models/tiny-test (with golden/)
#   SKIP_TRAIN=1 RUN_DIR=training/runs/emoji-gpu training/build_bundle.sh emoji gpu emoji-v2  # after the GPU run
# Env: PY (default /usr/bin/python3), THREADS (default 2), RESUME=1 to continue a run.
set -euo pipefail
DATA=${1:?usage: build_bundle.sh shapes|emoji tiny|cpu|gpu [bundle-name]}
CFG=${2:?usage: build_bundle.sh shapes|emoji tiny|cpu|gpu [bundle-name]}
NAME=${3:-$DATA-$CFG}
PY=${PY:-/usr/bin/python3}
THREADS=${THREADS:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
RUN=${RUN_DIR:-$HERE/runs/$DATA-$CFG}
OUT=$ROOT/models/$NAME
if [ "$DATA" = emoji ] && [ ! -f "$HERE/.cache/pack/emoji64.npz" ]; then
  (cd "$ROOT" && npx tsx training/rasterize_emoji.ts) && $PY "$HERE/prepare_emoji.py"
fi
if [ "$DATA" = shapes ]; then $PY "$HERE/prepare_shapes.py" --config "$CFG"; fi
if [ "${SKIP_TRAIN:-0}" != 1 ]; then
  $PY "$HERE/train.py" --stage all --data "$DATA" --config "$CFG" --run-dir "$RUN" --threads "$THREADS" ${RESUME:+--resume}
fi
GOLD=""; [ "$CFG" = tiny ] && GOLD=--goldens
$PY "$HERE/export_bundle.py" --run-dir "$RUN" --out "$OUT" --name "$NAME" $GOLD
$PY "$HERE/eval_run.py" --run-dir "$RUN" --out "$OUT" --threads "$THREADS" ${EVAL_N:+--n $EVAL_N}
if [ "$DATA" = emoji ]; then  # the everyday evaluation, through the shipped runner
  [ -f "$HERE/eval/judge.json" ] || { echo "training/eval/judge.json missing: the judge is committed (training/judge.py)"; exit 1; }
  (cd "$ROOT" && npx tsx training/eval/everyday.ts --model "$OUT" --n 4 --out "$RUN/everyday")
fi
$PY "$HERE/model_card.py" --run-dir "$RUN" --bundle "$OUT" --machine "${MACHINE:-}"
du -sh "$OUT"
