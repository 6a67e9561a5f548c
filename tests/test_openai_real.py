"""The ``openai`` backend against a real OpenAI-compatible server: llama-cpp-python's own
``llama_cpp.server`` serving the bundled GGUF on a free loopback port (started here, killed after).

Slow: the model loads in the server process and answers the seed questions (a few seconds each on
2 cores). It asserts what holds on every CPU: the server's 500 on ``json_schema`` is negotiated away,
no question fails, every quote is verified, the questions the gold set refuses are refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from qa.evaluate import load_items, render, run_eval
from qa.generators.openai_compat import negotiated
from qa.model_files import local_model_path
from qa.service import open_assistant, open_indexer
from tests.conftest import free_port, stop

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` with the bundled GGUF; yields its base URL (…/v1)."""
    port, log = free_port(), tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(local_model_path(Settings())), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "4096", "--n_threads", str(os.cpu_count() or 1)]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_up(proc, url, log)
        yield url
    finally:
        stop(proc, timeout_s=20)


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"llama_cpp.server exited with {proc.returncode}: {log.read_text()[-2000:]}"
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"llama_cpp.server did not answer on {url} within 180 s: {log.read_text()[-2000:]}")


def test_seed_questions_through_llama_cpp_server_have_verified_quotes(llama_server: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", generator="openai", llm_model="qwen", llm_base_url=llama_server,
                        llm_timeout_s=600)  # fmt: skip
    results = open_indexer(settings).add([ROOT / "briefings"])
    assert [r for r in results if r.status != "added"] == []
    assistant = open_assistant(settings)

    t0 = time.perf_counter()
    summary = run_eval(load_items(ROOT / "eval" / "seed_dev.jsonl"), assistant.ask, assistant.retriever.store)
    print(render(summary), f"\n{len(summary.rows)} questions in {time.perf_counter() - t0:.1f} s through {llama_server}")

    assert negotiated(llama_server) == "json_object"  # its 500 on json_schema, negotiated
    assert summary.verified_share == 1.0, render(summary)
    assert all(c.verified for r in summary.rows for c in r.answer.citations), render(summary)
    assert summary.refusals_correct == (2, 2), render(summary)
    answered = [r for r in summary.rows if r.item.answerable and not r.answer.refused and r.answer.citations]
    assert answered, f"no answerable question was answered with quotes through the server\n{render(summary)}"
