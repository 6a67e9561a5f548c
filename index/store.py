"""The ``Store`` protocol and an in-memory implementation (tests, benchmarks).

A store keeps three kinds of records: articles (with their sentence spans), chunks with
vectors, and sentence vectors. ``add`` writes the article record last and ``remove`` deletes it
first, so a crash in between leaves only orphans that ``repair`` purges — never a listed
article with missing chunks.

>>> import numpy as np
>>> from index.records import Article, Chunk, Sentence
>>> a = Article.create(title="t", text="Hi there.")
>>> s = MemoryStore()
>>> s.add(StoredArticle(a, (Sentence(a.id, 0, 0, 9),), 1), [Chunk(a.id + ":c0", a.id, 0, 9, "Hi there.", (0,))],
...       np.ones((1, 2), np.float32), np.ones((1, 2), np.float32))
>>> [c.id for c, _ in s.query(np.ones(2, np.float32), k=3)] == [a.id + ":c0"]
True
>>> from index.filters import Filters
>>> s.query(np.ones(2, np.float32), k=3, filters=Filters(sources=("Reuters",))), s.matching(Filters(sources=("Reuters",)))
([], set())
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.filters import Filters
from index.records import Article, Chunk, Sentence


@dataclass(frozen=True)
class StoredArticle:
    """An article as the store keeps it: with its sentence spans and its number of chunks."""

    article: Article
    sentences: tuple[Sentence, ...]
    chunks: int


Item = tuple[StoredArticle, Sequence[Chunk], np.ndarray, np.ndarray]
"""One article to store: its entry, its chunks, the chunk vectors and the sentence vectors."""


class Store(Protocol):
    """Persistence for articles, chunk vectors and sentence vectors (see the module docstring).

    ``add_many`` writes several articles with few round trips (every chunk and sentence first,
    the article records last, so a crash leaves only orphans). ``paths`` and ``existing`` answer
    from metadata alone — never loading article texts — so adding files to a large index does not
    read the whole index. ``query`` with ``filters`` searches only the chunks of the articles inside them
    (``matching``: their ids); ``upgrade`` gives an index from before filters the fields they read.
    """

    def add(
        self, entry: StoredArticle, chunks: Sequence[Chunk], chunk_vectors: np.ndarray, sentence_vectors: np.ndarray
    ) -> None: ...
    def add_many(self, items: Sequence[Item]) -> None: ...
    def paths(self, only: Iterable[str] | None = None) -> dict[str, str]: ...
    def existing(self, article_ids: Iterable[str]) -> set[str]: ...
    def remove(self, article_id: str) -> int: ...
    def get(self, article_id: str) -> StoredArticle | None: ...
    def articles(self) -> list[StoredArticle]: ...
    def article_ids(self) -> list[str]: ...
    def chunks(self) -> list[Chunk]: ...
    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]: ...
    def chunks_of(self, article_ids: Iterable[str]) -> list[Chunk]: ...
    def query(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]: ...
    def matching(self, filters: Filters) -> set[str]: ...
    def sentence_vectors(self, sentence_ids: Sequence[str]) -> np.ndarray: ...
    def repair(self) -> int: ...
    def upgrade(self) -> int: ...


class MemoryStore:
    """A ``Store`` in plain Python and numpy; exact cosine search."""

    def __init__(self) -> None:
        self._articles: dict[str, StoredArticle] = {}
        self._chunks: dict[str, tuple[Chunk, np.ndarray]] = {}
        self._sentences: dict[str, np.ndarray] = {}
        self._matrix: tuple[list[Chunk], np.ndarray] | None = None  # stacked chunk vectors, rebuilt after a change

    def add(
        self, entry: StoredArticle, chunks: Sequence[Chunk], chunk_vectors: np.ndarray, sentence_vectors: np.ndarray
    ) -> None:
        self._matrix = None
        for chunk, vec in zip(chunks, chunk_vectors, strict=True):
            self._chunks[chunk.id] = (chunk, np.asarray(vec, np.float32))
        for sent, vec in zip(entry.sentences, sentence_vectors, strict=True):
            self._sentences[sent.id] = np.asarray(vec, np.float32)
        self._articles[entry.article.id] = entry

    def add_many(self, items: Sequence[Item]) -> None:
        for item in items:
            self.add(*item)

    def paths(self, only: Iterable[str] | None = None) -> dict[str, str]:
        """``{path: article_id}`` of the stored articles that have a path (only those in ``only``, if given)."""
        wanted = None if only is None else set(only)
        return {
            e.article.path: aid
            for aid, e in self._articles.items()
            if e.article.path and (wanted is None or e.article.path in wanted)
        }

    def existing(self, article_ids: Iterable[str]) -> set[str]:
        """The ones of ``article_ids`` that are stored."""
        return {a for a in article_ids if a in self._articles}

    def remove(self, article_id: str) -> int:
        self._articles.pop(article_id, None)
        self._matrix = None
        doomed = [cid for cid, (c, _) in self._chunks.items() if c.article_id == article_id]
        for cid in doomed:
            del self._chunks[cid]
        for sid in [s for s in self._sentences if s.startswith(article_id + ":")]:
            del self._sentences[sid]
        return len(doomed)

    def get(self, article_id: str) -> StoredArticle | None:
        return self._articles.get(article_id)

    def articles(self) -> list[StoredArticle]:
        return list(self._articles.values())

    def article_ids(self) -> list[str]:
        return list(self._articles)

    def chunks(self) -> list[Chunk]:
        return [c for c, _ in self._chunks.values()]

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        return [self._chunks[c][0] for c in chunk_ids if c in self._chunks]

    def chunks_of(self, article_ids: Iterable[str]) -> list[Chunk]:
        """Every chunk of ``article_ids``."""
        wanted = set(article_ids)
        return [c for c, _ in self._chunks.values() if c.article_id in wanted]

    def query(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        if not self._chunks:
            return []
        if self._matrix is None:
            self._matrix = ([c for c, _ in self._chunks.values()], np.stack([v for _, v in self._chunks.values()]))
        chunks, matrix = self._matrix
        scores = matrix @ np.asarray(vector, np.float32)
        order = np.argsort(-scores, kind="stable")
        if filters and filters.active:
            inside = self.matching(filters)
            order = np.array([i for i in order if chunks[i].article_id in inside], np.int64)
        return [(chunks[i], float(scores[i])) for i in order[:k]]

    def matching(self, filters: Filters) -> set[str]:
        """The ids of the articles inside ``filters``."""
        return {aid for aid, e in self._articles.items() if filters.matches(e.article.published, e.article.source)}

    def sentence_vectors(self, sentence_ids: Sequence[str]) -> np.ndarray:
        return np.stack([self._sentences[s] for s in sentence_ids]) if sentence_ids else np.zeros((0, 0), np.float32)

    def repair(self) -> int:
        orphans = {c.article_id for c, _ in self._chunks.values()} - set(self._articles)
        for aid in orphans:
            self.remove(aid)
        return len(orphans)

    def upgrade(self) -> int:
        """Nothing to do: filters read the articles themselves."""
        return 0
