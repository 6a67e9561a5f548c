#!/usr/bin/env bash
# Set up, index the bundled briefings, answer the sample question, then open the chat page
# (http://127.0.0.1:7860 by default; extra args go to `briefqa serve`, e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/briefqa index add briefings/
.venv/bin/briefqa ask "Did Russia call Iran an ally?"
.venv/bin/briefqa serve "$@"
