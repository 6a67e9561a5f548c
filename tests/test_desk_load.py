"""Issue 23, the desk under load: 20 users across two ``serve --mcp`` replicas over one Chroma server and one
OpenAI-compatible model server (a fake on loopback), while a writer adds briefings. Every answer arrives (its quotes
verbatim) or fails with one line; afterwards both replicas list every article once (hash embedder; bounded: 20 users
x 2 questions)."""

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

from qa.service import BriefingService
from tests.conftest import free_port, stop
from tests.test_desk_shared import a_settings, corpus, desk_env
from tests.test_openai_compat import Script, _Handler, _Server

ROOT = Path(__file__).resolve().parents[1]
USERS, QUESTIONS = 20, ("When would the ferry route reopen?", "Did Russia call Iran an ally?")
DRAFT = ('{"answerable": true, "answer": "As the briefing ', 'says [S1].", "verdict": "n/a"}')


@pytest.fixture
def model_server() -> Iterator[tuple[str, Script]]:
    """One fake OpenAI-compatible model server (a scripted draft citing [S1]) for every replica."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.script = Script(pieces=DRAFT)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1", server.script
    server.shutdown()
    server.server_close()


def replica(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "briefqa"), "serve", "--mcp", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, f"http://127.0.0.1:{port}/mcp"


def wait_up(proc: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 120  # start-up on two busy cores, not a measurement
    while True:
        assert proc.poll() is None, f"the replica exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the replica did not start"
            time.sleep(0.2)


async def _user(url: str) -> list[tuple[bool, object]]:
    from mcp import Client

    async with Client(url) as client:
        results = [await client.call_tool("ask", {"question": q}) for q in QUESTIONS]
    return [(r.is_error, r.content[0].text if r.is_error else r.structured_content) for r in results]


async def _listed(url: str) -> list[str]:
    from mcp import Client

    async with Client(url) as client:
        return [b["id"] for b in (await client.call_tool("list_briefings", {})).structured_content["briefings"]]


def test_twenty_users_across_two_replicas_while_a_writer_adds(chroma_url: str, tmp_path: Path, model_server: tuple[str, Script]) -> None:
    base_url, script = model_server
    writer = BriefingService(a_settings(chroma_url, tmp_path), generator=None)
    writer.add([ROOT / "briefings"])
    extra = {"GENERATOR": "openai", "LLM_BASE_URL": base_url, "LLM_MODEL": "fake", "JUDGE": "off"}
    replicas = [replica(desk_env(chroma_url, tmp_path / f"r{n}", **extra)) for n in range(2)]
    try:
        for proc, url in replicas:
            wait_up(proc, url)
        started = time.monotonic()
        answers: list[list[tuple[bool, object]]] = []
        users = [threading.Thread(target=lambda u=replicas[i % 2][1]: answers.append(asyncio.run(_user(u)))) for i in range(USERS)]
        for user in users:
            user.start()
        files = [corpus(tmp_path / f"feed{n}.jsonl", n=10 * (n + 1)) for n in range(3)]  # each feed repeats the last one's items
        for jsonl in files:
            writer.add([jsonl])
        for user in users:
            user.join(timeout=300)
        assert not any(u.is_alive() for u in users), "a user's answers did not arrive"
        flat = [a for user in answers for a in user]
        failed = sum(e for e, _ in flat)
        print(f"\n{len(flat) - failed} answered, {failed} failed in one line, {time.monotonic() - started:.1f} s (run with -s)")
        assert len(flat) == USERS * len(QUESTIONS)  # nothing lost
        for is_error, body in flat:
            if is_error:
                assert isinstance(body, str) and "\n" not in body and "Traceback" not in body
                continue
            assert isinstance(body, dict)
            for c in body["citations"] + body["related"]:
                assert writer.article(c["article_id"]).text[c["start"] : c["end"]] == c["quote"]
        assert len(flat) - failed >= USERS and script.bodies  # answers came through the one model server
        expected = {b.article.id for b in writer.briefings()}
        assert len(expected) == 31  # the sample + 30 ferries, each once however often its feed was read
        for _, url in replicas:
            listed = asyncio.run(_listed(url))
            assert len(listed) == len(set(listed)) and set(listed) == expected
    finally:
        for proc, _ in replicas:
            stop(proc)
