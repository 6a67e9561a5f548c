"""Date and source filters inside retrieval (issue 14 part 2): in-memory and Chroma-backed, with the hash embedder
and the extractive or a scripted generator (no model)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from core.errors import BriefQAError
from core.settings import Settings
from index.embed import HashEmbedder
from index.filters import Filters
from index.pipeline import Indexer
from index.store import MemoryStore
from qa.assistant import Assistant
from qa.records import Answer
from qa.service import open_assistant, open_indexer
from tests.fakes import ScriptedGenerator

FERRY = "What did the port authority say about the ferry strike at the harbour?"
# Reuters, in January, says the most about the ferry strike: unfiltered, its articles fill the whole evidence budget
LOUD = [
    "The ferry strike at the harbour shut the port, the port authority said on {d}. "
    "The port authority said the ferry strike at the harbour would go on. "
    "Ferry crews at the harbour joined the strike, the port authority said. "
    "The port authority said ferry passengers at the harbour should wait. "
    "The harbour ferry strike cost the port millions, the port authority said.",
]
# the BBC, in February, mentions it more briefly, in enough sentences to fill the budget by itself
QUIET = (
    "The port authority said talks on the ferry strike would resume on {d}. "
    "Officials met union leaders near the harbour. A spokesman said the ferry timetable was under review. "
    "Shops near the harbour stayed open. The port authority said it hoped to restart some ferry routes soon."
)
OKONKWO = "Harbour master Ada Okonkwo said the ferry strike was the longest in a decade."


def corpus(path: Path) -> Path:
    rows = [{"title": f"Strike day {i}", "text": LOUD[0].format(d=f"January {i}") + f" Report {i}.", "source": "Reuters",
             "published": f"2026-01-{i:02d}"} for i in range(1, 7)]
    rows += [{"title": f"Talks {i}", "text": QUIET.format(d=f"February {i}") + f" Note {i}.", "source": "BBC News",
              "published": f"2026-02-{10 + i:02d}"} for i in range(1, 4)]
    rows.append({"title": "The harbour master", "text": OKONKWO + " Crews said they would hold out.", "source": "Reuters",
                 "published": "2026-01-20"})
    rows.append({"title": "Undated ferry note", "text": "The ferry strike at the harbour continued, the port authority said.",
                 "source": "BBC News"})
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


@pytest.fixture(params=["memory", "chroma"])
def indexer(request: pytest.FixtureRequest, tmp_path: Path) -> Indexer:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0)
    ix = Indexer(settings, store=MemoryStore(), embedder=HashEmbedder()) if request.param == "memory" else open_indexer(settings)
    assert all(r.status == "added" for r in ix.add([corpus(tmp_path / "c.jsonl")]))
    return ix


def assistant(ix: Indexer, outputs: list[str] | None = None) -> Assistant:
    gen = ScriptedGenerator(outputs) if outputs is not None else None
    return open_assistant(ix.settings, store=ix.store, embedder=ix.embedder, bm25=ix.refresh_bm25(), generator=gen)


def inside(ix: Indexer, article_id: str, f: Filters) -> bool:
    a = ix.store.get(article_id).article
    return f.matches(a.published, a.source)


BBC_FEB = Filters(since=dt.date(2026, 2, 1), until=dt.date(2026, 2, 28), sources=("bbc news",))


def test_a_narrow_filter_still_fills_the_evidence_budget_from_inside_it(indexer: Indexer) -> None:
    a = assistant(indexer)
    budget = indexer.settings.evidence_sentences
    unfiltered = a.retriever.retrieve(FERRY).evidence
    assert len(unfiltered) == budget
    assert not any(inside(indexer, e.article.id, BBC_FEB) for e in unfiltered)  # dropping afterwards would leave none
    filtered = a.retriever.retrieve(FERRY, BBC_FEB)
    assert len(filtered.evidence) == budget
    assert all(inside(indexer, e.article.id, BBC_FEB) for e in filtered.evidence)
    assert all(inside(indexer, p.chunk.article_id, BBC_FEB) for p in filtered.passages)


def test_every_citation_of_a_filtered_answer_lies_inside_the_filter(indexer: Indexer) -> None:
    answer = assistant(indexer).ask(FERRY, filters=BBC_FEB)
    assert not answer.refused and answer.citations
    for c in (*answer.citations, *answer.related):
        assert inside(indexer, c.article_id, BBC_FEB) and c.source == "BBC News" and "2026-02-01" <= c.published <= "2026-02-28"
        assert indexer.store.get(c.article_id).article.text[c.start : c.end] == c.quote


def test_a_scripted_model_citing_every_sentence_only_cites_inside_the_filter(indexer: Indexer) -> None:
    draft = json.dumps({"answerable": True, "answer": "Talks resume [S1] [S2] [S3] [S4] [S5] [S6] [S7] [S8].", "verdict": "n/a"})
    answer = assistant(indexer, [draft]).ask(FERRY, filters=BBC_FEB)
    assert answer.citations and all(inside(indexer, c.article_id, BBC_FEB) for c in (*answer.citations, *answer.related))


def test_a_question_answered_only_outside_the_filter_is_refused(indexer: Indexer) -> None:
    question = "What did Ada Okonkwo say about the ferry strike?"
    a = assistant(indexer)
    assert any("Okonkwo" in c.quote for c in a.ask(question).citations)
    for f in (Filters(sources=("BBC News",)), Filters(since=dt.date(2026, 2, 1)), Filters(until=dt.date(2026, 1, 19))):
        answer = a.ask(question, filters=f)
        assert answer.refused and answer.verdict == "not_found" and not answer.citations
        assert all(inside(indexer, c.article_id, f) for c in answer.related)


def test_bounds_are_inclusive_sources_case_insensitive_and_undated_articles_excluded_by_a_date(indexer: Indexer) -> None:
    store = indexer.store
    titles = lambda f: sorted(store.get(a).article.title for a in store.matching(f))  # noqa: E731
    assert titles(Filters(since=dt.date(2026, 1, 6), until=dt.date(2026, 2, 11))) == ["Strike day 6", "Talks 1", "The harbour master"]
    assert "Undated ferry note" in titles(Filters(sources=("BBC NEWS",)))
    assert "Undated ferry note" not in titles(Filters(since=dt.date(2000, 1, 1), sources=("BBC NEWS",)))
    assert titles(Filters(sources=("BBC",))) == []  # exact outlet names, not substrings
    assert assistant(indexer).retriever.retrieve(FERRY, Filters(sources=("Nobody",))).evidence == ()


def test_bad_dates_are_one_line_errors() -> None:
    with pytest.raises(BriefQAError, match="--since '2026-13-01' is not a date"):
        Filters.parse("2026-13-01")
    with pytest.raises(BriefQAError, match="after --until"):
        Filters.parse("2026-02-01", "2026-01-01")
    assert Filters.parse(" 2026-01-01 ", "", ["Reuters", " "]) == Filters(dt.date(2026, 1, 1), None, ("Reuters",))


def test_an_index_from_before_filters_is_filtered_by_article_and_upgraded_by_the_next_writer(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0)
    ix = open_indexer(settings)
    ix.add([corpus(tmp_path / "c.jsonl")])
    store = ix.store
    for col in (store._articles, store._chunks):  # what an index built before filters holds: no day / source_key
        got = col.get(include=["metadatas"])
        col.update(ids=got["ids"], metadatas=[{**m, "day": None, "source_key": None} for m in got["metadatas"]])
    store._chunks.modify(metadata={k: v for k, v in store._chunks.metadata.items() if k != "filter_fields"})
    assert not store.filter_fields and "day" not in store._chunks.get(include=["metadatas"])["metadatas"][0]
    old = assistant(ix).retriever.retrieve(FERRY, BBC_FEB).evidence
    assert len(old) == settings.evidence_sentences and all(inside(ix, e.article.id, BBC_FEB) for e in old)
    assert store.upgrade() == len(store.article_ids()) and store.filter_fields
    assert [e.sentence.id for e in assistant(ix).retriever.retrieve(FERRY, BBC_FEB).evidence] == [e.sentence.id for e in old]


def test_ask_and_the_service_take_filters(tmp_path: Path) -> None:
    from qa import Filters as Exported, ask, ask_stream
    from qa.service import BriefingService

    assert Exported is Filters
    settings = Settings(data_dir=tmp_path / "data", embedder="hash", generator="extractive", min_evidence_score=0.0)
    open_indexer(settings).add([corpus(tmp_path / "c.jsonl")])
    answers = [ask(FERRY, settings=settings, filters=BBC_FEB), list(ask_stream(FERRY, settings=settings, filters=BBC_FEB))[-1]]
    svc = BriefingService(settings.model_copy(update={"data_dir": tmp_path / "svc"}), generator=None)
    svc.add([tmp_path / "c.jsonl"])
    assert svc.sources() == ["BBC News", "Reuters"]
    answers += [svc.ask(FERRY, filters=BBC_FEB), list(svc.ask_stream(FERRY, filters=BBC_FEB))[-1]]
    for answer in answers:
        assert isinstance(answer, Answer) and answer.citations and all(c.source == "BBC News" for c in answer.citations)
