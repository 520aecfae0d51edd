#!/usr/bin/env bash
# GPU trainings of a lent machine's short lease (15 device minutes), fed with photos over
# several calls while the machine stays warm (see docs/training.md):
#   start TRAIN_S   start the trainings, each for TRAIN_S seconds, in the background; returns
#                   once they step
#   more PART_DIR   another part of photos: every training takes it in as it runs
#   finish          wait for them, export them (and the restorer's GPU speed rows) into $OUT;
#                   files over 15 MiB come back in parts (join them with gpu_split.sh --join)
# Call `finish` right after the last `more`: the machine goes back 30 s after a call.
# The trainings (all three by default; leave some out with the SKIP_* switches):
#   restorer   a fine-tune of the shipped restorer on the photos as they are (RS: the first
#              part, gpu_pack.py --mix: validation photos first; later parts join through
#              train.restore --feed). DEPTH="2 3 10 3 2": deeper (new blocks start as
#              identities); RLR, RBATCH, RCROP. SKIP_RESTORE=1 leaves it out.
#   colorizer  CUNET=1: a fine-tune of the shipped pair's automatic U-Net on the same photos
#              (`neuron train colorize --init default:auto --keep-prior --feed`); CLR, CBATCH,
#              CCROP; CINIT (another start), CWIDEN=W (grown to width W first), CAGED=S (a
#              share S of the crops aged and 80 % without hints, as the shipped member was
#              trained; docs/training.md). Exported as colorizer_gpu.
#              Otherwise the semantic decoder on cached frozen-encoder features of its own
#              parts (C1 first, scripts/gpu_cache_parts.py). SKIP_COLOR=1 leaves it out.
# Both colorizers need .gpu/enc carried (the encoder's ImageNet weights standing in for the pip
# package: gpu_pack.py --encoder .gpu/enc). CUDA_TESTS=1: the tests that skip without CUDA run
# after the start. Dry run on the CPU:
#   DEVICE=cpu RBATCH=4 RCROP=64 CBATCH=4 CCROP=64 W=/tmp/nd OUT=/tmp/o PATH=.venv/bin:$PATH ...
set -uo pipefail
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-/tmp/out}
W=${W:-/root/nd}
export PYTHONPATH=$PWD:$PWD/.gpu/enc PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$W/cdata" "$W/rfeed"
NPROC=$(nproc)
RESTORE=$([ -z "${SKIP_RESTORE:-}" ] && echo 1)
UNET=$([ -z "${SKIP_COLOR:-}" ] && [ -n "${CUNET:-}" ] && echo 1)
SEM=$([ -z "${SKIP_COLOR:-}" ] && [ -z "${CUNET:-}" ] && echo 1)
running() { pgrep -f "$1" >/dev/null; }

add_part() {  # $1: where (cdata: the semantic decoder's cache; rfeed: the trainers' feed),
    # $2: folder of photos; parts are numbered on from $3 (the feed's p1 is the start's data)
    local n; n=$(( $(ls "$W/$1" | wc -l) + ${3:-1} ))
    cp -r "$2" "$W/$1/p$n" && touch "$W/$1/p$n/.complete"
    echo "part p$n: $(find "$W/$1/p$n" -type f | wc -l) files"
}

case $1 in
start)
    [ "$DEVICE" = cuda ] && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    T0=$(date +%s)
    RWORKERS=$(( NPROC > 8 ? NPROC / 2 : 1 ))
    [ -z "$SEM" ] && RWORKERS=$(( NPROC > 6 ? NPROC - 3 - ${UNET:-0} * 2 : 1 ))
    { [ -n "$RESTORE" ] || [ -n "$UNET" ]; } && cp -r "${RS:-.gpu/rs/1/data}" "$W/rdata"
    # `if`, not `[ ] && cmd &`: that would background a subshell holding the call's output
    if [ -n "$SEM" ]; then
        add_part cdata "${C1:-.gpu/cpk/1/data}"
        setsid nohup python3 scripts/gpu_cache_parts.py "$W/cdata" "$W/cache" --device "$DEVICE" \
            --seeds "${SEEDS:-3}" --crop "${CROP:-224}" --until $((T0 + $2 - 60)) \
            > "$W/cache.log" 2>&1 </dev/null &
    fi
    if [ -n "$RESTORE" ]; then
        setsid nohup python3 -m neuron_desktop.train.restore train "$W/rrun" --data "$W/rdata" \
            --init restorer --device "$DEVICE" --feed "$W/rfeed" ${DEPTH:+--depth $DEPTH} \
            --workers "$RWORKERS" --batch "${RBATCH:-64}" --crop "${RCROP:-128}" \
            --lr "${RLR:-2.5e-4}" --lr-final 1e-5 --loss log-mse --steps 1000000 \
            --time-budget "$2" --val-every "${VAL_EVERY:-500}" --save-every-s 60 \
            --max-photos 100000 --threads 4 > "$W/rtrain.log" 2>&1 </dev/null &
    fi
    if [ -n "$UNET" ]; then
        setsid nohup python3 -m neuron_desktop.cli train colorize --init "${CINIT:-default:auto}" \
            --keep-prior ${CWIDEN:+--widen $CWIDEN} \
            ${CAGED:+--aged-share $CAGED --no-hint-share 0.8} \
            --device "$DEVICE" --data "$W/rdata" --feed "$W/rfeed" --time-budget "$2" \
            --steps 1000000 --batch "${CBATCH:-64}" --crop "${CCROP:-128}" --lr "${CLR:-2e-4}" \
            --lr-final 1e-5 --val-every "${VAL_EVERY:-500}" --workers 2 --run-dir "$W/crun" \
            --weights-dir "$W/cw" --name colorizer_gpu --threads 2 -q \
            > "$W/ctrain.log" 2>&1 </dev/null &
    fi
    if [ -z "$SEM" ]; then
        for _ in $(seq 120); do
            sleep 1
            { [ -z "$RESTORE" ] || grep -q "step [0-9]* loss" "$W/rtrain.log"; } &&
                { [ -z "$UNET" ] || grep -q "^step [0-9]*/" "$W/ctrain.log"; } && break
        done
        tail -n 3 "$W"/*.log
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
        grep -q "^.*step 25 " "$W/ctrain.log" && { [ -z "$RESTORE" ] ||
            grep -q "step [0-9]* loss" "$W/rtrain.log"; } && break
    done
    tail -n 3 "$W"/*.log ;;
more)
    [ -n "$SEM" ] && add_part cdata "$2"
    { [ -n "$RESTORE" ] || [ -n "$UNET" ]; } && add_part rfeed "$2" 2
    tail -n 2 "$W"/*.log ;;
finish)
    while running "colorize_semantic train" || running "train.restore train" ||
            running "cli train colorize"; do
        sleep 5
    done
    pkill -f gpu_cache_parts
    logs=()
    if [ -n "$SEM" ]; then
        grep -E "part .* seed|psnr|stopped|Error" "$W"/c*.log | tail -n 20
        python3 -m neuron_desktop.train.colorize_semantic export "$W/crun" \
            --name colorizer-semantic --weights-dir "$OUT/c"
        cp "$W/crun/log.jsonl" "$W/clog.jsonl"; logs+=(cache.log ctrain.log clog.jsonl)
    fi
    if [ -n "$UNET" ]; then
        grep -E "^\{|Error|wrote" "$W/ctrain.log" | tail -n 20
        cp -r "$W/cw" "$OUT/c"; cp "$W/crun/log.jsonl" "$W/clog.jsonl"
        logs+=(ctrain.log clog.jsonl)
    fi
    if [ -n "$RESTORE" ]; then
        grep -E "psnr|stopped|Error|data:" "$W/rtrain.log" | tail -n 20
        python3 -m neuron_desktop.train.restore export "$W/rrun" --name restorer \
            --weights-dir "$OUT/r"
        cp "$W/rrun/log.jsonl" "$W/rlog.jsonl"
        NEURON_WEIGHTS_DIR="$OUT/r" python3 -m neuron_desktop.cli bench --only restore \
            --device "$DEVICE" --out-dir "$W/bench" ${BENCH_QUICK:+--quick}
        logs+=(rtrain.log rlog.jsonl bench)
    fi
    for d in "$OUT/c" "$OUT/r"; do  # files come back at 16 MiB each at most
        [ -d "$d" ] && bash scripts/gpu_split.sh "$d"
    done
    tar czf "$OUT/logs.tgz" -C "$W" "${logs[@]}" ;;
esac
