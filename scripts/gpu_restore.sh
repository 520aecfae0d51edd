#!/usr/bin/env bash
# The restorer on a lent GPU, in one device call (at most 10 minutes; see docs/training.md):
# first the GPU speed rows of the shipped weights (`neuron bench --only restore`), then a
# time-boxed fine-tune of them (log-MSE, crops of 128 px, batches made by worker processes),
# exported as a candidate. Nothing here replaces the shipped weights: measure the candidate
# on validation (docs/restore.md) before shipping it.
#   scripts/gpu_restore.sh DATA TRAIN_S
# DATA: reduced photos packed for one call, e.g.
#   python3 scripts/gpu_pack.py --data ../shared/data/train ../extra_data --max-side 256 \
#       --parts 1 --out .gpu_restore          (then carry .gpu_restore/1, DATA .gpu_restore/1/data)
# Leaves in $OUT: bench/*.json, train.log, log.jsonl, restorer.safetensors and its manifest.
# DEPTH="2 3 6 3 2": a deeper network than the shipped weights (new blocks start as identities).
# Dry run on the CPU: DEVICE=cpu BATCH=4 CROP=64 OUT=/tmp/o scripts/gpu_restore.sh DATA 20
set -uo pipefail
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-/tmp/out}
W=${W:-$(mktemp -d)}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
mkdir -p "$OUT"
[ "$DEVICE" = cuda ] && nvidia-smi --query-gpu=name,memory.total --format=csv
python3 -m neuron_desktop.cli bench --only restore --device "$DEVICE" --out-dir "$OUT/bench" \
    ${BENCH_QUICK:+--quick}
WORKERS=${WORKERS:-$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))}
python3 -m neuron_desktop.train.restore train "$W/run" --data "$1" --init restorer \
    --device "$DEVICE" --workers "$WORKERS" --batch "${BATCH:-64}" --crop "${CROP:-128}" \
    --lr 4e-4 --lr-final 1e-5 --loss log-mse --steps 1000000 --time-budget "$2" ${DEPTH:+--depth $DEPTH} \
    --val-every "${VAL_EVERY:-500}" --save-every-s 60 --max-photos 100000 --threads 4 \
    > "$W/train.log" 2>&1
rc=$?
grep -E "step [0-9]*00 |psnr|stopped|Error" "$W/train.log" | tail -n 30
cp "$W/train.log" "$OUT/"; cp "$W/run/log.jsonl" "$OUT/" 2>/dev/null
[ $rc -eq 0 ] || exit $rc
python3 -m neuron_desktop.train.restore export "$W/run" --name restorer --weights-dir "$OUT"
