"""qa.policy: one ordered table of every refusal, veto and rewrite; each answer's trace; rules switched off by name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import BriefQAError
from core.settings import Settings
from index.pipeline import Indexer
from qa.policy import RULES, STEPS, Policy
from qa.records import Fired, answer_json
from qa.service import open_assistant
from tests.test_answer import assistant, draft, evidence_number, indexed  # noqa: F401 - the fixture
from tests.test_verify import WHO, judged
from ui.cli import app

ROOT = Path(__file__).resolve().parents[1]
CHINA = "How much oil does Iran export to China?"


def test_the_table_names_at_most_twelve_rules_and_the_docs_list_each() -> None:
    assert len(RULES) <= 12 and len(set(RULES)) == len(RULES)
    assert {s.stage for s in STEPS} == {"retrieved", "drafted", "cited", "judged", "composed"}
    stages = ["retrieved", "drafted", "cited", "judged", "composed"]
    assert [stages.index(s.stage) for s in STEPS] == sorted(stages.index(s.stage) for s in STEPS)  # in the order they run
    docs = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").split("### After", 1)[1]
    assert set(re.findall(r"^\| \d+ \| `(\w+)`", docs, re.M)) == set(RULES)


def test_an_unknown_rule_name_is_one_line_naming_the_rules(indexed: Indexer) -> None:  # noqa: F811
    with pytest.raises(BriefQAError, match="closest_passage") as e:
        open_assistant(indexed.settings.model_copy(update={"rules_off": "closest_pasage"}), store=indexed.store,
                       embedder=indexed.embedder, bm25=indexed.refresh_bm25(), generator=None)
    assert "unknown answer rule closest_pasage" in str(e.value)
    assert Policy({"sides", "conflicts"}).on("on_topic") and not Policy({"sides"}).on("sides")


def test_a_refusal_says_which_rule_refused_and_a_rule_switched_off_does_not(indexed: Indexer) -> None:  # noqa: F811
    refused = assistant(indexed, [draft("x")]).ask(CHINA)
    assert refused.refused and refused.trace == (Fired("question_terms", "refused", "The briefings never mention China."),)
    assert answer_json(refused)["trace"] == [{"rule": "question_terms", "action": "refused", "did": "The briefings never mention China."}]
    settings = indexed.settings.model_copy(update={"rules_off": "question_terms"})
    gen = assistant(indexed, [draft("", answerable=False)]).generator
    off = open_assistant(settings, store=indexed.store, embedder=indexed.embedder, bm25=indexed.refresh_bm25(), generator=gen)
    assert off.ask(CHINA).trace == (Fired("model_declined", "refused", "The closest passages do not answer the question."),)


def test_the_judges_cut_is_traced_and_can_be_switched_off(indexed: Indexer) -> None:  # noqa: F811
    probe, _ = judged(indexed, [], lambda q, c: "supports")
    n_role = evidence_number(probe, WHO, "Deputy Foreign Minister Sergei Ryabkov")
    n_other = evidence_number(probe, WHO, "Dzhagaryan")
    text = f"Ryabkov is Russia's Deputy Foreign Minister [S{n_role}]. He is the ambassador to Tehran [S{n_other}]."
    rule = lambda quote, claim: "supports" if "Deputy Foreign Minister" in quote else "unrelated"  # noqa: E731
    cut = judged(indexed, [draft(text)], rule)[0].ask(WHO)
    assert Fired("judge_cut", "rewrote", "cut 'He is the ambassador to Tehran.': the judge found no quote that supports it") in cut.trace
    kept = judged(indexed, [draft(text)], rule, rules_off="judge_cut")[0].ask(WHO)
    assert kept.unsupported == () and "ambassador" in kept.text and all(f.rule != "judge_cut" for f in kept.trace)


def test_ask_explain_prints_the_rules_that_fired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"EMBEDDER": "hash", "GENERATOR": "extractive", "MIN_EVIDENCE_SCORE": "0.0", "DATA_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(f"BRIEFQA_{name}", value)
    runner = CliRunner()
    assert runner.invoke(app, ["index", "add", str(ROOT / "briefings")]).exit_code == 0
    out = runner.invoke(app, ["ask", "--explain", CHINA]).output
    assert re.search(r"rules: 1 fired .*\n  question_terms +refused +The briefings never mention China\.", out)
    data = json.loads(runner.invoke(app, ["ask", "--json", "--explain", CHINA]).output)  # still exactly one JSON object
    assert [f["rule"] for f in data["trace"]] == ["question_terms"]
    assert "rules:" not in runner.invoke(app, ["ask", CHINA]).output
