"""The checker (qa/checker.py): its training data never touches an evaluation article, the edits that make its
negatives do what they say, the shipped model loads and judges clear cases, and the fact-check mode (``briefqa
check``, ``check --pairs``) gives verified quotes with labels and probabilities."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from core.settings import Settings
from qa.checker import LABEL_NAMES, MODEL_DIR, Checker, CheckerJudge, pair_text
from qa.factcheck import judge_pair
from train import edits
from train.corpus import CORPUS, EVAL_DIRS, HOLDOUT, _body_hash, _key, excluded, training_articles
from train.make_data import written_pairs
from ui.cli import app

ROOT = Path(__file__).resolve().parents[1]
RUNNER = CliRunner()
needs_corpus = pytest.mark.skipif(not (CORPUS / "news").exists(), reason="the BBC corpus (../shared) is not beside the checkout")


@needs_corpus
def test_training_articles_exclude_every_eval_reserved_and_held_out_article() -> None:
    train = list(training_articles())
    paths, keys, hashes = excluded()
    assert len(train) > 1500 and len(paths) == 100  # 60 reserved + 40 held out for eval/checker_fresh
    assert not {a.path for a in train} & paths
    eval_files = [f for folder in EVAL_DIRS for f in (ROOT / folder).glob("*.txt")]
    assert len(eval_files) >= 30
    train_keys = {_key(f"{a.title}\n\n{a.body}") for a in train}
    train_hashes = {_body_hash(f"{a.title}\n{a.body}") for a in train}
    for f in eval_files:  # no eval article's headline or body is in the training articles
        text = f.read_text(encoding="utf-8")
        headed = text.lower().startswith("title:")
        assert _key(text[6:] if headed else text) not in train_keys, f
        assert _body_hash(text.split("\n\n", 1)[-1] if headed else text) not in train_hashes, f


@needs_corpus
def test_the_shipped_training_data_names_only_training_articles() -> None:
    allowed = {a.path for a in training_articles()}
    sources = {json.loads(line)["source"] for line in (ROOT / "train" / "data" / "pairs.jsonl").open(encoding="utf-8")}
    assert sources and sources <= allowed
    held = {line.strip() for line in HOLDOUT.read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert not sources & held


def _listed_article(folder: Path) -> tuple[str, str]:
    """A training article listed as a helper's only article in ``folder``: its path and a verbatim quote of it."""
    art = next(iter(training_articles()))
    (folder / "articles-1.txt").write_text(art.path + "\n")
    return art.path, next(s for s in art.body.split("\n") if len(s) > 40).strip()


@needs_corpus
def test_written_triples_become_pairs_only_when_the_validator_accepts_them(tmp_path: Path) -> None:
    source, quote = _listed_article(tmp_path)
    good = {"question": "Did it happen?", "claim": "", "quote": quote, "source": source, "label": "contradicts",
            "side": "no", "kind": "negation"}
    rows = [good, {**good, "quote": quote + " (invented)"},  # not verbatim
            {**good, "label": "supports"},  # the label does not follow the side of an empty claim
            {**good, "question": "What happened?", "side": None, "claim": "It happened.", "label": "unrelated"},
            {**good, "source": "politics/not-listed.txt"}, good]  # not a listed article; a repeat
    (tmp_path / "triples-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")
    pairs = written_pairs(tmp_path)
    assert [(p.task, p.label, p.kind) for p in pairs] == [("side", 1, "written_negation"), ("supports", 2, "written_negation"),
                                                          ("answers", 0, "written_answers_negation"),
                                                          ("answers", 1, "written_answers_negation")]
    assert {p.source for p in pairs} == {source}
    assert [p.question for p in pairs if p.task == "answers"] == ["Did it happen?", "What happened?"]  # a "no" answers it


@needs_corpus
def test_a_question_and_quote_written_as_both_answering_and_not_gives_no_answers_pair(tmp_path: Path) -> None:
    source, quote = _listed_article(tmp_path)
    row = {"question": "What happened?", "claim": "It happened.", "quote": quote, "source": source, "label": "unrelated",
           "side": None, "kind": "neighbouring_fact"}
    (tmp_path / "triples-1.jsonl").write_text(json.dumps(row) + "\n" + json.dumps({**row, "claim": "It did.", "label": "supports", "kind": "plain"}) + "\n")
    assert [p.task for p in written_pairs(tmp_path)] == ["supports", "supports"]


@needs_corpus
def test_written_triples_come_from_training_articles_only() -> None:
    allowed = {a.path for a in training_articles()}
    listed = {line.strip() for f in (ROOT / "train" / "written").glob("articles-*.txt") for line in f.read_text().splitlines() if line.strip()}
    assert listed and listed <= allowed


def test_edits_change_what_they_say_and_nothing_else() -> None:
    rng = random.Random(0)
    s = "The firm will cut 200 jobs in March 2005, the company said."
    assert edits.strip_attribution(s) == ("The firm will cut 200 jobs in March 2005.", "the company")
    assert edits.negate("The firm will cut 200 jobs.") == "The firm will not cut 200 jobs."
    assert edits.affirm("The firm won't cut jobs.") == "The firm will cut jobs."
    changed = edits.change_number("The firm will cut 200 jobs.", rng, ["350"])
    assert changed and "200" not in changed and changed.replace(edits.NUMBER.findall(changed)[0], "N") == "The firm will cut N jobs."
    moved = edits.change_year("It opened in 2004.", rng)
    assert moved and moved != "It opened in 2004." and edits.YEAR.search(moved)
    assert edits.yes_no_question("The firm will cut jobs.") == "Will the firm cut jobs?"
    assert edits.neighbour("Profits rose 5%.", rng) in (("Revenue rose 5%.", "revenue"), ("Sales rose 5%.", "sales"))


def test_pair_text_is_one_format_for_the_three_tasks() -> None:
    assert pair_text("side", "Is it open?") == "side: Is it open?"
    assert pair_text("supports", "", "It is open.") == "supports: | It is open."
    assert set(LABEL_NAMES) == {"answers", "supports", "side"}


def test_the_shipped_model_records_how_it_was_made() -> None:
    meta = json.loads((MODEL_DIR / "meta.json").read_text())
    assert meta["command"].startswith("python train/train_checker.py") and len(meta["data_sha256"]) == 64
    assert (MODEL_DIR / "checker.int8.onnx").stat().st_size < 40 * 2**20


def test_checker_contract_probabilities_per_row_in_order() -> None:
    checker = Checker.load()
    rows = [("side", "Is the plant closing?", "", "The plant will close in May, the company said.")] * 3 + [
        ("answers", "How many jobs will go?", "", "The weather was fine.")]
    p = checker.probs(rows)
    assert p.shape == (4, 3) and abs(float(p.sum()) - 4) < 1e-3 and (p >= 0).all()
    assert np.allclose(p[:3], checker.probs(rows[:1])[0], atol=1e-6)  # a row's answer is its own, whatever rows come with it
    assert Checker.load() is checker


def test_checker_judges_clear_cases() -> None:
    judge = CheckerJudge(Checker.load())
    quote = "The barrier will open in June 2006, the council said."
    assert judge.judge("When will the barrier open?", "The barrier will open in June 2006.", quote).label == "supports"
    wrong = judge.judge("When will the barrier open?", "The barrier will open in June 2008.", quote)
    assert wrong.label != "supports" and wrong.vetoes  # a year the quote never states: code decides it
    assert judge.judge("Will the barrier open in June 2006?", "", quote).side == "yes"
    assert judge.judge("Will the barrier open in June 2006?", "", "The barrier will not open in June 2006.").side == "no"
    assert judge.judge("Will the barrier open in June 2006?", "", "Fishing boats crowded the harbour.").side == "neither"
    j = judge_pair(judge, "Will the barrier open in June 2006?", "", quote)
    assert j.side == "yes" and j.label == "supports" and 0.5 < j.p <= 1 and j.p_side == j.p


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BRIEFQA_EMBEDDER", "hash")
    monkeypatch.setenv("BRIEFQA_GENERATOR", "extractive")
    monkeypatch.setenv("BRIEFQA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_check_pairs_prints_one_verdict_a_line(env: Path) -> None:
    pairs = env / "pairs.jsonl"
    rows = [{"question": "Did Russia call Iran an ally?", "claim": "", "quote": "Russia and Iran are not allies, Ryabkov said."},
            {"question": "How much will it cost?", "claim": "It will cost £48 million.", "quote": "It will cost £61 million."}]
    pairs.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = RUNNER.invoke(app, ["check", "--pairs", str(pairs)])
    assert result.exit_code == 0
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 2 and all(set(o) == {"label", "p", "side", "p_side"} for o in out)
    assert out[0]["side"] in ("yes", "no", "neither") and out[1]["side"] is None and out[1]["label"] != "supports"
    bad = env / "bad.jsonl"
    bad.write_text('{"question": "x"}\n')
    proc = subprocess.run([sys.executable, "-c", "from ui.cli import main; main()", "check", "--pairs", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "line 1" in proc.stderr and "Fix:" in proc.stderr and "Traceback" not in proc.stderr


def test_check_a_claim_gives_verified_quotes_with_labels(env: Path) -> None:
    assert RUNNER.invoke(app, ["index", "add", str(ROOT / "briefings")]).exit_code == 0
    result = RUNNER.invoke(app, ["check", "--json", "Ryabkov said Russia and Iran are not allies in Syria"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    text = (ROOT / "briefings" / "russia-iran-not-allies-in-syria.txt").read_text()
    assert data["verdict"] in ("supported", "mixed") and data["considered"] > 0
    assert any(c["support"]["label"] == "supports" for c in data["citations"])
    for c in data["citations"]:
        assert c["quote"] in text and c["support"]["label"] in ("supports", "contradicts") and c["support"]["p"] >= 0.5
    from qa import check  # the same from Python

    fc = check("Ryabkov said Russia and Iran are not allies in Syria")
    assert fc.json() == data


def test_the_judge_setting_takes_the_old_flags() -> None:
    assert Settings(judge="true").judge == "llm" and Settings(judge=False).judge == "off"
    assert Settings(judge="checker").judge == "checker"


def test_the_fresh_evaluation_set_is_valid_and_comes_from_held_out_articles() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "eval" / "checker_fresh" / "check.py")], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.rstrip().endswith("OK"), result.stdout[-500:]
    rows = [json.loads(line) for line in (ROOT / "eval" / "checker_fresh" / "triples.jsonl").open(encoding="utf-8")]
    held = {f"bbc-{p.replace('/', '-')}" for p in HOLDOUT.read_text().splitlines() if p.strip() and not p.startswith("#")}
    articles = {Path(r["source"]).name for r in rows}
    assert len(rows) >= 200 and len(articles) >= 30 and articles <= held
