"""``briefqa doctor``: one line per component — OK, or the cause and the fix.

Everything that could crash the caller (the llama.cpp build's CPU features, a real one-token decode)
runs in a child process, so a SIGILL is reported, not suffered. Checks never change the index.

>>> c = Check("free disk", True, "52 GB free in /tmp")
>>> c.line()
'OK    free disk: 52 GB free in /tmp'
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import BriefQAError
from core.settings import Settings

# llama.cpp's names for the CPU features it was compiled with -> the /proc/cpuinfo flag each needs
_FEATURE_FLAGS = {"SSE3": "pni", "SSSE3": "ssse3", "AVX": "avx", "AVX2": "avx2", "F16C": "f16c", "FMA": "fma",
                  "BMI2": "bmi2", "AVX_VNNI": "avx_vnni", "AVX512": "avx512f", "AVX512_VBMI": "avx512vbmi",
                  "AVX512_VNNI": "avx512_vnni", "AVX512_BF16": "avx512_bf16", "AMX_INT8": "amx_int8"}
_PACKAGES = ("chromadb", "onnxruntime", "bm25s", "pydantic", "trafilatura", "pypdf", "llama-cpp-python", "gradio")
_CHILD_TIMEOUT_S = 180


@dataclass(frozen=True)
class Check:
    """One component's state; ``fix`` is set when it is not OK."""

    component: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        return f"OK    {self.component}: {self.detail}" if self.ok else f"FAIL  {self.component}: {self.detail}. Fix: {self.fix}"

    def as_json(self) -> dict[str, object]:
        return {"component": self.component, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def run_checks(settings: Settings) -> Iterator[Check]:
    """Every check in order; each one is independent of the others' failures."""
    checks: list[Callable[[Settings], Check]] = [
        _python, _packages, _model_file, _cpu_features, _decode, _judge_calibration, _embedder, _index, _chroma, _disk, _chromium]
    for check in checks:
        try:
            yield check(settings)
        except BriefQAError as err:
            yield Check(check.__name__.strip("_").replace("_", " "), False, err.cause, err.fix)


def _python(settings: Settings) -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, f"{sys.version.split()[0]} at {sys.executable}", "use Python 3.11 or newer (./scripts/setup.sh)")


def _packages(settings: Settings) -> Check:
    found, missing = [], []
    for name in _PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Check("packages", False, f"not installed: {', '.join(missing)}", "run ./scripts/setup.sh")
    return Check("packages", True, ", ".join(found))


def _model_file(settings: Settings) -> Check:
    from qa.model_files import EXPECTED_SHA256, local_model_path

    if settings.generator != "local":
        return Check("model file", True, f"not needed (BRIEFQA_GENERATOR={settings.generator})")
    path = local_model_path(settings, verify=True)  # joins it if needed, always re-hashes
    return Check("model file", True, f"{path} sha256 {EXPECTED_SHA256[:12]}… verified ({path.stat().st_size:,} bytes)")


def _child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=_CHILD_TIMEOUT_S)


def _cpu_features(settings: Settings) -> Check:
    """The features llama.cpp was compiled for (read in a child) against the flags this CPU lists."""
    done = _child("import llama_cpp; print(llama_cpp.llama_print_system_info().decode())")
    if done.returncode != 0:
        return Check("llama.cpp build", False, f"importing llama_cpp failed ({_ended(done.returncode)})",
                     "rebuild it: BRIEFQA_LLAMA_CPU=portable ./scripts/setup.sh")
    built = [name for name, value in _pairs(done.stdout) if value == "1" and name in _FEATURE_FLAGS]
    flags = set(_cpu_flags())
    missing = [name for name in built if _FEATURE_FLAGS[name] not in flags]
    tier = _build_tier()
    if missing:
        return Check("llama.cpp build", False, f"compiled for {', '.join(missing)}, which this CPU ({_cpu_model()}) lacks",
                     "rebuild it for this CPU: BRIEFQA_LLAMA_CPU=portable ./scripts/setup.sh")
    return Check("llama.cpp build", True, f"{tier}: {' '.join(built)}; all present on {_cpu_model()}")


def _decode(settings: Settings) -> Check:
    """A real one-token decode in the model worker (a child process)."""
    from qa.generators import Message, make_generator

    generator = make_generator(settings)
    if generator is None:
        return Check("decode", True, "no model (BRIEFQA_GENERATOR=extractive)")
    try:
        text = "".join(generator.stream([Message("user", "Reply with OK.")], json_schema=None, max_tokens=1))
    finally:
        getattr(generator, "close", lambda: None)()
    where = "in a worker process" if settings.generator == "local" else f"on the server at {settings.llm_base_url or 'its default address'}"
    can = {"log-probabilities": generator.supports_logprobs, "JSON schema": generator.supports_schema}  # declared
    declared = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in can.items())
    return Check("decode", True, f"{generator.name} decoded {text.strip()!r} {where} ({declared})")


def _judge_calibration(settings: Settings) -> Check:
    """Whether the LLM judge's calibration was fitted on today's prompt, features, model and calib split."""
    from qa.judge import fit_check

    if settings.judge != "llm":
        return Check("judge calibration", True, f"not used (BRIEFQA_JUDGE={settings.judge})")
    fit = fit_check()
    if fit.now is None:
        return Check("judge calibration", False, f"{fit.path.name} cannot be verified: eval/support/triples.jsonl is missing, so "
                     "the judge runs uncalibrated", "run from a full checkout of briefing-qa")
    if not fit.ok:
        return Check("judge calibration", False, f"{fit.path.name} was fitted on other inputs (recorded {fit.recorded or 'no hash'}, "
                     f"today {fit.now}), so the judge runs uncalibrated", "refit it: python bench/judge.py --split calib (docs/judge.md)")
    return Check("judge calibration", True, f"{fit.path.name} fitted on today's prompt, features, model and calib split ({fit.now})")


def _embedder(settings: Settings) -> Check:
    from index.embed import make_embedder

    embedder = make_embedder(settings)
    vector = embedder.embed(["doctor"])[0]
    return Check("embedder", True, f"{embedder.name}, {len(vector)} dimensions")


def _index(settings: Settings) -> Check:
    from index.pipeline import write_interrupted
    from qa.service import open_index

    if settings.chroma_url:
        return Check("index", True, f"on the Chroma server {settings.chroma_url} (checked below)")
    data = settings.data_dir
    if not settings.chroma_dir.is_dir():
        return Check("index", False, f"no index at {data}", "add briefings: briefqa index add PATH")
    _, store = open_index(settings, create=False)
    detail = f"{data}: {len(store.article_ids())} articles, {len(store.chunks())} chunks"
    if write_interrupted(data):
        return Check("index", False, f"{detail}; a write was interrupted",
                     "open it for writing once, which repairs it: briefqa index add PATH (re-adding is a no-op)")
    return Check("index", True, detail)


def _chroma(settings: Settings) -> Check:
    if not settings.chroma_url:
        return Check("chroma server", True, "not configured (embedded store)")
    from qa.service import open_index

    _, store = open_index(settings, create=False)
    return Check("chroma server", True, f"{settings.chroma_url}: {len(store.article_ids())} articles")


def _disk(settings: Settings) -> Check:
    worst = min((shutil.disk_usage(_existing(p)).free, p) for p in (settings.data_dir, settings.model_dir))
    free_gb = worst[0] / 1e9
    if free_gb < 2:
        return Check("free disk", False, f"{free_gb:.1f} GB free at {worst[1]}", "free 2 GB there (the model file is 1.1 GB)")
    return Check("free disk", True, f"{free_gb:.0f} GB free at {worst[1]}")


def _chromium(settings: Settings) -> Check:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        return Check("chromium", True, "not installed (only the browser test needs it: scripts/test.sh installs it as root)")
    return Check("chromium", True, f"{path} (for the browser test)")


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _pairs(info: str) -> list[tuple[str, str]]:
    """"CPU : SSE3 = 1 | AVX2 = 1 | …" -> [("SSE3", "1"), ("AVX2", "1"), …]."""
    return [(k.strip().split(":")[-1].strip(), v.strip()) for k, v in (p.split("=", 1) for p in info.split("|") if "=" in p)]


def _cpu_flags() -> list[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return line.split(":", 1)[1].split()
    return []


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def _build_tier() -> str:
    marker = Path(sys.prefix) / "briefqa-llama-build"
    lines = marker.read_text().splitlines() if marker.exists() else []
    return f"{lines[1]} build" if len(lines) > 1 else "not built by scripts/setup.sh"


def _ended(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"


def report(settings: Settings, as_json: bool) -> tuple[str, bool]:
    """The doctor's output and whether every check passed."""
    checks = list(run_checks(settings))
    ok = all(c.ok for c in checks)
    if as_json:
        return json.dumps({"ok": ok, "checks": [c.as_json() for c in checks]}, indent=2), ok
    return "\n".join(c.line() for c in checks), ok
