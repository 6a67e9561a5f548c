"""The command line: index add/list/remove, ask --json, eval, and one-line errors (hash embedder, no LLM)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import app

ROOT = Path(__file__).resolve().parents[1]
RUNNER = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BRIEFQA_EMBEDDER", "hash")
    monkeypatch.setenv("BRIEFQA_GENERATOR", "extractive")
    monkeypatch.setenv("BRIEFQA_MIN_EVIDENCE_SCORE", "0.0")
    monkeypatch.setenv("BRIEFQA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, list(args))
    return result.exit_code, result.output


def test_index_add_is_incremental_and_list_shows_articles(env: Path) -> None:
    code, out = run("index", "add", str(ROOT / "briefings"))
    assert code == 0 and "added" in out and "1 added" in out
    code, out = run("index", "add", str(ROOT / "briefings"))
    assert code == 0 and "0 added, 1 unchanged" in out
    code, out = run("index", "list")
    assert "Russia, Iran Not Allies in Syria, Says Senior Russian Diplomat" in out and "1 articles" in out


def test_ask_json_is_one_object_with_verbatim_quotes(env: Path) -> None:
    run("index", "add", str(ROOT / "briefings"))
    code, out = run("ask", "--json", "Did Russia call Iran an ally?")
    assert code == 0
    data = json.loads(out)
    assert {"question", "answer", "verdict", "refused", "citations", "timings"} <= set(data)
    assert set(data["timings"]) == {"retrieve_s", "generate_s", "total_s"}
    text = (ROOT / "briefings" / "russia-iran-not-allies-in-syria.txt").read_text()
    assert data["citations"]
    for c in data["citations"]:
        assert {"n", "quote", "article_id", "title", "source", "published", "path", "start", "end", "speaker", "verified"} <= set(c)
        assert c["verified"] and c["quote"] in text and c["end"] - c["start"] == len(c["quote"])


def test_ask_no_summary_answers_with_the_checkers_quotes_each_labelled(env: Path) -> None:
    """--no-summary: quotes first with the shipped checker, no model; every quote verbatim and carrying its p."""
    run("index", "add", str(ROOT / "briefings"))
    code, out = run("ask", "--json", "--no-summary", "Did Russia call Iran an ally?")
    assert code == 0
    data = json.loads(out)
    text = (ROOT / "briefings" / "russia-iran-not-allies-in-syria.txt").read_text()
    for c in data["citations"] + data["related"]:
        assert c["verified"] and c["quote"] in text
    for c in data["citations"]:
        assert c["support"]["side"] in ("yes", "no") and c["support"]["p"] >= 0.5
    code, out = run("ask", "--no-summary", "Did Russia call Iran an ally?")
    assert code == 0 and ("p=" in out or "Not in the briefings" in out)


def test_remove_by_prefix_deletes_the_article(env: Path) -> None:
    run("index", "add", str(ROOT / "briefings"))
    code, out = run("index", "list")
    article_id = out.split()[0]
    code, out = run("index", "remove", article_id[:6])
    assert code == 0 and "removed" in out
    assert "0 articles" in run("index", "list")[1]


def test_rejected_files_are_reported_and_the_index_is_untouched(env: Path) -> None:
    run("index", "add", str(ROOT / "briefings"))
    bad = env / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02binary\x00" * 50)
    code, out = run("index", "add", str(bad))
    assert code == 1 and "rejected" in out and "binary" in out
    assert "1 articles" in run("index", "list")[1]


def test_eval_prints_a_table_and_totals(env: Path) -> None:
    run("index", "add", str(ROOT / "briefings"))
    code, out = run("eval", str(ROOT / "eval" / "seed_dev.jsonl"))
    assert code == 0 and "seed-ally" in out and "total correct:" in out and "citations verified:   100%" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "Did Russia call Iran an ally?"], "error: no index at"),
        (["index", "list"], "error: no index at"),
    ],
)
def test_user_errors_are_one_line_without_traceback(env: Path, args: list[str], message: str) -> None:
    proc = subprocess.run([sys.executable, "-c", "from ui.cli import main; main()", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith(message) and "Fix:" in lines[-1]
    assert "Traceback" not in proc.stderr


def test_empty_question_is_refused_with_a_clear_message(env: Path) -> None:
    run("index", "add", str(ROOT / "briefings"))
    proc = subprocess.run([sys.executable, "-c", "from ui.cli import main; main()", "ask", "  "], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "the question is empty" in proc.stderr and "Traceback" not in proc.stderr


def test_a_mixed_batch_indexes_the_good_files_and_exits_1(env: Path) -> None:
    bad = env / "empty.txt"
    bad.write_text("   \n")
    code, out = run("index", "add", str(ROOT / "briefings"), str(bad))
    assert code == 1 and "1 added" in out and "1 rejected" in out and "empty file" in out
    assert "1 articles" in run("index", "list")[1]
