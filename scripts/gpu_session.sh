#!/usr/bin/env bash
# Both GPU trainings of a lent machine's short lease (15 device minutes) at once, fed over
# several calls while the machine stays warm (see docs/training.md):
#   start TRAIN_S   the colorizer's decoder (cached frozen-encoder features of photo parts,
#                   scripts/gpu_cache_parts.py) and a restorer fine-tune, each for TRAIN_S
#                   seconds, in the background; returns once both are stepping
#   more PART_DIR   another part of photos for the colorizer's cache and the restorer's photos
#                   (both pick it up as they train)
#   finish          wait for both, export them, GPU speed rows of the restorer: all into $OUT
# Carried: .gpu/enc (the encoder's ImageNet weights as a stand-in for the pip package, made by
# scripts/gpu_pack.py --encoder), .gpu/rs/1 (restorer photos), .gpu/cpk/1 (first colorizer part).
# SKIP_RESTORE=1: the colorizer alone. SKIP_COLOR=1: the restorer alone (then RS is its first
# part, as gpu_pack.py writes the files as they are: validation photos first). DEPTH="2 3 10 3 2":
# a deeper restorer (new blocks start as identities); RLR: its peak learning rate;
# CUDA_TESTS=1: the tests that skip without CUDA run after the start. Dry run on the CPU: DEVICE=cpu CROP=64 BATCH=4 RBATCH=4 RCROP=64 W=/tmp/nd OUT=/tmp/o ...
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
    RWORKERS=$(( NPROC > 8 ? NPROC / 2 : 1 ))
    [ -n "${SKIP_COLOR:-}" ] && RWORKERS=$(( NPROC > 4 ? NPROC - 3 : 1 ))
    [ -n "${SKIP_RESTORE:-}" ] || { cp -r "${RS:-.gpu/rs/1/data}" "$W/rdata"; mkdir -p "$W/rfeed"; }
    [ -n "${SKIP_COLOR:-}" ] || add_part "${C1:-.gpu/cpk/1/data}"
    # `if`, not `[ ] || cmd &`: that would background a subshell holding the call's output
    if [ -z "${SKIP_COLOR:-}" ]; then
        setsid nohup python3 scripts/gpu_cache_parts.py "$W/cdata" "$W/cache" --device "$DEVICE" \
            --seeds "${SEEDS:-3}" --crop "${CROP:-224}" --until $((T0 + $2 - 60)) \
            > "$W/cache.log" 2>&1 </dev/null &
    fi
    if [ -z "${SKIP_RESTORE:-}" ]; then
        setsid nohup python3 -m neuron_desktop.train.restore train "$W/rrun" --data "$W/rdata" \
            --init restorer --device "$DEVICE" --feed "$W/rfeed" ${DEPTH:+--depth $DEPTH} \
            --workers "$RWORKERS" --batch "${RBATCH:-64}" --crop "${RCROP:-128}" \
            --lr "${RLR:-2.5e-4}" --lr-final 1e-5 --loss log-mse --steps 1000000 \
            --time-budget "$2" --val-every "${VAL_EVERY:-500}" --save-every-s 60 \
            --max-photos 100000 --threads 4 > "$W/rtrain.log" 2>&1 </dev/null &
    fi
    if [ -n "${SKIP_COLOR:-}" ]; then
        for _ in $(seq 120); do sleep 1; grep -q "step [0-9]* loss" "$W/rtrain.log" && break; done
        tail -n 3 "$W/rtrain.log"
        [ -n "${CUDA_TESTS:-}" ] && python3 -m pytest -q -p no:cacheprovider -k "cuda or gpu" -rs \
            tests/core/test_fill.py tests/core/test_guided.py tests/core/test_device.py \
            tests/core/test_color.py tests/core/test_metrics.py
        exit 0
    fi
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
    [ -n "${SKIP_COLOR:-}" ] || add_part "$2"
    if [ -z "${SKIP_RESTORE:-}" ]; then
        n=$(( $(ls "$W/rfeed" | wc -l) + 2 ))
        cp -r "$2" "$W/rfeed/p$n" && touch "$W/rfeed/p$n/.complete"
        echo "restorer part p$n: $(find "$W/rfeed/p$n" -type f | wc -l) files"
    fi
    tail -n 2 "$W"/*.log ;;
finish)
    while running "colorize_semantic train" || running "train.restore train"; do
        sleep 5
    done
    pkill -f gpu_cache_parts
    if [ -n "${SKIP_COLOR:-}" ]; then
        grep -E "psnr|stopped|Error|data:" "$W/rtrain.log" | tail -n 30
        python3 -m neuron_desktop.train.restore export "$W/rrun" --name restorer --weights-dir "$OUT/r"
        cp "$W/rrun/log.jsonl" "$W/rlog.jsonl"
        NEURON_WEIGHTS_DIR="$OUT/r" python3 -m neuron_desktop.cli bench --only restore \
            --device "$DEVICE" --out-dir "$W/bench" ${BENCH_QUICK:+--quick}
        tar czf "$OUT/logs.tgz" -C "$W" rtrain.log rlog.jsonl bench
        exit 0
    fi
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
