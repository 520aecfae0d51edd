#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtual environment outside the checkout and run
# `neuron colorize` and `neuron-desktop --screenshot` from there: proof that an installed
# package finds its weights, samples, icon and user guide (package data) without a source tree.
# Dependencies are reused from the project's environment (a .pth line), so nothing is
# downloaded; the wheel itself goes in with --no-deps.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
ROOT=$PWD
TMP=$(mktemp -d)
trap 'rm -rf "$TMP" "$ROOT/build"' EXIT
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$TMP/dist" .
WHEEL=$(ls "$TMP"/dist/neuron_desktop-*.whl)
"$PY" - "$WHEEL" <<'PYEOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
need = ["neuron_desktop/weights/manifest.json", "neuron_desktop/weights/colorizer.safetensors",
        "neuron_desktop/resources/samples/old_photo.jpg", "neuron_desktop/resources/neuron-desktop.svg",
        "neuron_desktop/resources/user_guide.md"]
missing = [n for n in need if n not in names]
assert not missing, f"wheel lacks {missing}"
print(f"wheel: {len(names)} files, package data present")
PYEOF
"$PY" -m venv --without-pip "$TMP/venv"
"$PY" -m pip --python "$TMP/venv/bin/python" install -q --no-deps "$WHEEL"
site() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
site "$PY" > "$(site "$TMP/venv/bin/python")/_neuron_dependencies.pth"
cd "$TMP"  # outside the checkout
venv/bin/python - <<'PYEOF'
import neuron_desktop, sys
assert neuron_desktop.__file__.startswith(sys.prefix), f"not the wheel: {neuron_desktop.__file__}"
from neuron_desktop.qt.help import guide_markdown, user_guide_path
guide = user_guide_path()  # Help > User guide's lookup, through importlib.resources
assert guide is not None and str(guide).startswith(sys.prefix), f"user guide: {guide}"
text = guide_markdown(guide)  # no screenshots installed: their captions instead
assert "Open the scan" in text and "![" not in text and "(Picture: " in text
print(f"user guide found in the installed package: {guide}")
PYEOF
SAMPLE=$(venv/bin/python -c 'from neuron_desktop.core.paths import samples_dir; print(samples_dir() / "old_photo.jpg")')
venv/bin/neuron colorize "$SAMPLE" -o colorized.jpg -q --device cpu
QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME="$TMP/config" XDG_DATA_HOME="$TMP/data" \
  venv/bin/neuron-desktop --screenshot shot.png "$SAMPLE"
test -s colorized.jpg && test -s shot.png
echo "wheel check: installed wheel ran neuron colorize and neuron-desktop --screenshot"
