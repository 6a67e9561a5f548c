"""Issue 23 part 4: ``serve --mcp`` beyond loopback needs a bearer token; without one it refuses to start in one line, a
request without ``Authorization: Bearer <token>`` gets 401, and one with it is answered (hash embedder, no model)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.errors import BriefQAError
from core.settings import Settings
from qa.service import newest_first, open_assistant, open_indexer
from tests.conftest import free_port
from tests.test_filters import FERRY, corpus
from ui.mcp import app, check_host, mcp_token

TOKEN = "desk-token-0123456789abcdef"
BRIEFQA = Path(sys.executable).parent / "briefqa"


@pytest.fixture
def exposed(tmp_path: Path) -> Iterator[str]:
    """The MCP app as built for ``--host 0.0.0.0`` with a token (no DNS-rebinding check), served on loopback."""
    import uvicorn

    settings = Settings(data_dir=tmp_path / "data", embedder="hash", generator="extractive", min_evidence_score=0.0)
    open_indexer(settings).add([corpus(tmp_path / "c.jsonl")])
    assistant = open_assistant(settings, generator=None)
    port = free_port()
    asgi = app(assistant, lambda: newest_first(assistant.retriever.store.articles()), host="0.0.0.0", token=TOKEN)
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # waiting for start-up, not timing anything
        assert thread.is_alive() and time.monotonic() < deadline, "the MCP server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(timeout=30)


def test_serve_mcp_beyond_loopback_without_a_token_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    env = {"BRIEFQA_DATA_DIR": str(tmp_path / "data"), "BRIEFQA_EMBEDDER": "hash", "BRIEFQA_GENERATOR": "extractive", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([str(BRIEFQA), "serve", "--mcp", "--host", "0.0.0.0", "--port", str(free_port())],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "no bearer token" in run.stderr and "BRIEFQA_MCP_TOKEN" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_token_comes_from_the_setting_or_a_file(tmp_path: Path) -> None:
    check_host("127.0.0.1")  # loopback stays as it was: no token needed
    with pytest.raises(BriefQAError, match="no bearer token"):
        check_host("0.0.0.0", mcp_token(Settings(data_dir=tmp_path)))
    (tmp_path / "token").write_text(f"{TOKEN}\n")
    assert mcp_token(Settings(data_dir=tmp_path, mcp_token_file=str(tmp_path / "token"))) == TOKEN
    assert mcp_token(Settings(data_dir=tmp_path, mcp_token=TOKEN)) == TOKEN
    (tmp_path / "empty").write_text("")
    with pytest.raises(BriefQAError, match="is empty"):
        mcp_token(Settings(data_dir=tmp_path, mcp_token_file=str(tmp_path / "empty")))
    with pytest.raises(BriefQAError, match="cannot read the MCP token file"):
        mcp_token(Settings(data_dir=tmp_path, mcp_token_file=str(tmp_path / "missing")))


def test_a_request_without_the_bearer_token_gets_401(exposed: str) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        reply = httpx.post(exposed, json=hello, headers={"Accept": "application/json, text/event-stream", **headers}, timeout=10)
        assert reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"


def test_a_client_with_the_token_is_answered(exposed: str) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def session() -> tuple[list[str], dict]:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        async with Client(streamable_http_client(exposed, http_client=http)) as client:
            tools = await client.list_tools()
            result = await client.call_tool("ask", {"question": FERRY})
        return sorted(t.name for t in tools.tools), result.structured_content

    names, answer = asyncio.run(session())
    assert names == ["ask", "check", "list_briefings"] and answer["citations"]
