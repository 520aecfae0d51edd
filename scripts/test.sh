#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite headless.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/python -m ruff check neuron_desktop tests benchmarks scripts
exec .venv/bin/python -m pytest "$@"
