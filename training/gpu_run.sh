#!/usr/bin/env bash
# The GPU call of model v2 (issue 15): CLIP, then the prior and the decoder side by side, on one
# GPU inside one device call (600 s limit). The upsampler trains on the CPU, not here.
#
#   OUT=$OUT training/gpu_run.sh                                    # a fresh run (training/README.md)
#   OUT=$OUT STAGES=decoder RESUME_FROM=training/checkpoints/emoji-v2 training/gpu_run.sh   # continue one
#
# - The first seconds are a smoke step (data present, one small forward/backward of every stage
#   on the device) that fails the call at once if anything is missing.
# - Every stage packs its fp16 EMA into $OUT every PACK_EVERY seconds and when it stops (15 MB
#   parts), so a call killed at its limit still returns the latest weights; $OUT/run.log has
#   everything printed. Files in $OUT: tokenizer.json, run.log, clip.pt, prior.pt,
#   decoder.pt.000/.001 (6 of the 8 a call may return, ~35 MB of the 64 MiB).
# - Every stage stops by START + TOTAL seconds (default 540: 60 s of margin inside 600).
# - RESUME_FROM: a checkpoint folder (packed stages + tokenizer.json); the STAGES named continue
#   from it (EMA weights, fresh optimizer, re-warmed LR). The prior and decoder read clip.pt from
#   it; when CLIP itself trains in this call, they restart instead (their CLIP changed).
# Env: OUT (required), PY, DATA (emoji), CONFIG (gpu; tiny for the rehearsal), DEVICE, STAGES,
# TOTAL, B_CLIP (CLIP's seconds), PACK_EVERY, PROBE=0/1, COMPILE=0/1, COMPILE_LIMIT, RUN, THREADS.
set -u
START=$(date +%s)
OUT=${OUT:?set OUT to the folder whose files come back}
PY=${PY:-python3}
DATA=${DATA:-emoji}
CONFIG=${CONFIG:-gpu}
STAGES=${STAGES:-clip prior decoder}
TOTAL=${TOTAL:-540}
B_CLIP=${B_CLIP:-110}
PACK_EVERY=${PACK_EVERY:-120}
PROBE=${PROBE:-1}
COMPILE=${COMPILE:-1}
COMPILE_LIMIT=${COMPILE_LIMIT:-75}
RESUME_FROM=${RESUME_FROM:-}
RUN=${RUN:-training/runs/$DATA-$CONFIG}
THREADS=${THREADS:-0}
END=$((START + TOTAL))
export PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$RUN"
exec > >(tee -a "$OUT/run.log") 2>&1
has() { case " $STAGES " in *" $1 "*) return 0 ;; esac; return 1; }
echo "gpu_run: stages [$STAGES], $TOTAL s in all, CLIP $B_CLIP s, run dir $RUN, resume from ${RESUME_FROM:-nothing}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
# what travelled: models/ and other checkpoints must not (training/README.md's sparse checkout)
du -sh --exclude=.git . 2>/dev/null; ls models 2>/dev/null | head -3 && echo "WARNING: models/ travelled"
echo "checkpoints that travelled: $(ls training/checkpoints/*/*.pt* 2>/dev/null | tr '\n' ' ')"
ls -la "${UNCLIP_PACK:-training/.cache/pack}" 2>/dev/null

T=("$PY" training/train.py --data "$DATA" --config "$CONFIG" --run-dir "$RUN" --threads "$THREADS"
   --pack-to "$OUT" --pack-every "$PACK_EVERY" --compile-limit "$COMPILE_LIMIT")
[ -n "${DEVICE:-}" ] && T+=(--device "$DEVICE")
[ "$PROBE" = 1 ] && T+=(--probe)
[ "$COMPILE" = 1 ] && T+=(--compile)

R=()
for s in $STAGES; do rm -f "$RUN/$s.pt" "$RUN/$s.pt".[0-9][0-9][0-9]; done  # this call's stages only
has clip && [ -z "$RESUME_FROM" ] && rm -f "$RUN/tokenizer.json"  # a new CLIP takes the data pack's
if [ -n "$RESUME_FROM" ]; then
  want="clip"; has prior && ! has clip && want+=" prior"; has decoder && ! has clip && want+=" decoder"
  "$PY" training/pack_run.py --unpack "$RESUME_FROM" --run-dir "$RUN" --stages $want || exit 3
  R=(--resume)
fi
[ -f "$RUN/tokenizer.json" ] && cp "$RUN/tokenizer.json" "$OUT/"

# 1. smoke: imports, data, one small forward/backward per stage on the device (fails fast)
"$PY" training/train.py --data "$DATA" --config "$CONFIG" --run-dir "$RUN" ${DEVICE:+--device "$DEVICE"} \
  --smoke --stage $STAGES || { echo "gpu_run: smoke step failed"; exit 3; }
cp "$RUN/tokenizer.json" "$OUT/"
echo "gpu_run: smoke passed after $(( $(date +%s) - START )) s"

# 2. CLIP alone (the prior and decoder need its final embeddings)
if has clip; then
  "${T[@]}" --stage clip --deadline $(( $(date +%s) + B_CLIP < END - 60 ? $(date +%s) + B_CLIP : END - 60 )) "${R[@]}" ||
    { echo "gpu_run: clip failed"; exit 4; }
  R=()  # a new CLIP: the prior and decoder start over
fi
[ -f "$RUN/clip.pt" ] || { echo "gpu_run: no clip.pt in $RUN"; exit 4; }

# 3. prior and decoder side by side until the end (the prior alone leaves the GPU mostly idle)
pids=()
for s in prior decoder; do
  has $s || continue
  "${T[@]}" --stage $s --deadline $((END - 10)) "${R[@]}" &  # 10 s for the last save and pack
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
echo "gpu_run: finished after $(( $(date +%s) - START )) s (rc $rc)"
grep -h "done:\|batch probe\|torch.compile" "$RUN/train.log" | tail -n 12
ls -la "$OUT"
exit $rc
