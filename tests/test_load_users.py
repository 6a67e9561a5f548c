"""Load: 20 concurrent chat sessions through ``gradio_client`` against the page on 127.0.0.1, while briefings
are uploaded, listed and a second process tries ``briefqa index add``.

The generator is a probe: it streams a fixed answer citing ``[S1]`` with a short pause per piece and
counts how many generations run at once. Requests and time are bounded (20 users x 3 questions, a
deadline); ``pytest -s`` prints the queue-wait percentiles.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from conftest import free_port
from gradio_client import Client, handle_file

from core.settings import Settings
from qa.chat import Turn
from qa.generators.base import Message
from qa.records import Answer, Reading
from qa.service import BriefingService
from ui.app import serve

ROOT = Path(__file__).resolve().parents[1]
USERS, TURNS, DEADLINE_S = 20, 3, 240
QUESTIONS = ("Did Russia call Iran an ally?", "Who is Sergei Ryabkov?", "How far from the Israeli border has Russia moved Iranian forces?")
REPLY = json.dumps({"answerable": True, "answer": "The briefing says so [S1].", "verdict": "n/a"})


class ProbeGenerator:
    """Streams ``REPLY`` in ten pieces, ``pause_s`` apart; records the peak number of concurrent streams."""

    name = "probe"

    def __init__(self, pause_s: float) -> None:
        self.pause_s, self.active, self.peak, self.calls = pause_s, 0, 0, 0
        self._lock = threading.Lock()

    def stream(self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None, max_tokens: int) -> Iterator[str]:
        with self._lock:
            self.active += 1
            self.calls += 1
            self.peak = max(self.peak, self.active)
        try:
            step = -(-len(REPLY) // 10)
            for i in range(0, len(REPLY), step):
                time.sleep(self.pause_s)
                yield REPLY[i : i + step]
        finally:
            with self._lock:
                self.active -= 1


def percentile(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def test_twenty_concurrent_users_while_briefings_are_added(tmp_path: Path) -> None:
    probe = ProbeGenerator(pause_s=0.01)
    service = BriefingService(Settings(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0), generator=probe)
    service.add([ROOT / "briefings"])
    started: dict[str, float] = {}  # question -> when its handler began (after waiting in Gradio's queue)
    real_events = service.events  # what the page asks

    def timed_events(question: str, history: Sequence[Turn] | None = None, **kw: Any) -> Iterator[Reading | str | Answer]:
        started[question] = time.perf_counter()
        return real_events(question, history, **kw)

    service.events = timed_events  # type: ignore[method-assign]
    demo = serve(service, "127.0.0.1", free_port(), block=False)
    deadline = time.monotonic() + DEADLINE_S
    torn: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        """Lists the briefings while they change: every listed article must have all its chunks."""
        while not stop.is_set():
            for entry in service.briefings():
                ids = [f"{entry.article.id}:c{i}" for i in range(entry.chunks)]
                if len(service._indexer.store.get_chunks(ids)) != entry.chunks:
                    torn.append(entry.article.id)

    def user(u: int) -> list[tuple[str, float, dict]]:
        client = Client(demo.local_url, verbose=False)
        done = []
        for t in range(TURNS):
            question = f"{QUESTIONS[(u + t) % len(QUESTIONS)]} (ref {chr(97 + u)}{chr(97 + t)})"
            submitted = time.perf_counter()
            _, answer, _ = client.submit(question, api_name="/ask").result(timeout=max(1.0, deadline - time.monotonic()))
            done.append((question, submitted, json.loads(answer)))
        return done

    def uploader() -> list[list[str]]:
        client = Client(demo.local_url, verbose=False)
        rows = []
        for i in range(3):
            note = tmp_path / f"note{i}.txt"
            note.write_text(f"Harbour Note {chr(65 + i)}\n\nThe harbour master said the port reopened after the storm. "
                            f"Ships queued outside for {i + 2} days.\n", encoding="utf-8")
            results, _, _ = client.submit([handle_file(note)], api_name="/add_files").result(timeout=120)
            rows += results["data"]
            listed = client.predict(api_name="/briefings")["data"]  # not in the model's queue: reads while others write
            assert all(int(row[4]) > 0 for row in listed)
        return rows

    def second_writer() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from ui.cli import main; main()", "index", "add", str(ROOT / "briefings"),
                               "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, cwd=ROOT, timeout=120,
                              env={**os.environ, "BRIEFQA_EMBEDDER": "hash"})

    watcher = threading.Thread(target=reader, daemon=True)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=USERS + 2) as pool:
            began = time.perf_counter()
            sessions = [pool.submit(user, u) for u in range(USERS)]
            uploads = pool.submit(uploader)
            cli = pool.submit(second_writer)
            outcomes = [s.exception(timeout=max(1.0, deadline - time.monotonic())) or s.result() for s in sessions]
            upload_rows, cli_run = uploads.result(timeout=120), cli.result(timeout=120)
            wall = time.perf_counter() - began
    finally:
        stop.set()
        watcher.join(timeout=30)
        demo.close()

    errors = [o for o in outcomes if isinstance(o, BaseException)]
    answers = [a for o in outcomes if not isinstance(o, BaseException) for a in o]
    waits = [started[q] - submitted for q, submitted, _ in answers]
    print(f"\nload: {len(answers)} answers to {USERS} users in {wall:.1f} s, {len(errors)} errors, "
          f"queue wait p50 {percentile(waits, 50):.2f} s, p95 {percentile(waits, 95):.2f} s, max {max(waits):.2f} s; "
          f"peak concurrent generations {probe.peak}; {len(upload_rows)} uploads during the load")
    assert errors == [] and len(answers) == USERS * TURNS
    assert probe.peak == 1 and probe.calls == USERS * TURNS
    for question, _, answer in answers:
        assert answer["question"] == question and not answer["refused"] and answer["citations"]
        for c in answer["citations"]:
            assert c["verified"] and service.article(c["article_id"]).text[c["start"] : c["end"]] == c["quote"]
    assert [row[1] for row in upload_rows] == ["added"] * 3 and torn == []
    assert len(service.briefings()) == 4
    assert cli_run.returncode == 2 and "is being written by" in cli_run.stderr and "Traceback" not in cli_run.stderr

