"""``briefqa serve --mcp`` (issue 14 part 4): the official ``mcp`` Python client connects over loopback (Streamable
HTTP), lists the tools (ask, check, list_briefings) and calls them; every returned quote is a verbatim span of its article (hash embedder,
extractive answers: no model)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import BriefQAError
from core.settings import Settings
from qa.records import answer_json
from qa.service import newest_first, open_assistant, open_indexer
from tests.conftest import free_port
from tests.test_filters import FERRY, corpus
from ui.mcp import app, check_host


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, object]]:
    """The MCP app on a free loopback port in a thread; yields its URL and the assistant behind it."""
    import uvicorn

    settings = Settings(data_dir=tmp_path / "data", embedder="hash", generator="extractive", min_evidence_score=0.0)
    open_indexer(settings).add([corpus(tmp_path / "c.jsonl")])
    assistant = open_assistant(settings, generator=None)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app(assistant, lambda: newest_first(assistant.retriever.store.articles())),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # waiting for start-up, not timing anything
        assert thread.is_alive() and time.monotonic() < deadline, "the MCP server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp", assistant
    server.should_exit = True
    thread.join(timeout=30)


async def _session(url: str, calls: list[tuple[str, dict]]) -> tuple[list[str], list]:
    from mcp import Client

    async with Client(url) as client:
        tools = await client.list_tools()
        results = [await client.call_tool(name, args) for name, args in calls]
    return sorted(t.name for t in tools.tools), results


def test_a_client_lists_the_tools_and_asks_with_verbatim_quotes(served: tuple[str, object]) -> None:
    url, assistant = served
    calls = [("ask", {"question": FERRY}), ("ask", {"question": FERRY, "since": "2026-02-01", "sources": ["bbc news"]}),
             ("list_briefings", {}), ("ask", {"question": FERRY, "until": "2026-02-30"}), ("check", {"claim": FERRY.rstrip("?")})]
    names, (plain, filtered, listed, bad, checked) = asyncio.run(_session(url, calls))
    assert names == ["ask", "check", "list_briefings"]
    store = assistant.retriever.store  # type: ignore[attr-defined]
    for result in (plain, filtered):
        data = result.structured_content
        assert not result.is_error and data["citations"] and json.loads(result.content[0].text) == data
        assert list(data) == list(answer_json(assistant.ask(FERRY)))  # the ask --json shape
        for c in data["citations"] + data["related"]:
            assert store.get(c["article_id"]).article.text[c["start"] : c["end"]] == c["quote"]
    assert all(c["source"] == "BBC News" and c["published"] >= "2026-02-01" for c in filtered.structured_content["citations"])
    briefings = listed.structured_content["briefings"]
    assert len(briefings) == 11 and listed.structured_content["sources"] == ["BBC News", "Reuters"]
    assert {"id", "title", "source", "published", "url", "path", "chunks"} <= set(briefings[0])
    assert bad.is_error and "is not a date" in bad.content[0].text and "\n" not in bad.content[0].text
    fact = checked.structured_content  # briefqa check --json: verified quotes, each with the checker's label and p
    assert not checked.is_error and fact["verdict"] in ("supported", "contradicted", "mixed", "not_found") and fact["considered"] > 0
    for c in fact["citations"]:
        assert store.get(c["article_id"]).article.text[c["start"] : c["end"]] == c["quote"] and c["support"]["p"] >= 0.5


def test_the_mcp_server_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(BriefQAError, match="no authentication"):
        check_host("0.0.0.0")
