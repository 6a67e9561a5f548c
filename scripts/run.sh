#!/usr/bin/env bash
# Set up, index the bundled briefings, and answer the sample question (then the chat page, once built).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/briefqa index add briefings/
.venv/bin/briefqa ask "Did Russia call Iran an ally?"
