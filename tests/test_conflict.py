"""Conflicting copies of a statement, and the number gate, through the answer pipeline with fakes."""

from __future__ import annotations

import json
from pathlib import Path

from index.embed import HashEmbedder
from index.pipeline import Indexer
from core.settings import Settings
from index.store import MemoryStore
from qa.assistant import Assistant
from qa.service import open_assistant
from qa.conflict import value_changes
from qa.refusal import missing_numbers
from tests.fakes import ScriptedGenerator
from qa.records import Answer

TRUE = "WhatsApp was acquired by Facebook in February 2014 for about 19 billion dollars."
FAKE = "WhatsApp was acquired by Apple in February 2014 for about 19 billion dollars."


def _assistant(tmp_path: Path, texts: list[str], outputs: list[str]) -> tuple[Indexer, Assistant]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"title": f"Copy {i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    settings = Settings(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0)
    ix = Indexer(settings, store=MemoryStore(), embedder=HashEmbedder())
    ix.add([feed])
    return ix, open_assistant(settings, store=ix.store, embedder=ix.embedder, bm25=ix.bm25, generator=ScriptedGenerator(outputs))


def _number(a: Assistant, question: str, needle: str) -> int:
    return next(ev.n for ev in a.retriever.retrieve(question).evidence if needle in ev.text)


def _drafted(tmp_path: Path, texts: list[str], question: str, needle: str, draft: str, min_evidence_score: float = 0.0) -> tuple[Indexer, Answer]:
    """Ask ``question`` with a scripted answerable draft; "{n}" in ``draft`` is the evidence number of
    the sentence holding ``needle`` (found by a probe over the same texts)."""
    _, probe = _assistant(tmp_path / "probe", texts, [])
    n = _number(probe, question, needle)
    ix, a = _assistant(tmp_path / "ask", texts, [json.dumps({"answerable": True, "answer": draft.format(n=n), "verdict": "n/a"})])
    a.settings = a.settings.model_copy(update={"min_evidence_score": min_evidence_score})
    return ix, a.ask(question)


def test_value_changes_needs_a_replaced_value_in_a_near_copy() -> None:
    assert [(TRUE[s:e], FAKE[t:u]) for s, e, t, u in value_changes(TRUE, FAKE)] == [("Facebook", "Apple")]
    assert value_changes(TRUE, TRUE.replace("about", "roughly")) == []  # an ordinary word: not a value
    assert value_changes(TRUE, "Apple makes phones in California and sells them worldwide.") == []
    assert value_changes("It cost 19 dollars.", "It cost 91 dollars.") != []


def test_a_cited_sentence_with_a_conflicting_copy_gives_both_values_and_verdict_mixed(tmp_path: Path) -> None:
    ix, answer = _drafted(tmp_path, [TRUE, FAKE], "Who acquired WhatsApp?", "Facebook", "Facebook [S{n}].")
    assert answer.verdict == "mixed" and not answer.refused
    assert answer.text.startswith("The briefings disagree: “Facebook” [1] or “Apple” [2].")
    assert {c.quote for c in answer.citations} == {TRUE, FAKE}
    for c in answer.citations:
        assert ix.store.get(c.article_id).article.text[c.start : c.end] == c.quote


def test_no_conflict_keeps_the_answer_supported(tmp_path: Path) -> None:
    _, answer = _drafted(tmp_path, [TRUE, "Instagram was bought in 2012."], "Who acquired WhatsApp?", "Facebook", "Facebook [S{n}].")
    assert answer.verdict == "supported" and "disagree" not in answer.text


def test_a_year_the_cited_article_never_mentions_is_refused(tmp_path: Path) -> None:
    texts = ["Wimbledon 2019 women's singles: Serena Williams and Johanna Konta.", "The 2018 season ended early."]
    _, answer = _drafted(tmp_path, texts, "Who won the women's singles at Wimbledon in 2018?", "Serena", "Serena Williams [S{n}].")
    assert answer.refused and "2018" in answer.text


def test_missing_numbers_matches_whole_numbers_only() -> None:
    assert missing_numbers("What happened in 2018?", "In 2018, it rained.") == []
    assert missing_numbers("What happened in 2018?", "In 20180 it rained, and in 12018.") == ["2018"]
    assert missing_numbers("Season 4?", "season 4.5 starts") == ["4"]
    assert missing_numbers("No numbers here?", "") == []


def test_a_figure_no_cited_article_states_makes_the_draft_a_refusal(tmp_path: Path) -> None:
    texts = ["Honda has spent years developing the Asimo robot.", "Sony sold 100 robots."]
    _, answer = _drafted(tmp_path, texts, "How much did Honda spend developing Asimo?", "Honda", "$10 million [S{n}].")
    assert answer.refused and "10" in answer.text


def test_a_what_did_x_say_answer_quotes_x_not_a_bystander(tmp_path: Path) -> None:
    texts = ['"We will strike," Janet Cole said. Alan Brennan spoke at the plant.', '"The ballot is fair," Alan Brennan said.']
    q = "What did Alan Brennan say about the ballot?"
    _, answer = _drafted(tmp_path, texts, q, "We will strike", "He said they will strike [S{n}].")
    assert not answer.refused and answer.text.startswith("Alan Brennan said: [1]")
    assert [c.quote for c in answer.citations] == ['"The ballot is fair," Alan Brennan said.']
    assert any("own statements" in note for note in answer.notes)
    only_cole = [texts[0]]
    _, b = _assistant(tmp_path / "b", only_cole, [json.dumps({"answerable": True, "answer": "He said they will strike [S1].", "verdict": "n/a"})])
    assert b.ask(q).refused  # Brennan is mentioned but never speaks: refused before the model


def test_a_named_question_is_not_refused_for_a_low_cosine_when_a_sentence_names_everyone(tmp_path: Path) -> None:
    texts = ["Tom Reyes, who has run the harbour office for twelve years after a long career at sea, retired."]
    settings_floor = 0.99  # every sentence is "loosely related" at this floor
    _, answer = _drafted(tmp_path, texts, "Who is Tom Reyes?", "Reyes", "He ran the harbour office [S{n}].", settings_floor)
    assert not answer.refused
    _, b = _assistant(tmp_path / "b", texts, [])
    b.settings = b.settings.model_copy(update={"min_evidence_score": settings_floor})
    assert b.ask("What does the harbour office do?").refused


def test_how_many_n_needs_a_cited_sentence_that_mentions_n(tmp_path: Path) -> None:
    texts = ["The barrier will protect 3,200 homes in the lower town.", "The lower town flooded twice."]
    _, answer = _drafted(tmp_path, texts, "How many people live in the lower town?", "3,200", "3,200 homes [S{n}].")
    assert answer.refused and "people" in answer.text
