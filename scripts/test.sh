#!/usr/bin/env bash
# Set up and run every test, the real-model ones (marked slow) included. Extra args go to pytest.
# The browser test drives Debian's chromium (installed here when running as root; skipped without it).
# Tests reach loopback only: they start the chat page, and `chroma run` from the venv, on 127.0.0.1.
# What the reliability tests guarantee: docs/reliability.md (`-s` prints the load test's queue waits).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; fi
.venv/bin/python -m pytest "$@"
