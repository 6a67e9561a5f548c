"""A real Chroma server (``chroma run`` on loopback): the settings switch the app to it; a server that is
down or silent is a one-line error within the timeout, never a hang. The Store contract itself runs
against the server in tests/test_store_contract.py."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings
from conftest import ChromaServer, free_port
from typer.testing import CliRunner

from index.chroma_store import ChromaStore
from index.embed import HashEmbedder
from core.errors import BriefQAError
from core.settings import Settings
from ui.cli import app
from qa.service import BriefingService

ROOT = Path(__file__).resolve().parents[1]
ALLY = "Did Russia call Iran an ally?"


def server_articles(url: str) -> int:
    client = chromadb.HttpClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]), settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_collection("articles").count()


def test_the_chroma_url_setting_moves_the_app_to_the_server(chroma_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0, chroma_url=chroma_url)
    service = BriefingService(settings, generator=None)
    [result] = service.add([ROOT / "briefings"])
    assert result.status == "added" and server_articles(chroma_url) == 1
    assert not settings.chroma_dir.exists()  # nothing went to the embedded store
    answer = service.ask(ALLY)
    assert answer.citations and all(service.article(c.article_id).text[c.start : c.end] == c.quote for c in answer.citations)


def test_the_cli_follows_briefqa_chroma_url(chroma_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"EMBEDDER": "hash", "GENERATOR": "extractive", "MIN_EVIDENCE_SCORE": "0.0", "CHROMA_URL": chroma_url,
                       "DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(f"BRIEFQA_{key}", value)
    runner = CliRunner()
    assert runner.invoke(app, ["index", "add", str(ROOT / "briefings")]).exit_code == 0
    listed = runner.invoke(app, ["index", "list"])
    assert listed.exit_code == 0 and listed.output.splitlines()[-1].startswith("1 articles")
    assert server_articles(chroma_url) == 1 and not (tmp_path / "data" / "chroma").exists()
    asked = runner.invoke(app, ["ask", "--json", ALLY])
    assert asked.exit_code == 0 and '"citations"' in asked.output


def test_a_server_that_is_down_is_a_one_line_error_at_once() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(BriefQAError, match=rf"^cannot reach the Chroma server at {url} \(.*\)\. Fix: start it"):
        ChromaStore.connect(url, HashEmbedder().name, timeout_s=5)
    assert time.monotonic() - started < 3


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(BriefQAError, match=r"\(no answer within 1 s\)"):
            ChromaStore.connect(url, HashEmbedder().name, timeout_s=1)
        assert time.monotonic() - started < 4


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://127.0.0.1:8000", "http://127.0.0.1:notaport", "http://"])
def test_a_malformed_url_is_named(url: str) -> None:
    with pytest.raises(BriefQAError, match="invalid Chroma server URL"):
        ChromaStore.connect(url, HashEmbedder().name)


def test_a_server_that_stops_answering_mid_session_is_an_error_not_a_hang(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash", chroma_timeout_s=1)
    with ChromaServer(tmp_path / "server") as server:
        service = BriefingService(settings.model_copy(update={"chroma_url": server.url}), generator=None)
        service.add([ROOT / "briefings"])
        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGSTOP)  # hung: the port accepts, nothing answers
        try:
            started = time.monotonic()
            with pytest.raises(BriefQAError, match=rf"cannot reach the Chroma server at {server.url} \(no answer within 1 s\)"):
                service.briefings()
            with pytest.raises(BriefQAError):
                service.ask(ALLY)
            assert time.monotonic() - started < 8
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        assert len(service.briefings()) == 1  # back when the server is
        server.proc.kill()
        server.proc.wait()
        with pytest.raises(BriefQAError, match=rf"cannot reach the Chroma server at {server.url}"):
            service.briefings()
