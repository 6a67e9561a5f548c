"""Quotes first (qa/choose.py): the checker chooses the answer's quotes before the model writes; fakes, plus one
contract test that the shipped checker and the test scorer behave as a ``Scorer``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.settings import Settings
from index.embed import HashEmbedder
from index.pipeline import Indexer
from index.records import Article, Sentence
from index.store import MemoryStore
from qa.assistant import Assistant
from qa.checker import Checker, CheckerJudge
from qa.choose import NO_ANSWER, CheckerScorer, QuoteChooser, Quoted
from qa.records import Answer, Drafting, Evidence, Reading
from qa.service import make_chooser, open_assistant
from tests.fakes import KeywordScorer, ScriptedGenerator

ROOT = Path(__file__).resolve().parents[1]
ALLY = "Did Russia call Iran an ally?"
WHO = "Who is Sergei Ryabkov?"


@pytest.fixture
def indexed(tmp_path: Path) -> Indexer:
    ix = Indexer(Settings(data_dir=tmp_path, embedder="hash", min_evidence_score=0.0), store=MemoryStore(), embedder=HashEmbedder())
    ix.add([ROOT / "briefings"])
    return ix


def quotes_first(ix: Indexer, scorer: KeywordScorer, outputs: list[str] | None) -> Assistant:
    a = open_assistant(ix.settings, store=ix.store, embedder=ix.embedder, bm25=ix.refresh_bm25(),
                       generator=None if outputs is None else ScriptedGenerator(outputs))
    a.chooser = QuoteChooser(scorer, min_p=0.5, max_quotes=3)
    return a


def verbatim(ix: Indexer, answer: Answer) -> None:
    for c in (*answer.citations, *answer.related):
        assert c.verified and ix.store.get(c.article_id).article.text[c.start : c.end] == c.quote


def test_the_chosen_quotes_come_before_the_answer_and_are_the_answer_without_a_model(indexed: Indexer) -> None:
    items = list(quotes_first(indexed, KeywordScorer(answers=["Ryabkov"]), None).events(WHO))
    kinds = [type(i) for i in items]
    assert kinds == [Reading, Quoted, Answer]
    quoted, answer = items[1], items[2]
    assert quoted.citations and all("Ryabkov" in c.quote for c in quoted.citations)
    assert all(c.support and c.support.label == "supports" and c.support.p == 0.9 for c in quoted.citations)
    assert len(quoted.citations) <= 3 and not answer.refused
    assert [c.quote for c in answer.citations] == [c.quote for c in quoted.citations]
    assert answer.text.startswith("According to the briefings") and "[1]" in answer.text
    verbatim(indexed, answer)


def test_a_yes_no_question_gets_both_sides_first_with_their_stances(indexed: Indexer) -> None:
    scorer = KeywordScorer(yes=["Iranian ally"], no=["not allies", "wouldn't use"])
    answer = quotes_first(indexed, scorer, None).ask(ALLY)
    stances = [c.stance for c in answer.citations]
    assert set(stances[:2]) == {"yes", "no"} and answer.verdict == "mixed"
    assert all(c.support and c.support.side == c.stance and c.support.p_side for c in answer.citations)
    assert "Yes:" in answer.text and "No:" in answer.text
    verbatim(indexed, answer)


def test_no_sentence_answering_is_a_refusal_with_the_closest_passages(indexed: Indexer) -> None:
    items = list(quotes_first(indexed, KeywordScorer(answers=["zzz"]), ["never called"]).events(WHO))
    assert isinstance(items[1], Quoted) and items[1].refusal == NO_ANSWER and not items[1].citations
    answer = items[-1]
    assert answer.refused and NO_ANSWER in answer.text and answer.related
    verbatim(indexed, answer)


def test_the_model_writes_over_the_chosen_quotes_only(indexed: Indexer) -> None:
    gen_reply = json.dumps({"answerable": True, "answer": "Sergei Ryabkov [S{n}].", "verdict": "n/a"})
    probe = quotes_first(indexed, KeywordScorer(answers=["not allies"]), None)
    chosen = next(i for i in probe.events(WHO) if isinstance(i, Quoted))
    a = quotes_first(indexed, KeywordScorer(answers=["not allies"]), [gen_reply.replace("{n}", str(chosen.evidence[0].n))])
    items = list(a.events(WHO))
    assert [type(i) for i in items][:2] == [Reading, Quoted] and any(isinstance(i, Drafting) for i in items)
    prompt = a.generator.calls[0][-1].content  # type: ignore[union-attr]
    shown = [line for line in prompt.splitlines() if line.startswith("[S")]
    assert len(shown) == len(chosen.evidence) and all("not allies" in line for line in shown)
    answer = items[-1]
    assert not answer.refused and answer.citations and "not allies" in answer.citations[0].quote
    verbatim(indexed, answer)


def test_a_sentence_two_articles_share_is_quoted_once_and_max_quotes_holds() -> None:
    same = "The bridge reopened in May."
    arts = [Article.create(title=f"Bridge {i}", text=f"{same} Story {i}.", source=f"Outlet {i}") for i in range(3)]
    other = Article.create(title="Roads", text="The bridge reopened in May after repairs.", source="Herald")
    evidence = [Evidence(i + 1, a, Sentence(a.id, 0, 0, len(same)), 0.8) for i, a in enumerate(arts)]
    evidence.append(Evidence(4, other, Sentence(other.id, 0, 0, len(other.text)), 0.7))
    quoted = QuoteChooser(KeywordScorer(answers=["reopened"]), min_p=0.5, max_quotes=4).choose("When did the bridge reopen?", evidence)
    assert [c.quote for c in quoted.citations] == [same, other.text] and [c.n for c in quoted.citations] == [1, 2]
    assert len(QuoteChooser(KeywordScorer(answers=["reopened"]), min_p=0.5, max_quotes=1).choose("When?", evidence).citations) == 1


def test_settings_switch_the_order_and_only_quotes_first_loads_the_checker() -> None:
    assert make_chooser(Settings(answer_order="llm_first")) is None
    chooser = make_chooser(Settings(answer_order="quotes_first", quote_min_p=0.7, max_quotes=2))
    assert chooser is not None and (chooser.min_p, chooser.max_quotes) == (0.7, 2)


@pytest.mark.parametrize("make", [lambda: KeywordScorer(answers=["Ryabkov"], yes=["ally"]), lambda: CheckerScorer(CheckerJudge(Checker.load()))],
                         ids=["keyword-fake", "shipped-checker"])
def test_scorer_contract(indexed: Indexer, make) -> None:  # noqa: ANN001
    """Every Scorer: one p in [0, 1] per sentence for wh-questions, one (side, p) per sentence for yes/no ones."""
    scorer = make()
    evidence = open_assistant(indexed.settings, store=indexed.store, embedder=indexed.embedder, bm25=indexed.refresh_bm25(),
                              generator=None).retriever.retrieve(ALLY).evidence
    ps = scorer.answers(WHO, [e.text for e in evidence])
    assert len(ps) == len(evidence) and all(0.0 <= p <= 1.0 for p in ps)
    assert scorer.answers(WHO, []) == []
    sides = scorer.sides(ALLY, evidence)
    assert len(sides) == len(evidence) and all(s in ("yes", "no", "neither") and 0.0 <= p <= 1.0 for s, p in sides)
