#!/usr/bin/env bash
# Set up (first run only) and open the editor on a bundled sample photo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/neuron-desktop "${@:-neuron_desktop/resources/samples/old_photo.jpg}"
