#!/usr/bin/env bash
# The semantic colorizer's decoder on a lent GPU, in one device call (at most 10 minutes; see
# docs/training.md): the frozen EfficientNet-Lite0 encodes SEEDS random crops of every photo
# once (colorize_semantic cache), then the decoder trains on that cache for TRAIN_S seconds
# (bf16, the schedule fitted to the budget) and is exported as a candidate. Nothing here
# replaces the shipped colorizer: measure the candidate on validation (docs/colorization.md)
# before shipping it.
#   scripts/gpu_colorize.sh DATA TRAIN_S
# DATA: reduced photos packed for one call (short side 256 px, above the 224 px crops), e.g.
#   python3 scripts/gpu_pack.py --data ../shared/data/train ../extra_data --max-side 256 \
#       --parts 1 --out .gpu_restore          (then carry .gpu_restore/1, DATA .gpu_restore/1/data)
# Leaves in $OUT: train.log, log.jsonl, colorizer-semantic.safetensors and its manifest.
# Dry run on the CPU: DEVICE=cpu SEEDS=1 CROP=64 BATCH=4 OUT=/tmp/o scripts/gpu_colorize.sh DATA 20
set -uo pipefail
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-/tmp/out}
W=${W:-$(mktemp -d)}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$W"
[ "$DEVICE" = cuda ] && nvidia-smi --query-gpu=name,memory.total --format=csv
T0=$(date +%s)
for seed in $(seq 0 $(( ${SEEDS:-4} - 1 ))); do  # each pass: other crops of the same photos
    python3 -m neuron_desktop.train.colorize_semantic cache "$W/cache" --data "$1" \
        --seed "$seed" --crop "${CROP:-224}" --device "$DEVICE" --threads 4 \
        >> "$W/train.log" 2>&1 || { tail -n 20 "$W/train.log"; exit 1; }
done
echo "cache: $(( $(date +%s) - T0 )) s"; grep -h "cached" "$W/train.log" | tail -n 2
python3 -m neuron_desktop.train.colorize_semantic train "$W/run" --cache "$W/cache" \
    --device "$DEVICE" --batch "${BATCH:-64}" --lr 1e-3 --lr-final 3e-5 --steps 1000000 \
    --time-budget "$2" --val-every "${VAL_EVERY:-500}" --save-every-s 60 --threads 4 \
    >> "$W/train.log" 2>&1
rc=$?
grep -E "step [0-9]*00 |psnr|stopped|Error" "$W/train.log" | tail -n 30
cp "$W/train.log" "$OUT/"; cp "$W/run/log.jsonl" "$OUT/" 2>/dev/null
[ $rc -eq 0 ] || exit $rc
python3 -m neuron_desktop.train.colorize_semantic export "$W/run" --name colorizer-semantic \
    --weights-dir "$OUT"
