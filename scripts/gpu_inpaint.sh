#!/usr/bin/env bash
# Time-boxed GPU training of the inpainting network on a lent machine whose calls last at
# most 10 minutes: the run goes on in the background between calls (see docs/training.md).
#   start DATA TRAIN_S WATCH_S [INIT]  calibrate, choose width, batch and steps to end in
#                               TRAIN_S, launch (INIT: fine-tune those weights, at their width)
#   more DATA WATCH_S           add photos: stop the run (it saves a checkpoint), resume it
#   finish WATCH_S              wait for the end; GPU benchmark of the new weights
# Each call leaves the log and a snapshot of the weights in $OUT. DATA: a part made by
# scripts/gpu_pack.py (.gpu/N/data, carried as .gpu/N), e.g. for a fine-tuning run:
#   start .gpu/1/data 1250 400 neuron_desktop/weights/inpainter.safetensors; more .gpu/2/data 300;
#   more .gpu/3/data 560; finish 300   (~24 of a session's 30 device minutes)
set -uo pipefail
W=/root/nd
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
mkdir -p "$W/data" "$OUT"
T0=$(date +%s)

launch() {  # $1: extra option (--resume)
    setsid nohup python3 -m neuron_desktop.cli train inpaint $(cat "$W/args") "$@" \
        >>"$W/train.log" 2>&1 </dev/null &
}
running() { pgrep -f "neuron_desktop.cli train inpaint" >/dev/null; }
snapshot() {
    cp "$W/train.log" "$OUT/" 2>/dev/null; cp "$W/run/log.jsonl" "$OUT/" 2>/dev/null
    python3 - "$W/run/checkpoint.pt" "$OUT/snapshot.safetensors" <<'EOF'
import sys, os, torch
from safetensors.torch import save_file
if os.path.exists(sys.argv[1]):
    s = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
    save_file({k: v.contiguous() for k, v in s["model"].items()}, sys.argv[2],
              metadata={"step": str(s["step"])})
    print("snapshot at step", s["step"])
EOF
}
watch() {  # until $1 seconds after this call began, or the run ends
    while running && [ $(($(date +%s) - T0)) -lt "$1" ]; do
        sleep 15; grep -h "^step" "$W/train.log" | tail -n 1
    done
    tail -n 4 "$W/train.log"
}

case $1 in
start)
    cp -r "$2"/. "$W/data/"
    nvidia-smi --query-gpu=name,memory.total --format=csv
    python3 - "$W" "$3" "${5:-}" <<'EOF' || exit 1
import json, subprocess, sys
from safetensors import safe_open
w, train_s, init = sys.argv[1], float(sys.argv[2]), sys.argv[3]
widths = ["32", "24"]
if init:  # the width of the weights: the attention encoder's first convolution's channels
    with safe_open(init, "pt") as f:
        widths = [str(f.get_slice("attn_enc.0.0.weight").get_shape()[0])]
subprocess.run([sys.executable, "scripts/gpu_calibrate.py", f"{w}/calib.json", "--widths",
                *widths, "--batches", "32", "64", "128"], check=True)
rate = json.load(open(f"{w}/calib.json"))
budget = train_s * 0.8  # validation, data workers' start, the restart
if init:
    width, lr, extra = int(widths[0]), "--lr 2e-4 --lr-final 1e-5", f"--init {init} --keep-residuals"
else:
    width = 32 if budget / rate["32x32"] >= 4000 else 24
    lr, extra = "--lr 4e-4", ""
batch = max((32, 64, 128), key=lambda b: b / rate[f"{width}x{b}"])  # most crops per second
sec = rate[f"{width}x{batch}"]
steps = int(budget / sec) // 100 * 100
every = max(200, int(60 / sec) // 100 * 100)
args = (f"--device cuda --workers 12 --width {width} --batch {batch} --crop 256 --steps {steps} "
        f"{lr} --mse-weight 10 --adv-weight 0 --val-every {every} --data {w}/data "
        f"--run-dir {w}/run --weights-dir {w}/weights -q {extra}")
open(f"{w}/args", "w").write(args)
print(args)
EOF
    echo $((T0 + $3)) > "$W/deadline"
    launch
    watch "$4"; snapshot ;;
more)
    cp -r "$2"/. "$W/data/"
    pkill -o -f "neuron_desktop.cli train inpaint"  # the trainer: it saves this step, exits
    while running; do sleep 1; done
    # re-plan the length from the measured rate (the calibration leaves out the data
    # workers and the validation), so the run still ends by the deadline
    python3 - "$W" <<'EOF'
import re, sys, time
w = sys.argv[1]
args = open(f"{w}/args").read()
done = [m for line in open(f"{w}/train.log")
        if (m := re.match(r"step (\d+)/\d+ .* ([\d.]+) img/s", line))]
stopped = re.findall(r"stopped at step (\d+)", open(f"{w}/train.log").read())
if done:
    step, rate = int(stopped[-1] if stopped else done[-1][1]), float(done[-1][2])
    batch = int(re.search(r"--batch (\d+)", args)[1])
    left = float(open(f"{w}/deadline").read()) - time.time() - 60  # the restart
    steps = max(step + 50, (step + int(left * rate / batch)) // 50 * 50)
    open(f"{w}/args", "w").write(re.sub(r"--steps \d+", f"--steps {steps}", args))
    print(f"at step {step}, {rate:.0f} crops/s: {steps} steps in all")
EOF
    echo "restart with $(find "$W/data" -type f | wc -l) photos" | tee -a "$W/train.log"
    launch --resume
    watch "$3"; snapshot ;;
finish)
    watch "$2"; snapshot
    running && { echo "run not finished"; exit 1; }
    cp "$W/weights/"* "$OUT/"
    python3 - "$W/weights/manifest.json" neuron_desktop/weights/manifest.json <<'EOF'
import json, sys
new, old = (json.load(open(p)) for p in sys.argv[1:])
old["models"]["inpainter"] = new["models"]["inpainter"]
json.dump(old, open(sys.argv[2], "w"), indent=2)
EOF
    cp "$W/weights/inpainter.safetensors" neuron_desktop/weights/
    python3 -m neuron_desktop.cli bench --only inpaint --device cuda --out-dir "$OUT/new" ;;
esac
