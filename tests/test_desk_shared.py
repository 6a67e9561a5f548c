"""Issue 23 parts 1 and 2: app processes over one Chroma server (``chroma run`` on loopback, started by conftest).

A is this test process (the page's ``BriefingService``, which writes); B is a second app process (``open_assistant``,
as ``serve --mcp`` builds it) answering probes over stdin/stdout. What A adds or removes, B finds by keyword and by
vector within 10 s; a second writer is refused naming the holder; a writer killed mid-batch leaves B answering from
the last committed batch and the next writer purges its half article (hash embedder, no model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings
from news_site import Site, serving

from core.errors import BriefQAError
from core.settings import Settings
from index.embed import HashEmbedder
from index.filters import Filters
from index.pipeline import open_desk, open_store
from qa.service import BriefingService, open_indexer

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, sys
from core.errors import BriefQAError
from core.settings import Settings
from index.filters import Filters
from qa.records import answer_json
FILTERS = Filters.parse("2005-02-01", None, ["bbc news"])
from qa.service import open_assistant
assistant = open_assistant(Settings(), generator=None)
r = assistant.retriever
print(json.dumps("ready"), flush=True)
for line in sys.stdin:
    op, q = json.loads(line)
    try:
        if op == "bm25":
            out = [cid for cid, _ in r.bm25.search(q, 5)]
        elif op == "dense":
            out = [c.id for c, _ in r.store.query(r.embedder.embed([q])[0], 5)]
        elif op == "filtered":
            out = [p.chunk.id for p in r.retrieve(q, FILTERS).passages]
        else:
            out = answer_json(assistant.ask(q))
    except BriefQAError as err:
        out = {"error": str(err)}
    print(json.dumps(out), flush=True)
"""
WPP = "WPP profits surge advertising group"


def desk_env(chroma_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    values = {"CHROMA_URL": chroma_url, "DATA_DIR": str(data_dir), "EMBEDDER": "hash", "GENERATOR": "extractive",
              "MIN_EVIDENCE_SCORE": "0.0", "FOLLOW_S": "0.5", **extra}
    return {**os.environ, "PYTHONPATH": str(ROOT), **{f"BRIEFQA_{k}": v for k, v in values.items()}}


class Probe:
    """App process B: a reader over the same server, asked one probe at a time."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", PROBE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        assert self("ready") == "ready"

    def __call__(self, op: str, q: str = "") -> object:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if op != "ready":
            self.proc.stdin.write(json.dumps([op, q]) + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"app process B exited with {self.proc.wait()}"
        return json.loads(line)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def within_10_s(check: Callable[[], bool]) -> None:
    """The issue's bound: poll ``check`` until it holds, for at most 10 s."""
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, "not seen by the other app process within 10 s"
        time.sleep(0.2)


@pytest.fixture
def site() -> Iterator[Site]:
    with serving() as server:
        yield server


@pytest.fixture
def probe(chroma_url: str, tmp_path: Path) -> Iterator[Probe]:
    b = Probe(desk_env(chroma_url, tmp_path / "b"))
    yield b
    b.close()


def a_settings(chroma_url: str, tmp_path: Path, **extra: object) -> Settings:
    return Settings(data_dir=tmp_path / "a", embedder="hash", min_evidence_score=0.0, chroma_url=chroma_url, follow_s=0.5,
                    fetch_allow_private=True, fetch_host_interval_s=0.0, **extra)


def test_a_feed_added_through_a_is_answerable_from_b_and_its_removal_too(chroma_url: str, tmp_path: Path, site: Site, probe: Probe) -> None:
    a = BriefingService(a_settings(chroma_url, tmp_path), generator=None)
    assert probe("bm25", WPP) == [] and probe("dense", WPP) == []
    added = a.add_urls([f"{site.url}/feeds/atom.xml"])
    assert [r.status for r in added] == ["added"] * 3
    wpp = next(r.article_id for r in added if "WPP" in (r.title or ""))
    owner = lambda ids: {cid.rpartition(":")[0] for cid in ids}  # noqa: E731 - chunk ids -> article ids

    within_10_s(lambda: wpp in owner(probe("bm25", WPP)))
    lexical = [cid for cid, _ in a.assistant.retriever.bm25.search(WPP, 5)]
    assert probe("bm25", WPP) == lexical  # the same BM25 hits in A and B, in the same order
    dense = [c.id for c, _ in a.assistant.retriever.store.query(HashEmbedder().embed([WPP])[0], 5)]
    assert probe("dense", WPP) == dense and wpp in owner(dense)
    filtered = [p.chunk.id for p in a.assistant.retriever.retrieve(WPP, Filters.parse("2005-02-01", None, ["bbc news"])).passages]
    assert filtered and probe("filtered", WPP) == filtered  # filters and near-duplicate collapse: the same passages in A and B
    answer = probe("ask", "What happened to WPP's profits?")
    assert isinstance(answer, dict) and wpp in {c["article_id"] for c in answer["citations"] + answer["related"]}

    a.remove(wpp)
    within_10_s(lambda: wpp not in owner(probe("bm25", WPP)))
    assert wpp not in owner(probe("dense", WPP)) and probe("bm25", WPP) == [cid for cid, _ in a.assistant.retriever.bm25.search(WPP, 5)]


def test_a_second_writer_is_refused_naming_the_holder(chroma_url: str, tmp_path: Path) -> None:
    settings = a_settings(chroma_url, tmp_path)
    desk = open_desk(settings, open_store(settings, HashEmbedder(), create=True), "briefqa index watch")
    assert desk is not None
    with desk.writing():
        with pytest.raises(BriefQAError, match=r"being written by briefqa index watch \(pid \d+ on .+\) until \d\d:\d\d:\d\d UTC"):
            open_indexer(settings.model_copy(update={"data_dir": tmp_path / "other"})).add([ROOT / "briefings"])
        run = subprocess.run([str(Path(sys.executable).parent / "briefqa"), "index", "add", str(ROOT / "briefings")],
                             capture_output=True, text=True, timeout=120, env=desk_env(chroma_url, tmp_path / "cli"))
        assert run.returncode == 2 and run.stderr.count("\n") == 1 and "being written by briefqa index watch" in run.stderr
    assert [r.status for r in open_indexer(settings).add([ROOT / "briefings"])] == ["added"]  # released: the next writer writes


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from core.settings import Settings
from qa.service import open_indexer
ix = open_indexer(Settings(), "killed writer")
records = ix.store._articles
class DiesOnTheSecondBatch:
    calls = 0
    def __getattr__(self, name):
        return getattr(records, name)
    def upsert(self, **kw):  # the records come last in a batch: its chunks and sentences are already in the server
        DiesOnTheSecondBatch.calls += 1
        if DiesOnTheSecondBatch.calls == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return records.upsert(**kw)
ix.store._articles = DiesOnTheSecondBatch()
ix.add([sys.argv[1]])
"""


def corpus(path: Path, n: int = 60) -> Path:
    """``n`` articles of 30 sentences: two write batches (1,024 sentences each)."""
    lines = []
    for i in range(n):
        text = " ".join(f"Harbour {i} official number {j} said the ferry route {i} would reopen in week {j}." for j in range(30))
        lines.append(json.dumps({"title": f"Ferry {i}", "text": text, "source": "Desk Wire"}))
    path.write_text("\n".join(lines) + "\n")
    return path


def server_state(url: str) -> tuple[set[str], set[str]]:
    """(listed article ids, article ids owning a chunk) as the server holds them."""
    client = chromadb.HttpClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]), settings=ChromaSettings(anonymized_telemetry=False))
    listed = set(client.get_collection("articles").get(include=[])["ids"])
    owners = {m["article_id"] for m in client.get_collection("chunks").get(include=["metadatas"])["metadatas"]}
    return listed, owners


def test_a_writer_killed_mid_batch_leaves_b_answering_and_the_next_writer_recovers(chroma_url: str, tmp_path: Path, probe: Probe) -> None:
    jsonl = corpus(tmp_path / "ferries.jsonl")
    env = desk_env(chroma_url, tmp_path / "w", WRITER_LEASE_S="3")
    died = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(jsonl)], env=env, cwd=ROOT, timeout=300, capture_output=True, text=True)
    assert died.returncode == -9, died.stderr[-2000:]
    listed, owners = server_state(chroma_url)
    assert listed and owners - listed  # the first batch committed; the second left chunks without their records

    within_10_s(lambda: owner_ids(probe("bm25", "ferry route reopen")) <= listed)
    half = sorted(owners - listed)[0]
    assert owner_ids(probe("dense", f"Harbour {half} ferry")) <= listed  # no half article is found by vector either
    answer = probe("ask", "When would the ferry route reopen?")
    assert isinstance(answer, dict) and {c["article_id"] for c in answer["citations"] + answer["related"]} <= listed

    settings = a_settings(chroma_url, tmp_path, writer_lease_s=3)
    with pytest.raises(BriefQAError, match=r"being written by killed writer"):
        open_indexer(settings).add([jsonl])  # the lease outlives its holder until it expires
    time.sleep(3)
    results = open_indexer(settings).add([jsonl])
    listed, owners = server_state(chroma_url)
    assert len(listed) == 60 and owners == listed and {r.status for r in results} <= {"added", "unchanged"}


def owner_ids(chunk_ids: object) -> set[str]:
    assert isinstance(chunk_ids, list)
    return {cid.rpartition(":")[0] for cid in chunk_ids}
