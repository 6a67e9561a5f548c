"""Export (issue 14 part 3): ask --format markdown (every footnote's quote is the article text at its offsets),
index export FILE.jsonl round-tripping through index add, and the CLI's filter flags (hash embedder, no LLM)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import Settings
from qa.export import answer_markdown
from qa.service import open_assistant, open_indexer
from tests.test_filters import BBC_FEB, FERRY, corpus
from ui.cli import app

ROOT = Path(__file__).resolve().parents[1]
RUNNER = CliRunner()
FOOTNOTE = re.compile(r"^\[\^(\d+)\]: “(?P<quote>.*)” — (?P<rest>.*), chars (?P<start>\d+)–(?P<end>\d+)$", re.S)


def footnotes(markdown: str) -> list[dict[str, str]]:
    """The footnotes of an exported answer (a quote's line breaks continue on indented lines)."""
    blocks = re.split(r"\n(?=\[\^\d+\]: )", markdown.split("\n\n", 1)[1])
    found = [FOOTNOTE.match(b.replace("\n    ", "\n")) for b in blocks]
    assert all(found), blocks
    return [m.groupdict() | {"n": m[1]} for m in found if m]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in {"EMBEDDER": "hash", "GENERATOR": "extractive", "MIN_EVIDENCE_SCORE": "0.0", "DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(f"BRIEFQA_{key}", value)
    s = Settings()
    open_indexer(s).add([corpus(tmp_path / "c.jsonl"), ROOT / "briefings"])
    return s


def run(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("question", [FERRY, "Did Russia call Iran an ally?", "What did Ada Okonkwo say about the moon landing?"])
def test_every_markdown_footnote_quotes_the_article_text_at_its_offsets(settings: Settings, question: str) -> None:
    assistant = open_assistant(settings, generator=None)
    answer = assistant.ask(question)
    md = answer_markdown(answer)
    notes = footnotes(md)
    cites = answer.citations or answer.related
    assert notes and [int(f["n"]) for f in notes] == [c.n for c in cites]
    for f, c in zip(notes, cites, strict=True):
        text = assistant.retriever.store.get(c.article_id).article.text
        assert text[int(f["start"]) : int(f["end"])] == f["quote"] == c.quote
        assert c.title in f["rest"].replace("\\", "") and (c.source or "") in f["rest"] and (c.published or "") in f["rest"]
        assert f"[^{c.n}]" in md.split("\n\n", 1)[0]  # referenced from the answer text
    assert not re.search(r"(?<!\^)\[\d+\]", md.split("\n\n", 1)[0])  # every [n] became a footnote reference


def test_ask_format_markdown_and_filter_flags_from_the_cli(settings: Settings) -> None:
    code, out = run("ask", "--format", "markdown", "--since", "2026-02-01", "--until", "2026-02-28", "--source", "bbc news", FERRY)
    assert code == 0, out
    notes = footnotes(out.strip())
    assert notes and all("BBC News" in f["rest"] and "2026-02-" in f["rest"] for f in notes)
    code, out = run("ask", "--json", "--source", "BBC News", "--source", "Reuters", "--until", "2026-01-31", FERRY)
    data = json.loads(out)
    assert code == 0 and data["citations"] and all(c["source"] == "Reuters" for c in data["citations"])
    assert json.loads(run("ask", "--format", "json", FERRY)[1])["citations"]


def test_a_bad_date_is_one_line(settings: Settings) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "from ui.cli import main; main()", "ask", "--until", "2026-02-30", FERRY],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and proc.stderr == "error: --until '2026-02-30' is not a date. Fix: give it as YYYY-MM-DD, e.g. --until 2026-01-31\n"


def test_index_export_round_trips_through_index_add(settings: Settings, tmp_path: Path) -> None:
    out_file = tmp_path / "all.jsonl"
    code, out = run("index", "export", str(out_file))
    assert code == 0 and "exported 12 articles" in out, out
    again = settings.model_copy(update={"data_dir": tmp_path / "again"})
    results = open_indexer(again).add([out_file])
    assert [r.status for r in results] == ["added"] * 12
    key = lambda e: (e.article.id, e.article.text, e.article.title, e.article.published, e.article.source, e.article.url)  # noqa: E731
    before = sorted(map(key, open_assistant(settings, generator=None).retriever.store.articles()))
    after = sorted(map(key, open_assistant(again, generator=None).retriever.store.articles()))
    assert after == before
    code, out = run("index", "export", str(tmp_path / "no" / "such" / "dir.jsonl"))
    assert code != 0


def test_filtered_answer_markdown_names_only_articles_inside(settings: Settings) -> None:
    answer = open_assistant(settings, generator=None).ask(FERRY, filters=BBC_FEB)
    assert all("BBC News" in f["rest"] for f in footnotes(answer_markdown(answer)))
