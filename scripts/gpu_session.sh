#!/usr/bin/env bash
# Both GPU trainings of a lent machine's short lease (15 device minutes) at once, fed over
# several calls while the machine stays warm (see docs/training.md):
#   start TRAIN_S   the colorizer's decoder (cached frozen-encoder features of photo parts,
#                   scripts/gpu_cache_parts.py) and a restorer fine-tune, each for TRAIN_S
#                   seconds, in the background; returns once both are stepping
#   more PART_DIR   another part of photos for the colorizer's cache (picked up as it trains)
#   finish          wait for both, export them, GPU speed rows of the restorer: all into $OUT
# Carried: .gpu/enc (the encoder's ImageNet weights as a stand-in for the pip package, made by
# scripts/gpu_pack.py --encoder), .gpu/rs/1 (restorer photos), .gpu/cpk/1 (first colorizer part).
# SKIP_RESTORE=1: the colorizer alone. Dry run on the CPU: DEVICE=cpu CROP=64 BATCH=4 RBATCH=4 RCROP=64 W=/tmp/nd OUT=/tmp/o ...
set -uo pipefail
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-/tmp/out}
W=${W:-/root/nd}
export PYTHONPATH=$PWD:$PWD/.gpu/enc PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$W/cdata"
NPROC=$(nproc)
running() { pgrep -f "$1" >/dev/null; }

add_part() {  # $1: folder of photos
    local n; n=$(( $(ls "$W/cdata" | wc -l) + 1 ))
    cp -r "$1" "$W/cdata/p$n" && touch "$W/cdata/p$n/.complete"
    echo "part p$n: $(find "$W/cdata/p$n" -type f | wc -l) files"
}

case $1 in
start)
    [ "$DEVICE" = cuda ] && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    T0=$(date +%s)
    [ -n "${SKIP_RESTORE:-}" ] || cp -r "${RS:-.gpu/rs/1/data}" "$W/rdata"
    add_part "${C1:-.gpu/cpk/1/data}"
    setsid nohup python3 scripts/gpu_cache_parts.py "$W/cdata" "$W/cache" --device "$DEVICE" \
        --seeds "${SEEDS:-3}" --crop "${CROP:-224}" --until $((T0 + $2 - 60)) \
        > "$W/cache.log" 2>&1 </dev/null &
    [ -n "${SKIP_RESTORE:-}" ] || setsid nohup python3 -m neuron_desktop.train.restore train "$W/rrun" --data "$W/rdata" \
        --init restorer --device "$DEVICE" --workers $(( NPROC > 8 ? NPROC / 2 : 1 )) \
        --batch "${RBATCH:-64}" --crop "${RCROP:-128}" --lr 2.5e-4 --lr-final 1e-5 \
        --loss log-mse --steps 1000000 --time-budget "$2" --val-every "${VAL_EVERY:-500}" \
        --save-every-s 60 --max-photos 100000 --threads 4 > "$W/rtrain.log" 2>&1 </dev/null &
    until [ -f "$W/cache/train_p1/shard_00000/meta.json" ]; do
        sleep 1; running gpu_cache_parts || { cat "$W/cache.log"; exit 1; }
    done
    setsid nohup python3 -m neuron_desktop.train.colorize_semantic train "$W/crun" \
        --cache "$W/cache" --device "$DEVICE" --batch "${BATCH:-64}" --lr 1e-3 --lr-final 3e-5 \
        --steps 1000000 --time-budget $(( $2 - ($(date +%s) - T0) )) \
        --val-every "${VAL_EVERY:-500}" --save-every-s 60 --threads 4 \
        > "$W/ctrain.log" 2>&1 </dev/null &
    for _ in $(seq 90); do  # until both step (or fail)
        sleep 1
        grep -q "^.*step 25 " "$W/ctrain.log" && { [ -n "${SKIP_RESTORE:-}" ] ||
            grep -q "step [0-9]* loss" "$W/rtrain.log"; } && break
    done
    tail -n 3 "$W"/*.log ;;
more)
    add_part "$2"
    tail -n 2 "$W"/*.log ;;
finish)
    while running "colorize_semantic train" || running "train.restore train"; do
        sleep 5
    done
    pkill -f gpu_cache_parts
    grep -E "part .* seed|psnr|stopped|Error" "$W"/*.log \
        | tail -n 40
    python3 -m neuron_desktop.train.colorize_semantic export "$W/crun" \
        --name colorizer-semantic --weights-dir "$OUT/c"
    [ -n "${SKIP_RESTORE:-}" ] && { cp "$W/ctrain.log" "$W/cache.log" "$OUT/"; exit 0; }
    python3 -m neuron_desktop.train.restore export "$W/rrun" --name restorer \
        --weights-dir "$OUT/r"
    python3 -m neuron_desktop.cli bench --only restore --device "$DEVICE" --out-dir "$W/bench" \
        ${BENCH_QUICK:+--quick}
    cp "$W/crun/log.jsonl" "$W/clog.jsonl"; cp "$W/rrun/log.jsonl" "$W/rlog.jsonl"
    tar czf "$OUT/logs.tgz" -C "$W" cache.log ctrain.log rtrain.log clog.jsonl rlog.jsonl bench ;;
esac
