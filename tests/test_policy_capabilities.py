"""Declared generator capabilities (not probed methods) and the judge's calibration checked against what it was fitted on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

import qa.judge
from core.settings import Settings
from qa.doctor import _judge_calibration
from qa.generators.openai_compat import OpenAICompatGenerator
from qa.generators.worker import WorkerGenerator
from qa.judge import CALIBRATION, fit_check, load_calibration
from qa.service import make_verifier
from tests.fakes import JudgingGenerator, ScriptedGenerator


class _Undeclared(ScriptedGenerator):
    """Scores labels but does not declare it: the app must not build the LLM judge on it."""

    def logprobs_many(self, prefix: str, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[float]]:
        return [[0.0] * len(labels) for _, labels in items]


def test_the_llm_judge_follows_the_declared_capability_not_the_methods() -> None:
    settings = Settings(judge="llm")
    assert make_verifier(settings, _Undeclared([])) is None
    assert make_verifier(settings, JudgingGenerator([], lambda quote, claim: "supports")) is not None
    assert WorkerGenerator.supports_logprobs and WorkerGenerator.supports_schema
    assert not OpenAICompatGenerator.supports_logprobs and OpenAICompatGenerator.supports_schema


def test_the_committed_calibration_is_fitted_on_todays_inputs() -> None:
    fit = fit_check()
    assert fit.ok and fit.recorded == fit.now and load_calibration() is not None
    assert _judge_calibration(Settings(judge="llm")).ok


def test_a_calibration_fitted_on_other_inputs_is_not_used_and_doctor_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = json.loads(CALIBRATION.read_text(encoding="utf-8")) | {"fitted_on": "b5d6465f35"}
    path = tmp_path / "judge_calibration.json"
    path.write_text(json.dumps(stale), encoding="utf-8")
    assert not fit_check(path).ok and load_calibration(path) is None
    monkeypatch.setattr(qa.judge, "CALIBRATION", path)
    monkeypatch.setattr(qa.judge.fit_check, "__defaults__", (path,))
    check = _judge_calibration(Settings(judge="llm"))
    assert not check.ok and "recorded b5d6465f35" in check.detail and "uncalibrated" in check.detail
    assert "bench/judge.py" in check.fix
    # a change to the prompt changes the hash the file is checked against
    monkeypatch.setattr(qa.judge, "PREFIX", qa.judge.PREFIX + " ")
    assert not fit_check().ok
