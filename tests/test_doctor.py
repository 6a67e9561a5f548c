"""``briefqa doctor``: each component is one line, OK or the cause and the fix; crashes happen in children."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings
from qa import doctor
from qa.generators.worker import WorkerGenerator

ROOT = Path(__file__).resolve().parents[1]


def _checks(settings: Settings) -> dict[str, doctor.Check]:
    return {c.component: c for c in doctor.run_checks(settings)}


def test_a_build_for_features_this_cpu_lacks_is_named_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    info = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | FMA = 1 | AVX512 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 |"
    monkeypatch.setattr(doctor, "_child", lambda code: subprocess.CompletedProcess([], 0, info, ""))
    monkeypatch.setattr(doctor, "_cpu_flags", lambda: ["pni", "avx", "avx2", "fma"])

    check = doctor._cpu_features(Settings())

    assert not check.ok and "compiled for AVX512, AMX_INT8, which this CPU" in check.detail
    assert "BRIEFQA_LLAMA_CPU=portable ./scripts/setup.sh" in check.fix


def test_a_decode_that_dies_with_sigill_is_reported_not_suffered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIEFQA_TEST_SIGILL_ONCE", str(tmp_path / "died"))  # the worker's first decode raises SIGILL
    monkeypatch.setattr("qa.generators.make_generator", lambda s: WorkerGenerator("tests.fakes:sigill_once_engine", s, name="fake"))

    decode = _checks(Settings(data_dir=tmp_path, embedder="hash"))["decode"]

    assert not decode.ok and "SIGILL (illegal instruction)" in decode.detail and "setup.sh" in decode.fix


def test_cli_doctor_json_on_an_empty_data_dir(tmp_path: Path) -> None:
    env = dict(os.environ, BRIEFQA_DATA_DIR=str(tmp_path / "none"), BRIEFQA_EMBEDDER="hash", BRIEFQA_GENERATOR="extractive")
    done = subprocess.run([sys.executable, "-c", "from ui.cli import main; main()", "doctor", "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    report = json.loads(done.stdout)
    checks = {c["component"]: c for c in report["checks"]}
    assert done.returncode == 1 and not report["ok"] and "Traceback" not in done.stderr
    assert not checks["index"]["ok"] and checks["index"]["fix"].startswith("add briefings: briefqa index add")
    assert checks["decode"]["ok"] and checks["embedder"]["ok"] and checks["python"]["ok"]
    assert {"packages", "model file", "llama.cpp build", "chroma server", "free disk", "chromium"} <= set(checks)


def test_an_interrupted_write_is_named_with_the_repair(tmp_path: Path) -> None:
    from qa.service import open_indexer

    settings = Settings(data_dir=tmp_path / "data", embedder="hash")
    open_indexer(settings).add([ROOT / "briefings"])
    (settings.data_dir / ".index-writing").write_text("f9ce94e3\n")  # what a killed `index add` leaves

    check = doctor._index(settings)

    assert not check.ok and "1 articles" in check.detail and "a write was interrupted" in check.detail
    assert check.fix.startswith("open it for writing once")
