"""The contract every ``Store`` implementation passes: in-memory, embedded Chroma, and a real Chroma server
(``chroma run`` on loopback, started by the ``chroma_server`` fixture in conftest.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from index.chroma_store import ChromaStore
from index.chunk import chunk_article
from index.embed import HashEmbedder
from index.filters import Filters
from core.errors import BriefQAError
from index.records import Article
from index.sentences import sentences_of
from index.store import MemoryStore, Store, StoredArticle

EMB = HashEmbedder()


def make_entry(text: str, title: str = "t", **meta: str) -> tuple[StoredArticle, list, np.ndarray, np.ndarray]:
    article = Article.create(title=title, text=text, path=f"{title}.txt", **meta)
    sentences = tuple(sentences_of(article.id, article.text))
    chunks = chunk_article(article, sentences, max_words=12, overlap=1)
    sent_vecs = EMB.embed([article.text[s.start : s.end] for s in sentences])
    chunk_vecs = EMB.embed([c.text for c in chunks])
    return StoredArticle(article, sentences, len(chunks)), chunks, chunk_vecs, sent_vecs


ALLY = "Russia and Iran are not allies in Syria, Ryabkov said. The ambassador called the alliance strong. Talks go on."
OIL = "Oil prices rose sharply on Monday. Traders blamed the cold weather. Stocks fell."


@pytest.fixture(params=["memory", "chroma", "chroma-server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return MemoryStore()
    if request.param == "chroma":
        return ChromaStore.open(tmp_path / "chroma", EMB.name)
    return ChromaStore.connect(request.getfixturevalue("chroma_url"), EMB.name)


@pytest.fixture(params=["chroma", "chroma-server"])
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], ChromaStore]:
    """Opens the same Chroma store again (a new client each time for the embedded one)."""
    if request.param == "chroma":
        return lambda embedder: ChromaStore.open(tmp_path / "c", embedder)
    url = request.getfixturevalue("chroma_url")
    return lambda embedder: ChromaStore.connect(url, embedder)


def test_add_then_read_back(store: Store) -> None:
    entry, chunks, cv, sv = make_entry(ALLY, "ally")
    store.add(entry, chunks, cv, sv)
    got = store.get(entry.article.id)
    assert got == entry
    assert store.article_ids() == [entry.article.id]
    assert sorted(c.id for c in store.chunks()) == sorted(c.id for c in chunks)
    assert store.get_chunks([chunks[-1].id, "missing"]) == [chunks[-1]]
    vecs = store.sentence_vectors([s.id for s in entry.sentences])
    assert np.allclose(vecs, sv, atol=1e-6)


def test_query_ranks_the_matching_article_first(store: Store) -> None:
    for text, title in ((ALLY, "ally"), (OIL, "oil")):
        store.add(*make_entry(text, title))
    hits = store.query(EMB.embed(["oil prices traders"])[0], k=3)
    assert hits and store.get(hits[0][0].article_id).article.title == "oil"
    assert all(-1.0 - 1e-6 <= s <= 1.0 + 1e-6 for _, s in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_remove_deletes_every_chunk_and_sentence(store: Store) -> None:
    ally, oil = make_entry(ALLY, "ally"), make_entry(OIL, "oil")
    store.add(*ally)
    store.add(*oil)
    removed = store.remove(ally[0].article.id)
    assert removed == len(ally[1])
    assert store.get(ally[0].article.id) is None
    assert {c.article_id for c in store.chunks()} == {oil[0].article.id}
    assert all(c.article_id == oil[0].article.id for c, _ in store.query(EMB.embed(["Russia allies"])[0], k=10))


def test_empty_store_answers_empty(store: Store) -> None:
    assert store.query(EMB.embed(["anything"])[0], k=5) == []
    assert store.articles() == [] and store.chunks() == [] and store.repair() == 0


def test_repair_purges_chunks_of_an_uncommitted_article(store: Store) -> None:
    entry, chunks, cv, sv = make_entry(ALLY, "ally")
    store.add(entry, chunks, cv, sv)
    # simulate a crash after the chunks were written but before the article record (written last)
    if isinstance(store, MemoryStore):
        del store._articles[entry.article.id]
    else:
        store._articles.delete(ids=[entry.article.id])
    assert store.repair() == 1
    assert store.chunks() == [] and store.article_ids() == []


def test_chroma_refuses_another_embedder(reopen: Callable[[str], ChromaStore]) -> None:
    reopen("hash-384")
    with pytest.raises(BriefQAError, match="embedder"):
        reopen("all-MiniLM-L6-v2")


def test_chroma_persists_across_reopen(reopen: Callable[[str], ChromaStore]) -> None:
    entry, chunks, cv, sv = make_entry(ALLY, "ally")
    reopen(EMB.name).add(entry, chunks, cv, sv)
    assert reopen(EMB.name).get(entry.article.id) == entry


def test_add_many_then_paths_and_existing_from_metadata(store: Store) -> None:
    ally, oil = make_entry(ALLY, "ally"), make_entry(OIL, "oil")
    store.add_many([ally, oil])
    a, o = ally[0].article.id, oil[0].article.id
    assert sorted(store.article_ids()) == sorted([a, o]) and store.get(o) == oil[0]
    assert sorted(c.id for c in store.chunks()) == sorted(c.id for c in [*ally[1], *oil[1]])
    assert np.allclose(store.sentence_vectors([s.id for s in oil[0].sentences]), oil[3], atol=1e-6)
    assert store.paths() == {"ally.txt": a, "oil.txt": o}
    assert store.paths(["oil.txt", "missing.txt"]) == {"oil.txt": o} and store.paths([]) == {}
    assert store.existing([a, "0" * 16]) == {a} and store.existing([]) == set()
    store.remove(a)
    assert store.paths() == {"oil.txt": o} and store.existing([a, o]) == {o}


def test_query_with_filters_searches_only_the_articles_inside_them(store: Store) -> None:
    ally = make_entry(ALLY, "ally", source="BBC News", published="2026-01-05")
    oil = make_entry(OIL, "oil", source="Reuters", published="2026-02-01")
    undated = make_entry("Oil prices and traders were in the news again. Nothing else.", "undated", source="Reuters")
    store.add_many([ally, oil, undated])
    ids = {e.article.title: e.article.id for e, _, _, _ in (ally, oil, undated)}
    query = EMB.embed(["oil prices traders"])[0]
    cases = [
        (Filters(sources=("bbc NEWS",)), {"ally"}),
        (Filters(sources=("Reuters", "BBC News")), {"ally", "oil", "undated"}),
        (Filters(since=dt.date(2026, 2, 1)), {"oil"}),  # bounds inclusive; undated articles are outside any date range
        (Filters(until=dt.date(2026, 1, 31), sources=("Reuters",)), set()),
        (Filters(), {"ally", "oil", "undated"}),
    ]
    for f, expected in cases:
        if f.active:
            assert store.matching(f) == {ids[t] for t in expected}, f
        hits = store.query(query, k=10, filters=f)
        assert {c.article_id for c, _ in hits} == {ids[t] for t in expected}, f
    ally_only = store.query(query, k=2, filters=Filters(sources=("BBC News",)))
    assert len(ally_only) == 2  # k chunks from inside the filter, although the oil articles match the query better
