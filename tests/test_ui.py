"""The chat page without a browser: its API through ``gradio_client`` and the pure HTML rendering.

The app runs an extractive service (hash embedder, no LLM), so answers take milliseconds; the one
``slow`` test uses the real MiniLM + local Qwen.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from gradio_client import Client, handle_file
from pydantic import SecretStr

from core.errors import BriefQAError
from index.records import Article, FileResult
from core.settings import Settings
from qa.records import Answer, Citation, Timings
from qa.service import BriefingService
from ui.app import serve
from ui.render import answer_html, article_html, card_html, question_html

ROOT = Path(__file__).resolve().parents[1]
ALLY = "Did Russia call Iran an ally?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def service(tmp_path: Path) -> BriefingService:
    svc = BriefingService(Settings(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0), generator=None)
    svc.add([ROOT / "briefings"])
    return svc


@pytest.fixture
def app(service: BriefingService) -> Iterator[gr.Blocks]:
    demo = serve(service, "127.0.0.1", free_port(), block=False)
    yield demo
    demo.close()


def ask(client: Client, question: str) -> tuple[list[dict], dict | None, str]:
    messages, answer, textbox = client.predict(question, api_name="/ask")
    return messages, json.loads(answer) if answer else None, textbox


def assert_verbatim(service: BriefingService, answer: dict) -> None:
    for c in answer["citations"] + answer["related"]:
        assert service.article(c["article_id"]).text[c["start"] : c["end"]] == c["quote"]


def test_chat_endpoint_returns_verbatim_cited_quotes(app: gr.Blocks, service: BriefingService) -> None:
    client = Client(app.local_url, verbose=False)
    messages, answer, textbox = ask(client, ALLY)
    assert answer is not None and not answer["refused"] and answer["citations"]
    assert_verbatim(service, answer)
    assert textbox == ""
    assert [m["role"] for m in messages] == ["user", "assistant"]
    shown = messages[1]["content"][0]["text"]
    assert 'class="qa-badge' in shown and shown.count('class="qa-card qa-go') == len(answer["citations"])


def test_follow_up_uses_the_session_history(app: gr.Blocks, service: BriefingService) -> None:
    client = Client(app.local_url, verbose=False)
    ask(client, ALLY)
    messages, answer, _ = ask(client, "What did the ambassador say?")
    assert answer is not None and answer["standalone_question"] == f"What did the ambassador say? (follow-up to: {ALLY})"
    assert len(messages) == 4 and "asked as: " in messages[3]["content"][0]["text"]
    assert_verbatim(service, answer)


def test_refusal_lists_closest_passages(app: gr.Blocks, service: BriefingService) -> None:
    messages, answer, _ = ask(Client(app.local_url, verbose=False), "How much oil does Iran export to China?")
    assert answer is not None and answer["refused"] and not answer["citations"] and answer["related"]
    assert_verbatim(service, answer)
    assert "Closest passages" in messages[1]["content"][0]["text"]


def test_empty_questions_are_warnings_not_errors(app: gr.Blocks) -> None:
    client = Client(app.local_url, verbose=False)
    messages, answer, textbox = ask(client, "  ?  ")  # the service's BriefQAError, shown as a warning
    assert messages == [] and answer is None and textbox == "  ?  "
    ask(client, ALLY)
    messages, answer, _ = ask(client, "   ")  # blank after a first turn: not sent, the chat unchanged
    assert len(messages) == 2 and answer is not None and answer["question"] == ALLY


def test_briefings_tab_endpoints_add_list_and_remove(app: gr.Blocks, tmp_path: Path) -> None:
    client = Client(app.local_url, verbose=False)
    listed = client.predict(api_name="/briefings")
    assert [row[1] for row in listed["data"]] == ["Russia, Iran Not Allies in Syria, Says Senior Russian Diplomat"]
    note = tmp_path / "note.txt"
    note.write_text("Test Briefing Title\n\nThe minister said the talks went well. Nothing else was agreed.\n", encoding="utf-8")
    results, table, _ = client.predict([handle_file(note)], api_name="/add_files")
    assert results["data"][0][:2] == ["note.txt", "added"] and "Test Briefing Title" in results["data"][0][2]
    added = next(row for row in table["data"] if row[1] == "Test Briefing Title")
    table, cleared = client.predict(added[0][:8], api_name="/remove_article")
    assert cleared == "" and "Test Briefing Title" not in [row[1] for row in table["data"]]
    table, kept = client.predict("no-such-id", api_name="/remove_article")  # a warning, the table unchanged
    assert kept == "no-such-id" and len(table["data"]) == 1


def test_model_and_indexing_run_one_at_a_time(app: gr.Blocks, service: BriefingService, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def one_at_a_time(method: Callable[..., Any]) -> Callable[..., Iterator[Any]]:
        def slow(*args: Any, **kwargs: Any) -> Iterator[Any]:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.3)
            try:
                result = method(*args, **kwargs)
                yield from result if isinstance(result, Iterator) else [result]
            finally:
                with lock:
                    running -= 1

        return slow

    monkeypatch.setattr(service, "events", one_at_a_time(service.events))
    monkeypatch.setattr(service, "add", lambda *args: list(one_at_a_time(BriefingService.add)(service, *args))[0])
    note = tmp_path / "note.txt"
    note.write_text("A Note\n\nThe envoy said the talks went well.\n", encoding="utf-8")
    jobs = [Client(app.local_url, verbose=False).submit(ALLY, api_name="/ask") for _ in range(3)]
    jobs.append(Client(app.local_url, verbose=False).submit([handle_file(note)], api_name="/add_files"))
    assert all(job.result(timeout=30) for job in jobs) and peak == 1


def test_busy_port_is_a_one_line_user_error(service: BriefingService) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(BriefQAError, match=r"cannot listen on 127\.0\.0\.1:\d+.*Fix: pick another port"):
            serve(service, "127.0.0.1", s.getsockname()[1], block=False)


# --- exposure: bind address, password, upload limits and names --------------------------------------


def test_serving_beyond_loopback_needs_a_password(service: BriefingService) -> None:
    port = free_port()
    for host in ("0.0.0.0", "::", "192.0.2.7"):
        with pytest.raises(BriefQAError, match=rf"^refusing to serve on {re.escape(host)} without a password .*Fix: add --auth"):
            serve(service, host, port, block=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # nothing was started on it
    proc = subprocess.run([sys.executable, "-c", "from ui.cli import main; main()", "serve", "--host", "0.0.0.0", "--port", str(port)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env={**os.environ, "BRIEFQA_AUTH": ""})
    assert proc.returncode == 2 and proc.stderr.startswith("error: refusing to serve on 0.0.0.0 without a password"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    with pytest.raises(BriefQAError, match="not user:password"):
        serve(BriefingService(service.settings.model_copy(update={"auth": SecretStr("nopassword")}), generator=None), "0.0.0.0", port,
              block=False)


def test_a_password_protects_the_page(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0, auth=SecretStr("ana:s3cret:x"))
    service = BriefingService(settings, generator=None)
    service.add([ROOT / "briefings"])
    demo = serve(service, "127.0.0.1", free_port(), block=False)
    try:
        with pytest.raises(Exception, match="(?i)login|auth|401|403"):
            Client(demo.local_url, verbose=False).predict(ALLY, api_name="/ask")
        assert httpx.get(f"{demo.local_url}gradio_api/info").status_code in (401, 403)
        _, answer, _ = ask(Client(demo.local_url, verbose=False, auth=("ana", "s3cret:x")), ALLY)
        assert answer is not None and answer["citations"]
    finally:
        demo.close()


def test_uploads_are_kept_in_the_data_dir_under_their_names_never_overwritten(app: gr.Blocks, service: BriefingService,
                                                                            tmp_path: Path) -> None:
    client = Client(app.local_url, verbose=False)
    uploads = service.settings.data_dir / "uploads"
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    (first / "note.txt").write_text("First Note\n\nThe envoy said the talks went well.\n", encoding="utf-8")
    (second / "note.txt").write_text("Second Note\n\nThe envoy said the talks failed.\n", encoding="utf-8")
    (first / "empty.txt").write_bytes(b"")
    results, _, _ = client.predict([handle_file(first / "note.txt"), handle_file(first / "empty.txt")], api_name="/add_files")
    assert {row[0]: row[1] for row in results["data"]} == {"note.txt": "added", "empty.txt": "rejected"}
    results, _, _ = client.predict([handle_file(second / "note.txt")], api_name="/add_files")
    assert [row[:2] for row in results["data"]] == [["note-2.txt", "added"]]
    results, _, _ = client.predict([handle_file(first / "note.txt")], api_name="/add_files")  # the same file again
    assert [row[:2] for row in results["data"]] == [["note.txt", "unchanged"]]
    assert sorted(p.name for p in uploads.iterdir()) == ["note-2.txt", "note.txt"]  # the rejected copy was removed
    assert (uploads / "note.txt").read_bytes() == (first / "note.txt").read_bytes()
    assert {e.article.path for e in service.briefings()} >= {str(uploads / "note.txt"), str(uploads / "note-2.txt")}


def test_path_traversal_in_an_upload_name_stays_in_the_uploads_dir(app: gr.Blocks, service: BriefingService,
                                                                   tmp_path: Path) -> None:
    body = b"Escape Attempt\n\nThe file tried to leave its folder but stayed inside it.\n"
    names = ["../../etc/passwd.txt", "../../../../tmp/evil.txt", "..\\..\\win.txt", ".hidden.md"]

    def add_files(names: list[str]) -> str:
        """Upload files under ``names`` (raw HTTP, as a hostile client would) and index them; the event stream."""
        files = [("files", (name, body + name.encode(), "text/plain")) for name in names]
        stored = httpx.post(f"{app.local_url}gradio_api/upload", files=files, timeout=30).json()
        data = [[{"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}} for path, name in zip(stored, names)]]
        event = httpx.post(f"{app.local_url}gradio_api/call/add_files", json={"data": data}, timeout=30).json()["event_id"]
        return httpx.get(f"{app.local_url}gradio_api/call/add_files/{event}", timeout=60).text

    assert "event: error" in add_files(["../../etc/passwd"])  # no allowed extension: Gradio refuses it before our code
    stream = add_files(names)
    results = json.loads(stream.split("event: complete\ndata: ", 1)[1].splitlines()[0])[0]
    rows = {row[0]: row[1] for row in results["data"]}
    uploads = service.settings.data_dir / "uploads"
    assert rows == {"passwd.txt": "added", "evil.txt": "added", "win.txt": "added", "hidden.md": "added"}
    assert sorted(p.name for p in uploads.iterdir()) == sorted(rows)
    assert all(not name.startswith(".") and "/" not in name and "\\" not in name for name in rows)
    assert not (Path("/tmp") / "evil.txt").exists() and not (tmp_path.parent / "etc").exists()
    assert all(str(uploads) == str(Path(e.article.path or "").parent) for e in service.briefings() if "Escape" in e.article.title)


def test_upload_size_limit_is_enforced_by_gradio_and_by_the_service(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash", max_upload_mb=0.01)  # 10 KiB
    service = BriefingService(settings, generator=None)
    big = tmp_path / "big.txt"
    big.write_text("Big Note\n\n" + "The envoy said the talks went well. " * 600, encoding="utf-8")  # 21 KB
    [row] = service.add_uploads([big])
    assert row == FileResult("big.txt", "rejected", "file is 0.0 MB, over the 0.01 MB upload limit (BRIEFQA_MAX_UPLOAD_MB)")
    assert not (settings.data_dir / "uploads").exists() or not any((settings.data_dir / "uploads").iterdir())
    demo = serve(service, "127.0.0.1", free_port(), block=False)
    try:
        response = httpx.post(f"{demo.local_url}gradio_api/upload", files=[("files", ("big.txt", big.read_bytes()))], timeout=30)
        assert response.status_code == 413 and "File size exceeded maximum allowed size of 10485 bytes" in response.text
    finally:
        demo.close()
    assert service.briefings() == []


# --- rendering -------------------------------------------------------------------------------------


class _TextOf(HTMLParser):
    """Collects the text inside elements having attribute ``attr`` (entities decoded, as a browser would)."""

    def __init__(self, attr: tuple[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.attr, self.depth, self.text, self.scripts = attr, 0, "", 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.depth += bool(self.depth) or self.attr in attrs
        self.scripts += tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self.depth = max(self.depth - 1, 0)

    def handle_data(self, data: str) -> None:
        self.text += data if self.depth else ""


def parse(html: str, attr: tuple[str, str] = ("id", "hl")) -> _TextOf:
    p = _TextOf(attr)
    p.feed(html)
    return p


def cite(quote: str, start: int, n: int = 1, **kw: object) -> Citation:
    fields: dict = dict(article_id="a1", title="T", source="Src", published="2019-01-28", path=None, speaker="Sergei Ryabkov",
                        verified=True, role="Deputy Foreign Minister")
    return Citation(n=n, start=start, end=start + len(quote), quote=quote, **{**fields, **kw})


def answer(citations: tuple[Citation, ...] = (), **kw: object) -> Answer:
    fields: dict = dict(question="q", text="Not allies [1].", citations=citations, verdict="contradicted", refused=False,
                        timings=Timings(0.0, 0.0, 0.0))
    return Answer(**{**fields, **kw})


def test_script_in_article_title_and_quote_is_shown_as_text() -> None:
    text = 'Intro. He said "<script>alert(1)</script>" & left.\n\nEnd.'
    a = Article.create(title="<script>x</script> Title", text=text)
    start = text.index("He")
    html = article_html(a, start, text.index("left.") + 5, "Quote [1]")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and parse(html).scripts == 0
    assert parse(html).text == text[start : text.index("left.") + 5]
    c = cite('"<script>alert(1)</script>" & left.', 0, speaker="<img src=x onerror=alert(1)>", title="<b>t</b>")
    bad_answer = answer((c,), text="<script>bad()</script> [1]")
    for fragment in (card_html(c, 0, "cite"), answer_html(bad_answer, 0), question_html("<script>q</script>")):
        assert "<script" not in fragment and "<img" not in fragment and "<b>" not in fragment


@pytest.mark.parametrize(
    "text, quote",
    [
        ("Ryabkov said: “We are not allies,” he stressed.\u00a0Then  he\tleft.", "“We are not allies,”"),
        ("A\r\nline  with\u2009odd\u00a0 gaps\n\n and ‘single’.", "line  with\u2009odd\u00a0 gaps\n\n and ‘single’"),
        ("x < y && y > z", "< y && y >"),
    ],
)
def test_highlight_is_exactly_the_quoted_span(text: str, quote: str) -> None:
    start = text.index(quote)
    a = Article.create(title="T", text=text)
    html = article_html(a, start, start + len(quote))
    assert parse(html).text == quote and html.count('<mark id="hl">') == 1
    assert parse(card_html(cite(quote, start), 0, "cite"), ("class", "qa-quote")).text == quote  # newlines as &#10;


def test_answer_markers_link_only_known_citations_and_refusals_list_related() -> None:
    html = answer_html(answer((cite("Not allies.", 0),), text="No [1], see [7]."), 3)
    assert '<span class="qa-ref qa-go qa-go-cite-3-1" role="button" tabindex="0">[1]</span>' in html and "see [7]." in html
    refusal = answer(text="The briefings don't say.", verdict="not_found", refused=True, related=(cite("Close.", 5),),
                     standalone_question="What about <China>?")
    html = answer_html(refusal, 0)
    assert "Not in the briefings" in html and "Closest passages" in html and 'qa-go-related-0-1' in html
    assert "asked as: What about &lt;China&gt;?" in html


@pytest.mark.slow
def test_real_model_answer_cites_both_speakers_verbatim(tmp_path: Path) -> None:
    service = BriefingService(Settings(data_dir=tmp_path / "data"))
    service.add([ROOT / "briefings"])
    demo = serve(service, "127.0.0.1", free_port(), block=False)
    try:
        _, answer_, _ = ask(Client(demo.local_url, verbose=False), ALLY)
    finally:
        demo.close()
    assert answer_ is not None and not answer_["refused"]
    assert {"Sergei Ryabkov", "Levan Dzhagaryan"} <= {c["speaker"] for c in answer_["citations"] if c["verified"]}
    assert_verbatim(service, answer_)


def test_status_and_examples_describe_what_is_indexed(service: BriefingService) -> None:
    status = service.status()
    assert (status.articles, status.generator, status.embedder) == (1, "extractive (no model)", "hash-384")
    assert status.updated is not None and status.newest is None  # the sample article is undated
    assert service.examples() == ("What do the briefings say about “Russia, Iran Not Allies in Syria, Says Senior Russian Diplomat”?",)


def test_the_page_shows_the_briefings_being_read_before_the_answer(service: BriefingService) -> None:
    from ui.app import _Handlers

    shown = [chat[-1]["content"] for chat, *_ in _Handlers(service).ask(ALLY, [])]
    assert "Searching the briefings" in shown[0]
    assert 'class="qa-sources"' in shown[1] and "Russia, Iran Not Allies in Syria" in shown[1] and "qa-badge" not in shown[1]
    assert "qa-badge" in shown[-1] and "<summary>Read 1 briefing</summary>" in shown[-1]


def test_quote_cards_appear_while_the_answer_is_written(service: BriefingService) -> None:
    """A Drafting event's verbatim quotes are shown as cards before the answer is finished (and judged)."""
    import json

    from tests.fakes import ScriptedGenerator
    from ui.app import _Handlers

    reply = json.dumps({"answerable": True, "answer": "Ryabkov said they are not allies [S1]. " + "More. " * 12, "verdict": "no"})
    service.assistant.generator = ScriptedGenerator([reply])
    shown = [chat[-1]["content"] for chat, *_ in _Handlers(service).ask(ALLY, [])]
    drafting = [html for html in shown[:-1] if "qa-drafting-cards" in html]
    assert drafting and "qa-badge" not in drafting[0] and 'class="qa-card ' in drafting[0]


def test_quotes_first_shows_the_chosen_quotes_cards_before_the_model_writes(service: BriefingService) -> None:
    """Quotes first: the page shows the checked quotes' cards from the Quoted event, before any answer text."""
    from qa.choose import QuoteChooser
    from tests.fakes import KeywordScorer
    from ui.app import _Handlers

    service.assistant.chooser = QuoteChooser(KeywordScorer(yes=["Iranian ally"], no=["not allies"]), min_p=0.5, max_quotes=4)
    shown = [chat[-1]["content"] for chat, *_ in _Handlers(service).ask(ALLY, [])]
    cards = [html for html in shown[:-1] if "qa-drafting-cards" in html]
    assert cards and "not allies" in cards[0] and 'class="qa-text"></p>' in cards[0]  # the cards, no answer text yet
    assert "qa-badge" in shown[-1]
