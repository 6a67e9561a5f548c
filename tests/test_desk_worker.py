"""Issue 23 part 5: a model worker that hangs (alive, silent) is killed after ``model_deadline_s`` and replaced; that
answer fails with one line, and the next question is answered. The engines here are built in the worker process from
``"tests.test_desk_worker:<name>"``."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from core.errors import BriefQAError
from core.settings import Settings
from qa.generators.base import Message
from qa.generators.worker import WorkerGenerator
from tests.fakes import Echo


class _HangsOnce(Echo):
    """Sleeps forever on its first stream (the first worker) while the file BRIEFQA_TEST_HANG_ONCE names is absent."""

    def stream(self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None, max_tokens: int) -> Iterator[str]:
        marker = os.environ["BRIEFQA_TEST_HANG_ONCE"]
        if not os.path.exists(marker):
            open(marker, "w").close()
            yield "a first piece, then nothing "
            while True:
                time.sleep(3600)
        yield from super().stream(messages, json_schema=json_schema, max_tokens=max_tokens)


def hang_once_engine(settings: Settings) -> Echo:
    return _HangsOnce()


def test_a_worker_that_hangs_is_replaced_after_its_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIEFQA_TEST_HANG_ONCE", str(tmp_path / "hung-once"))
    gen = WorkerGenerator("tests.test_desk_worker:hang_once_engine", Settings(data_dir=tmp_path, model_deadline_s=2), name="fake")
    try:
        gen.startup_timings()  # loaded: the deadline below is the answer's alone
        first = gen.pid
        pieces: list[str] = []
        with pytest.raises(BriefQAError) as err:
            pieces.extend(gen.stream([Message("user", "are they allies")], json_schema=None, max_tokens=9))
        assert pieces == ["a first piece, then nothing "]
        line = str(err.value)
        assert "no answer within 2 s and was replaced" in line and "\n" not in line and "BRIEFQA_MODEL_DEADLINE_S" in line
        assert gen.restarts == 1 and gen.pid != first
        with pytest.raises(ProcessLookupError):
            os.kill(first, 0)  # the hung worker is gone (reaped), not left running
        assert "".join(gen.stream([Message("user", "the next question")], json_schema=None, max_tokens=9)) == "the next question"
    finally:
        gen.close()

