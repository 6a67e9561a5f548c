"""Hybrid retrieval: dense + BM25 over chunks, reciprocal rank fusion, diversity across
articles, then sentence-level evidence selection.

>>> from index.embed import HashEmbedder
>>> from index.store import MemoryStore
>>> from index.bm25 import BM25Index
>>> r = Retriever(MemoryStore(), HashEmbedder(), BM25Index.build([]), top_chunks=4, per_article=2, evidence=6)
>>> r.retrieve("Did Russia call Iran an ally?").evidence
()
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.bm25 import BM25Index, has_word, tokenize
from index.embed import Embedder
from index.records import Chunk
from index.store import Store, StoredArticle
from qa.records import Evidence, Passage
from qa.speaker import Speaker, attribute

RRF_K = 60
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]+")


@dataclass(frozen=True)
class Retrieval:
    """Fused passages and the best sentences of them, numbered for the prompt."""

    passages: tuple[Passage, ...]
    evidence: tuple[Evidence, ...]

    @property
    def best_score(self) -> float:
        return max((e.score for e in self.evidence), default=0.0)


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of several rankings of ids, best first.

    >>> rrf([["a", "b"], ["b", "c"]])[0][0]
    'b'
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def diversify(ranked: Sequence[tuple[Chunk, float]], limit: int, per_article: int) -> list[tuple[Chunk, float]]:
    """The first ``limit`` of the ranking, at most ``per_article`` chunks of one article while
    other articles have candidates left; remaining slots are filled in rank order.

    >>> from index.records import Chunk
    >>> ranked = [(Chunk(f"{a}:c{i}", a, 0, 1, ""), 1.0) for a, i in [("a", 0), ("a", 1), ("a", 2), ("b", 0)]]
    >>> [c.id for c, _ in diversify(ranked, 3, 1)]
    ['a:c0', 'b:c0', 'a:c1']
    """
    capped: list[tuple[Chunk, float]] = []
    overflow: list[tuple[Chunk, float]] = []
    counts: dict[str, int] = {}
    for item in ranked:
        article_id = item[0].article_id
        (capped if counts.get(article_id, 0) < per_article else overflow).append(item)
        counts[article_id] = counts.get(article_id, 0) + 1
    return capped[:limit] + overflow[: max(0, limit - len(capped))]


class Retriever:
    """Retrieves evidence sentences for a question from a ``Store`` and its BM25 index."""

    def __init__(
        self, store: Store, embedder: Embedder, bm25: BM25Index, *, top_chunks: int, per_article: int, evidence: int
    ) -> None:
        self.store, self.embedder, self.bm25 = store, embedder, bm25
        self.top_chunks, self.per_article, self.evidence = top_chunks, per_article, evidence
        self._articles: OrderedDict[str, tuple[StoredArticle, list[Speaker | None]]] = OrderedDict()
        self._lock = threading.Lock()

    def retrieve(self, question: str) -> Retrieval:
        qvec = self.embedder.embed([question])[0]
        pool = self.top_chunks * 3
        dense = self.store.query(qvec, pool)
        lexical = self.bm25.search(question, pool)
        fused = rrf([[c.id for c, _ in dense], [cid for cid, _ in lexical]])
        by_id = {c.id: c for c, _ in dense}
        missing = [cid for cid, _ in fused if cid not in by_id]
        by_id.update({c.id: c for c in self.store.get_chunks(missing)})
        ranked = [(by_id[cid], s) for cid, s in fused if cid in by_id]
        chosen = diversify(ranked, self.top_chunks, self.per_article)
        passages = tuple(self._passage(c, s) for c, s in chosen)
        return Retrieval(passages, self._evidence(question, qvec, chosen))

    def article(self, article_id: str) -> tuple[StoredArticle, list[Speaker | None]]:
        """A stored article and its per-sentence speakers (cached; articles are immutable by id)."""
        with self._lock:
            if article_id in self._articles:
                self._articles.move_to_end(article_id)
                return self._articles[article_id]
        entry = self.store.get(article_id)
        if entry is None:
            raise KeyError(article_id)
        value = (entry, attribute(entry.article.text, entry.sentences))
        with self._lock:
            self._articles[article_id] = value
            while len(self._articles) > 256:
                self._articles.popitem(last=False)
        return value

    def _passage(self, chunk: Chunk, score: float) -> Passage:
        entry, _ = self.article(chunk.article_id)
        return Passage(chunk, score, tuple(entry.sentences[i] for i in chunk.sentence_ids))

    def _evidence(self, question: str, qvec: np.ndarray, chosen: Sequence[tuple[Chunk, float]]) -> tuple[Evidence, ...]:
        """Score every sentence of the chosen chunks; keep the best, best first."""
        if not chosen:
            return ()
        top = chosen[0][1]
        candidates: dict[str, tuple[str, int, float]] = {}
        for chunk, fused in chosen:
            for idx in chunk.sentence_ids:
                sid = f"{chunk.article_id}:s{idx}"
                prior = fused / top
                if sid not in candidates or candidates[sid][2] < prior:
                    candidates[sid] = (chunk.article_id, idx, prior)
        ids = list(candidates)
        cosines = self.store.sentence_vectors(ids) @ qvec
        q_terms = set(tokenize(question))
        q_names = {w.lower() for w in _CAPITALISED.findall(question[1:])}
        scored = []
        for sid, cos in zip(ids, cosines):
            article_id, idx, prior = candidates[sid]
            entry, speakers = self.article(article_id)
            sent = entry.sentences[idx]
            text = entry.article.text[sent.start : sent.end]
            overlap = _overlap(q_terms, q_names, text)
            score = 0.7 * float(cos) + 0.3 * overlap + 0.05 * prior
            scored.append((score, float(cos), entry, idx, speakers[idx]))
        scored.sort(key=lambda t: -t[0])
        best = scored[: self.evidence]
        return tuple(
            Evidence(n, e.article, e.sentences[idx], cos, sp.name if sp else None, sp.role if sp else None)
            for n, (_, cos, e, idx, sp) in enumerate(best, start=1)
        )


def _overlap(q_terms: set[str], q_names: set[str], text: str) -> float:
    """Share of the question's content words in ``text`` ("parliament" ~ "parliamentary"); names count double."""
    if not q_terms:
        return 0.0
    words = set(tokenize(text))
    weight = {t: (2.0 if t in q_names else 1.0) for t in q_terms}
    return sum(w for t, w in weight.items() if has_word(t, words)) / sum(weight.values())
