#!/usr/bin/env bash
# Set up (first run only) and type-check core, models and pipelines with mypy (its settings
# and the checked folders are in pyproject.toml's [tool.mypy]).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m mypy "$@"
