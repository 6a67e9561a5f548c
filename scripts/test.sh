#!/usr/bin/env bash
# Set up and run every test, the real-model ones (marked slow) included. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest "$@"
