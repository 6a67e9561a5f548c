"""The answering pipeline with fakes: hash embedder, in-memory store, scripted generator."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from index.embed import HashEmbedder
from core.errors import BriefQAError
from index.pipeline import Indexer
from core.settings import Settings
from index.store import MemoryStore
from qa.assistant import Assistant
from qa.service import open_assistant
from tests.fakes import ScriptedGenerator
from qa.records import Answer, answer_json

ROOT = Path(__file__).resolve().parents[1]
ALLY = "Did Russia call Iran an ally?"


@pytest.fixture
def indexed(tmp_path: Path) -> Indexer:
    settings = Settings(data_dir=tmp_path, embedder="hash", min_evidence_score=0.0)
    ix = Indexer(settings, store=MemoryStore(), embedder=HashEmbedder())
    ix.add([ROOT / "briefings"])
    return ix


def assistant(ix: Indexer, outputs: list[str] | None) -> Assistant:
    gen = ScriptedGenerator(outputs) if outputs is not None else None
    return open_assistant(ix.settings, store=ix.store, embedder=ix.embedder, bm25=ix.refresh_bm25(), generator=gen)


def evidence_number(a: Assistant, question: str, needle: str) -> int:
    for ev in a.retriever.retrieve(question).evidence:
        if needle in ev.text:
            return ev.n
    raise AssertionError(f"{needle!r} not in the evidence")


def draft(answer: str, answerable: bool = True, verdict: str = "n/a") -> str:
    return json.dumps({"answerable": answerable, "answer": answer, "verdict": verdict})


def assert_quotes_verbatim(ix: Indexer, answer: Answer) -> None:
    for c in (*answer.citations, *answer.related):
        assert c.verified
        assert ix.store.get(c.article_id).article.text[c.start : c.end] == c.quote


def test_cited_ids_become_verified_quotes_with_speakers(indexed: Indexer) -> None:
    probe = assistant(indexed, [])
    n = evidence_number(probe, ALLY, "not allies in Syria")
    a = assistant(indexed, [draft(f"Ryabkov said they are not allies [S{n}].", verdict="no")])
    answer = a.ask(ALLY)
    assert not answer.refused
    ryabkov = [c for c in answer.citations if "not allies in Syria" in c.quote]
    assert ryabkov and ryabkov[0].speaker == "Sergei Ryabkov" and ryabkov[0].stance == "no"
    assert f"No: Sergei Ryabkov (Deputy Foreign Minister) [{ryabkov[0].n}]" in answer.text
    assert_quotes_verbatim(indexed, answer)


def test_one_sided_draft_gets_the_other_side(indexed: Indexer) -> None:
    probe = assistant(indexed, [])
    n = evidence_number(probe, ALLY, "not allies in Syria")
    answer = assistant(indexed, [draft(f"No [S{n}].", verdict="no")]).ask(ALLY)
    stances = {c.stance for c in answer.citations}
    if {"yes"} & stances:  # the opposite view was in the evidence: it must be shown, and the verdict says so
        assert answer.verdict == "mixed" and answer.text.startswith("The briefings disagree.") and "Yes:" in answer.text
    else:
        assert answer.verdict == "contradicted" and answer.text.startswith("No, according to the briefings.")
    assert_quotes_verbatim(indexed, answer)


def test_model_refusal_is_a_refusal_with_related_passages(indexed: Indexer) -> None:
    answer = assistant(indexed, [draft("", answerable=False)]).ask("What did Ryabkov say about oil exports from Syria?")
    assert answer.refused and answer.verdict == "not_found" and not answer.citations
    assert answer.text.startswith("The briefings don't say.")
    assert answer.related
    assert_quotes_verbatim(indexed, answer)


def test_invented_ids_only_means_refusal(indexed: Indexer) -> None:
    answer = assistant(indexed, [draft("Yes, Russia called Iran an ally [S99].", verdict="yes")]).ask(ALLY)
    assert answer.refused and not answer.citations
    assert any("S99" in n for n in answer.notes)


def test_absent_names_are_refused_without_the_model(indexed: Indexer) -> None:
    a = assistant(indexed, [])
    answer = a.ask("How much oil does Iran export to China?")
    assert answer.refused and "China" in answer.text
    assert a.generator.calls == []


def test_statement_questions_need_that_speaker(indexed: Indexer) -> None:
    a = assistant(indexed, [])
    answer = a.ask("What did Vladimir Putin say about the Israeli strikes?")
    assert answer.refused and "Vladimir Putin" in answer.text
    assert a.generator.calls == []


def test_stream_yields_growing_text_then_the_answer(indexed: Indexer) -> None:
    probe = assistant(indexed, [])
    n = evidence_number(probe, "Who is Sergei Ryabkov?", "Deputy Foreign Minister Sergei Ryabkov")
    items = list(assistant(indexed, [draft(f"Russia's Deputy Foreign Minister [S{n}].")]).ask_stream("Who is Sergei Ryabkov?"))
    assert isinstance(items[-1], Answer) and all(isinstance(i, str) for i in items[:-1])
    assert items[-2] == items[-1].text


def test_extractive_mode_needs_no_model(indexed: Indexer) -> None:
    answer = assistant(indexed, None).ask(ALLY)
    assert not answer.refused and answer.citations
    assert_quotes_verbatim(indexed, answer)


def test_follow_up_is_rewritten(indexed: Indexer) -> None:
    answer = assistant(indexed, None).ask("What did the ambassador say?", history=[(ALLY, "Both sides.")])
    assert answer.standalone_question == f"What did the ambassador say? (follow-up to: {ALLY})"


@pytest.mark.parametrize("question", ["", "   ", "?!"])
def test_empty_question_is_a_clear_error(indexed: Indexer, question: str) -> None:
    with pytest.raises(BriefQAError, match="empty"):
        assistant(indexed, []).ask(question)


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BriefQAError, match="no index"):
        open_assistant(Settings(data_dir=tmp_path / "none", embedder="hash"), generator=None)


def test_a_clearly_better_uncited_sentence_is_shown_too() -> None:
    from index.records import Article
    from index.sentences import sentences_of
    from qa.compose import with_closest
    from qa.cite import resolve
    from qa.records import Evidence

    text = "Russia moved Iranian forces 85 kilometers from the border. Officials met in Tehran."
    article = Article.create(title="t", text=text)
    s1, s2 = sentences_of(article.id, text)
    evidence = [Evidence(1, article, s1, 0.70), Evidence(2, article, s2, 0.50)]
    out = with_closest(resolve("The sources disagree: officials met in Tehran [S2].", evidence), evidence)
    assert out.text == "Officials met in Tehran [1]. Closest passage: the article [2]."
    assert [c.quote for c in out.citations] == [text[s2.start : s2.end], text[s1.start : s1.end]]
    close = [Evidence(1, article, s1, 0.55), Evidence(2, article, s2, 0.50)]
    assert len(with_closest(resolve("Officials met [S2].", close), close).citations) == 1


def test_punctuation_only_follow_up_is_still_empty(indexed: Indexer) -> None:
    with pytest.raises(BriefQAError, match="empty"):
        assistant(indexed, []).ask("?", history=[(ALLY, "Both sides.")])


def test_quotes_say_how_the_speaker_is_given_and_the_outlet_speaks_for_the_article(indexed: Indexer) -> None:
    probe = assistant(indexed, [])
    n = evidence_number(probe, ALLY, "not allies in Syria")
    answer = assistant(indexed, [draft(f"Ryabkov said they are not allies [S{n}].", verdict="no")]).ask(ALLY)
    ryabkov = next(c for c in answer.citations if "not allies in Syria" in c.quote)
    assert ryabkov.speech in ("direct", "reported")
    assert ryabkov.attribution.startswith("Sergei Ryabkov") and ryabkov.attribution.endswith(("(quoted)", "(reported)"))
    assert json.loads(json.dumps(answer_json(answer)))["citations"][0]["speech"] in ("direct", "reported", None)
    own = replace(ryabkov, speaker=None, role=None, speech=None, source="Al-Monitor")
    assert own.attribution == "Al-Monitor (article text)"


def test_events_yield_the_briefings_read_before_any_text(indexed) -> None:
    """``events`` starts with a ``Reading`` (the evidence's articles), then the same items as ``ask_stream``."""
    from qa.records import Reading
    items = list(assistant(indexed, [draft("Russia's Deputy Foreign Minister [S1].")]).events("Who is Sergei Ryabkov?"))
    first = items[0]
    assert isinstance(first, Reading) and first.articles and first.retrieve_s >= 0
    assert not any(isinstance(i, Reading) for i in items[1:]) and isinstance(items[-1], Answer)


def test_a_passage_giving_the_questions_year_is_cited_beside_one_that_drops_it() -> None:
    from index.records import Article
    from index.sentences import sentences_of
    from qa.cite import resolve
    from qa.compose import cite_terms
    from qa.records import Evidence

    def one(n: int, text: str, cosine: float) -> Evidence:
        article = Article.create(title=f"t{n}", text=text)
        return Evidence(n, article, sentences_of(article.id, text)[0], cosine)

    dropped = one(1, "Norway won the most medals at the Winter Olympics.", 0.8)
    stated = one(2, "Norway won 39 medals at the 2018 Winter Olympics, the most of any country.", 0.6)
    other = one(3, "Canada hosted the 2018 Winter Olympics curling final.", 0.7)
    question = "Which country won the most medals at the 2018 Winter Olympics?"
    out = cite_terms(question, resolve("Norway won the most medals [S1].", [dropped, stated, other]), [dropped, stated, other])
    assert out.text == "Norway won the most medals [1][2]."
    assert [c.quote for c in out.citations] == [dropped.text, stated.text] and all(c.verified for c in out.citations)
    assert "2018" in out.notes[-1]
    # no sentence of an article with the year states the answer: nothing is added (the refusal rule then acts)
    alone = cite_terms(question, resolve("Norway won the most medals [S1].", [dropped, other]), [dropped, other])
    assert alone.text == "Norway won the most medals [1]." and len(alone.citations) == 1


def test_a_name_no_cited_article_gives_is_not_borrowed_from_another_article() -> None:
    from index.records import Article
    from index.sentences import sentences_of
    from qa.cite import resolve
    from qa.compose import cite_terms
    from qa.records import Evidence

    def one(n: int, text: str) -> Evidence:
        article = Article.create(title=f"t{n}", text=text)
        return Evidence(n, article, sentences_of(article.id, text)[0], 0.7)

    evidence = [one(1, "The minister said the talks will resume in May."), one(2, "Putin said the talks will resume in May.")]
    out = cite_terms("What did Putin say about the talks?", resolve("The talks will resume in May [S1].", evidence), evidence)
    assert len(out.citations) == 1  # the refusal rule decides: the cited article never names Putin
