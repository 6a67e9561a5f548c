"""Hostile and broken inputs, end to end: every file gets a clear result, a batch never aborts, and the
index's article and chunk counts move by exactly what was added. Each input is built here.

Hash embedder, no LLM (the scripted generator where the prompt matters), so this runs in seconds.
"""

from __future__ import annotations

import io
import json
import os
import random
from pathlib import Path

import pytest
from pypdf import PdfWriter
from typer.testing import CliRunner

from core.errors import BriefQAError
from index.pipeline import Indexer
from core.settings import Settings
from ui.cli import app
from tests.fakes import ScriptedGenerator
from qa.service import BriefingService, open_indexer
from test_load import HTML, text_pdf  # tests/ is on sys.path (rootdir conftest)
from ui.render import answer_html, article_html

ROOT = Path(__file__).resolve().parents[1]
GOOD = "Talks Resume\n\nThe envoy said the talks in Geneva would resume on Monday. Officials agreed on a timetable.\n"
LIMIT = "over the 10 MB limit for one file (raise BRIEFQA_MAX_FILE_MB to index it, or split it)"


@pytest.fixture
def indexer(tmp_path: Path) -> Indexer:
    ix = open_indexer(Settings(data_dir=tmp_path / "data", embedder="hash"))
    ix.add([ROOT / "briefings"])
    return ix


def counts(ix: Indexer) -> tuple[int, int]:
    """(articles, chunks) as stored; every listed article has all its chunks."""
    entries = ix.store.articles()
    chunks = ix.store.chunks()
    assert sum(e.chunks for e in entries) == len(chunks)
    return len(entries), len(chunks)


def blank_pdf() -> bytes:
    """A valid one-page PDF without a text layer (what a scan without OCR looks like)."""
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "zero.txt": (b"", "empty file"),
    "blank.md": (b" \n\t\r\n", "empty file"),
    "photo.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "binary data, not text"),
    "noise.txt": (random.Random(7).randbytes(20_000), "binary data, not text"),
    "controls.md": (b"\x1b\x01\x02text\x03\x04\x05\x06\x07\x08", "binary data, not text"),
    "undecodable.txt": (b"Hello \x81\x8d\x8f\x90\x9d world", "cannot decode text (not UTF-8 or Windows-1252)"),
    "huge.txt": (b"A line of briefing text that goes on for a while.\n" * 1_100_000, f"file is 52.5 MB, {LIMIT}"),
    "scan.pdf": (blank_pdf(), "PDF has no text layer (scanned?); run OCR first"),
    "corrupt.pdf": (b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n" + b"\x00garbage" * 50, "not a readable PDF: "),
    "scripts-only.html": (b"<html><script>alert(1)</script><style>p{}</style><iframe src=x></iframe></html>",
                          "no article text found in HTML"),
    "x.txt": (b"x", "no article text after cleaning"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_each_bad_file_is_rejected_with_its_reason_and_changes_nothing(indexer: Indexer, tmp_path: Path, name: str) -> None:
    data, reason = BAD_FILES[name]
    f = tmp_path / name
    f.write_bytes(data)
    before = counts(indexer)
    [result] = indexer.add([f])
    assert (result.path, result.status) == (str(f), "rejected") and result.reason.startswith(reason), result
    assert counts(indexer) == before


def test_a_batch_of_everything_never_aborts_and_adds_exactly_the_good_files(indexer: Indexer, tmp_path: Path) -> None:
    src = tmp_path / "scraped"
    src.mkdir()
    for name, (data, _) in BAD_FILES.items():
        (src / name).write_bytes(data)
    (src / "good.txt").write_text(GOOD, encoding="utf-8")
    (src / "good - copy.txt").write_text(GOOD, encoding="utf-8")  # a duplicate under another name
    (src / "latin1.txt").write_bytes("Café Talks\n\nThe café owner said “no” – twice, in Zürich.\n".encode("cp1252"))
    (src / "broken-utf8.txt").write_bytes("Storm “Update”\n\nThe storm hit Köln at dawn.".encode() + b" A stray \xff byte.")
    (src / "utf16.txt").write_bytes("Vote Count\n\nThe council counted the votes twice.".encode("utf-16"))
    (src / "Новости — 日本 café.md").write_text("# Ministers Meet\n\nThe ministers met in Tokyo on Friday.", encoding="utf-8")
    with open(os.fsencode(src) + b"/bad name \xe9.txt", "w", encoding="utf-8") as handle:
        handle.write("Port Reopens\n\nThe port reopened after the strike ended.")
    (src / "hostile.html").write_text(HTML, encoding="utf-8")
    (src / "feed.jsonl").write_text("\n".join([
        json.dumps({"title": "Feed One", "text": "The first feed story says the bridge opened."}),
        "{broken json", json.dumps([1, 2]), json.dumps({"title": "no text"}),
        json.dumps({"title": "Feed Two", "text": "The second feed story says the bridge closed again."}),
    ]), encoding="utf-8")
    (src / "brief.pdf").write_bytes(text_pdf("Ministers met in Geneva on Monday.", title="Geneva Talks"))
    (src / "notes.docx").write_bytes(b"PK\x03\x04")
    (src / ".hidden.txt").write_text("Hidden files are skipped.")
    os.symlink(src, src / "loop")  # a symlink loop
    os.symlink(src / "good.txt", src / "link to good.txt")  # the same file again
    deep = src / "deep"
    for _ in range(60):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_text("Deep Story\n\nThe deepest file was found by the walk.")
    before = counts(indexer)

    results = indexer.add([src])

    by_name = {Path(r.path).name: r for r in results}
    assert len(by_name) == len(results), "each file reported once (the loop and the link are not read twice)"
    for name, (_, reason) in BAD_FILES.items():
        assert by_name[name].status == "rejected" and by_name[name].reason.startswith(reason), by_name[name]
    added = {"good - copy.txt", "latin1.txt", "broken-utf8.txt", "utf16.txt", "Новости — 日本 café.md", "bad name \ufffd.txt",
             "hostile.html", "feed.jsonl#1", "feed.jsonl#5", "brief.pdf", "deep.txt"}
    assert {n for n, r in by_name.items() if r.status == "added"} == added
    assert {n: r.status for n, r in by_name.items() if r.status == "unchanged"} == {"good.txt": "unchanged",
                                                                                    "link to good.txt": "unchanged"}
    assert by_name["good.txt"].reason == f"same text already in {src / 'good - copy.txt'}"
    assert {n for n, r in by_name.items() if r.status == "rejected"} - set(BAD_FILES) == {
        "feed.jsonl#2", "feed.jsonl#3", "feed.jsonl#4"}
    assert by_name["notes.docx"].status == "skipped"
    assert all(r.reason for r in results if r.status in ("rejected", "skipped"))
    assert counts(indexer) == (before[0] + len(added), before[1] + sum(r.chunks for r in results if r.status == "added"))
    texts = {Path(e.article.path or "").name: e.article.text for e in indexer.store.articles()}
    assert "café owner said “no” – twice, in Zürich" in texts["latin1.txt"]
    assert "Köln at dawn. A stray \ufffd byte." in texts["broken-utf8.txt"]
    assert texts["utf16.txt"] == "The council counted the votes twice."


def test_the_cli_reports_every_file_and_exits_1_without_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIEFQA_EMBEDDER", "hash")
    src = tmp_path / "in"
    src.mkdir()
    (src / "zero.txt").write_bytes(b"")
    (src / "good.txt").write_text(GOOD)
    with open(os.fsencode(src) + b"/\xff.txt", "wb") as handle:
        handle.write(b"\x00\x01binary")
    result = CliRunner().invoke(app, ["index", "add", str(src), "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    lines = result.output.splitlines()
    assert f"rejected  {src}/\ufffd.txt  binary data, not text" in lines
    assert f"rejected  {src}/zero.txt  empty file" in lines
    assert lines[-1].startswith("1 added, 0 unchanged, 0 skipped, 2 rejected; 1 articles in ")


def test_hostile_html_is_stored_as_text_and_never_rendered(indexer: Indexer, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(HTML.replace("ending a decade", "ending &lt;script&gt;alert('x')&lt;/script&gt; a decade"), encoding="utf-8")
    [result] = indexer.add([page])
    assert result.status == "added"
    entry = indexer.store.get(result.article_id or "")
    assert entry is not None
    text = entry.article.text
    for noise in ("evil", "color: red", "stealCookies", "onclick", "iframe", "injected"):
        assert noise not in text
    assert "<script>alert('x')</script>" in text  # the page's visible text, kept verbatim as text
    start = text.index("<script>")
    html = article_html(entry.article, start, start + 30)
    assert "<script" not in html and "&lt;script&gt;" in html and "<iframe" not in html


def test_questions_empty_punctuation_and_20_kb(tmp_path: Path) -> None:
    reply = json.dumps({"answerable": True, "answer": "The briefing says they are not allies [S1].", "verdict": "no"})
    generator = ScriptedGenerator([reply])
    service = BriefingService(Settings(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0), generator=generator)
    service.add([ROOT / "briefings"])
    for question in ("", "   \n\t", "?!...;:", "\"'?"):
        with pytest.raises(BriefQAError, match=r"^the question is empty\. Fix: "):
            service.ask(question)
    long_question = "Did Russia call Iran an ally? " * 700  # 21 kB
    answer = service.ask(long_question)
    assert answer.question == long_question.strip() and not answer.refused and answer.citations
    assert all(service.article(c.article_id).text[c.start : c.end] == c.quote for c in answer.citations)
    [(_, user)] = generator.calls
    assert len(user.content) < 6000  # the model sees the question cut to 2000 characters, not 21 kB
    shown = answer_html(answer, 0)
    assert shown.count("qa-card ") == len(answer.citations)
    with pytest.raises(BriefQAError):
        service.ask("?" * 20_000)
    assert counts(service._indexer)[0] == 1
