#!/usr/bin/env bash
# Install llama-cpp-python built for an explicit CPU feature set, never GGML_NATIVE.
#
#   scripts/build_llama.sh .venv/bin/python          # the tier this CPU supports (see below)
#   BRIEFQA_LLAMA_CPU=portable scripts/build_llama.sh .venv/bin/python   # x86-64-v3 on any machine
#
# Why: pip's default build is native; on a VM whose CPU advertises AMX it compiles AMX kernels the VM
# refuses (SIGILL), and pip caches that wheel without regard to the CPU. Here each wheel is built with
# --no-cache-dir into <model dir>/wheels/<key>/, where key = hash(version, CMake flags), and the flags
# are chosen only from features /proc/cpuinfo lists, so a wheel is never installed on a CPU that lacks
# what it was compiled for. AMX is always off. Tiers (docs/performance.md has the measurements):
#   avx512   AVX-512 F/BW/VL/DQ/CD (+VNNI/VBMI/BF16 when listed), no AMX: prompt ~1.28x on Intel
#   portable x86-64-v3: AVX2 FMA F16C BMI2 (every x86-64 CPU since ~2015); generation is memory-bound
#   baseline no AVX: only for CPUs without AVX2 (slow)
# BRIEFQA_LLAMA_CPU=portable picks x86-64-v3 even on an AVX-512 CPU: for images moved between hosts.
set -euo pipefail
PYBIN=${1:-.venv/bin/python}
VERSION=0.3.36
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }

common="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
v3="-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
want=${BRIEFQA_LLAMA_CPU:-auto}
if [ "$want" != portable ] && has avx2 fma f16c bmi2 avx512f avx512bw avx512vl avx512dq avx512cd; then
    tier=avx512
    args="$common $v3 -DGGML_AVX512=ON"
    has avx512_vnni && args+=" -DGGML_AVX512_VNNI=ON"
    has avx512vbmi && args+=" -DGGML_AVX512_VBMI=ON"
    has avx512_bf16 && args+=" -DGGML_AVX512_BF16=ON"
elif has avx2 fma f16c bmi2; then
    tier=portable
    args="$common $v3 -DGGML_AVX512=OFF"
else
    tier=baseline
    args="$common -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_AVX512=OFF"
    echo "note: this CPU lacks AVX2/FMA; building llama.cpp without them (answers will be slow)" >&2
fi
key=$(printf '%s %s' "$VERSION" "$args" | sha256sum | cut -c1-12)
marker="$(dirname "$PYBIN")/../briefqa-llama-build"
if [ -f "$marker" ] && [ "$(head -1 "$marker")" = "$key" ] && "$PYBIN" -c 'import llama_cpp' 2>/dev/null; then
    exit 0
fi
cache=${BRIEFQA_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/briefing-qa}/wheels/llama-cpp-python-$VERSION-$tier-$key
if ! ls "$cache"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $VERSION for $tier ($args); ~6 min on 2 cores, once per feature set" >&2
    mkdir -p "$cache"
    CMAKE_ARGS="$args" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$PYBIN" -m pip wheel --disable-pip-version-check -q \
        --no-deps --no-cache-dir "llama-cpp-python==$VERSION" -w "$cache.tmp"
    mv "$cache.tmp"/llama_cpp_python-*.whl "$cache"/ && rmdir "$cache.tmp"
fi
"$PYBIN" -m pip install --disable-pip-version-check -q --force-reinstall --no-deps "$cache"/llama_cpp_python-*.whl
"$PYBIN" -m pip install --disable-pip-version-check -q "$cache"/llama_cpp_python-*.whl   # its dependencies (diskcache, jinja2, ...)
# Proof, not trust: the installed CPU backend holds no AMX tile instruction.
lib=$("$PYBIN" -c 'import importlib.util, pathlib; s = importlib.util.find_spec("llama_cpp"); print(pathlib.Path(s.origin).parent / "lib" / "libggml-cpu.so")')
if command -v objdump >/dev/null && objdump -d "$lib" | grep -qE '\b(tilezero|tileloadd|ldtilecfg|tdpb[su]{2}d|tdpbf16ps)\b'; then
    echo "error: $lib contains AMX instructions. Fix: delete $cache and re-run scripts/setup.sh" >&2
    exit 1
fi
printf '%s\n%s\n%s\n' "$key" "$tier" "$args" >"$marker"
