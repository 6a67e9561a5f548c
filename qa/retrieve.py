"""Hybrid retrieval: dense + BM25 over chunks, reciprocal rank fusion, diversity across
articles, then sentence-level evidence selection.

A sentence scores at least ``CONTEXT_SHARE`` of the sentence before it: a sentence that continues
a relevant one often holds the answer while naming nothing ("At 3km/h, it is ...", "The top seed
went down 7-6 6-3"). Syndicated copies (``index.dedup``) count as one article for the per-article cap, a chunk that
only repeats statements already chosen from its group is skipped, and a sentence of a copy is
replaced by the same statement of the group's earliest article — so one statement is quoted
once, while sentences that differ between copies stay. Questions about the latest state
("latest", "most recent", "currently", …) give sentences of newer articles a bonus by date rank
among the candidates; otherwise dates do not change the ranking.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from core.text import overlap, tokenize
from index.bm25 import BM25Index
from index.dedup import Fingerprint, Syndication, fingerprint
from index.embed import Embedder
from index.filters import Filters
from index.records import Chunk
from index.store import Store, StoredArticle
from qa.records import Evidence, Passage
from qa.speaker import Speaker, attribute

RRF_K = 60
RECENCY_BONUS = 0.1  # added to the newest candidate article's sentences on a "latest" question
RELEVANT_SHARE = 0.5  # a chunk below this share of the best fused score never displaces a capped article's chunk
CONTEXT_SHARE = 0.7  # a sentence scores at least this share of the sentence before it
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]+")
_LATEST = re.compile(
    r"\b(?:latest|newest|most\s+recent(?:ly)?|current(?:ly)?|now|nowadays|as\s+of\s+(?:now|today)|at\s+present"
    r"|still|up[-\s]to[-\s]date|last(?!\s+(?:year|month|week|night|weekend|season|summer|winter|spring|autumn|\w+day)\b))\b",
    re.I,
)


@dataclass(frozen=True)
class Retrieval:
    """Fused passages and the best sentences of them, numbered for the prompt."""

    passages: tuple[Passage, ...]
    evidence: tuple[Evidence, ...]

    @property
    def best_cosine(self) -> float:
        return max((e.cosine for e in self.evidence), default=0.0)


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


def wants_latest(question: str) -> bool:
    """Whether ``question`` asks for the latest / current state of something.

    >>> [wants_latest(q) for q in ("What is the latest figure?", "Is the bridge still closed?", "Who won last year?")]
    [True, True, False]
    """
    return bool(_LATEST.search(question))


def recency_bonus(published: dict[str, str | None]) -> dict[str, float]:
    """Per article id: ``RECENCY_BONUS`` × its date's rank among the distinct dates (oldest 0, newest 1).

    Undated articles, and every article when fewer than two distinct dates are known, get 0.

    >>> recency_bonus({"a": "2025-03-01", "b": "2025-04-15", "c": None, "d": "2025-03-01"})
    {'a': 0.0, 'b': 0.1, 'c': 0.0, 'd': 0.0}
    """
    dates = sorted({d for d in published.values() if d})
    if len(dates) < 2:
        return dict.fromkeys(published, 0.0)
    rank = {d: i / (len(dates) - 1) for i, d in enumerate(dates)}
    return {aid: RECENCY_BONUS * rank[d] if d else 0.0 for aid, d in published.items()}


def diversify(
    ranked: Sequence[tuple[Chunk, float]], limit: int, per_article: int, groups: Syndication | None = None
) -> list[tuple[Chunk, float]]:
    """The first ``limit`` of the ranking, at most ``per_article`` chunks of one article while
    other articles have relevant candidates left (fused score at least ``RELEVANT_SHARE`` of the
    best); remaining slots are filled in rank order.

    With ``groups``, near-duplicate articles count as one article, and a chunk whose statements all
    appear in chunks already chosen from its group is skipped.

    >>> from index.records import Chunk
    >>> ranked = [(Chunk(f"{a}:c{i}", a, 0, 1, ""), s) for a, i, s in [("a", 0, 1.0), ("a", 1, 0.9), ("a", 2, 0.8), ("b", 0, 0.6)]]
    >>> [c.id for c, _ in diversify(ranked, 3, 1)]
    ['a:c0', 'b:c0', 'a:c1']
    >>> [c.id for c, _ in diversify(ranked[:3] + [(Chunk("c:c0", "c", 0, 1, ""), 0.3)], 3, 1)]
    ['a:c0', 'a:c1', 'a:c2']
    """
    capped: list[tuple[Chunk, float]] = []
    overflow: list[tuple[Chunk, float]] = []
    counts: dict[str, int] = {}
    covered: dict[str, set[str]] = {}
    floor = RELEVANT_SHARE * ranked[0][1] if ranked else 0.0
    for item in ranked:
        if len(capped) == limit:
            break
        group = groups.group(item[0].article_id) if groups else item[0].article_id
        keys = groups.statements(item[0]) if groups else set()
        if keys and keys <= covered.get(group, set()):
            continue
        if counts.get(group, 0) < per_article and item[1] >= floor:
            capped.append(item)
            covered.setdefault(group, set()).update(keys)
        else:
            overflow.append(item)
        counts[group] = counts.get(group, 0) + 1
    return capped + overflow[: max(0, limit - len(capped))]


class Reranker(Protocol):
    """A retrieval stage after the blend: re-orders (or filters) the ranked evidence sentences, best first.
    Pass rerankers to ``Retriever``; each sees the whole ranked list before it is cut to the prompt's size."""

    def rerank(self, question: str, ranked: Sequence[Evidence]) -> Sequence[Evidence]: ...


class Retriever:
    """Retrieves evidence sentences for a question from a ``Store`` and its BM25 index.

    ``bm25`` is the index itself, or a function returning the current one (a live indexer's, so that
    new briefings are searched at once)."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        bm25: BM25Index | Callable[[], BM25Index],
        *,
        top_chunks: int,
        per_article: int,
        evidence: int,
        rerankers: Sequence[Reranker] = (),
    ) -> None:
        self.store, self.embedder = store, embedder
        self._bm25 = bm25 if callable(bm25) else (lambda: bm25)
        self.top_chunks, self.per_article, self.evidence = top_chunks, per_article, evidence
        self.rerankers = tuple(rerankers)
        self._articles: OrderedDict[str, _Cached] = OrderedDict()
        self._lock = threading.Lock()

    def retrieve(self, question: str, filters: Filters | None = None) -> Retrieval:
        """Evidence for ``question``; with ``filters``, both searches rank only the chunks of articles inside them
        (a Chroma ``where``, a BM25 mask), so the budget is filled from inside the filter."""
        qvec = self.embedder.embed([question])[0]
        pool = self.top_chunks * 3
        active = filters if filters and filters.active else None
        dense = self.store.query(qvec, pool, active)
        lexical = self.bm25.search(question, pool, self.store.matching(active) if active else None)
        fused = rrf([[c.id for c, _ in dense], [cid for cid, _ in lexical]])
        by_id = {c.id: c for c, _ in dense}
        missing = [cid for cid, _ in fused if cid not in by_id]
        by_id.update({c.id: c for c in self.store.get_chunks(missing)})
        ranked = [(by_id[cid], s) for cid, s in fused if cid in by_id]
        groups = Syndication(self.fingerprint)
        chosen = diversify(ranked, self.top_chunks, self.per_article, groups)
        passages = tuple(self._passage(c, s) for c, s in chosen)
        return Retrieval(passages, self._evidence(question, qvec, chosen, groups))

    @property
    def bm25(self) -> BM25Index:
        return self._bm25()

    def article(self, article_id: str) -> tuple[StoredArticle, list[Speaker | None]]:
        """A stored article and its per-sentence speakers (cached; articles are immutable by id)."""
        cached = self._cached(article_id)
        return cached.entry, cached.speakers

    def speakers(self, article_id: str) -> list[str]:
        """The speakers (name and role) of the article's attributed sentences, in order."""
        return [f"{s.name} {s.role or ''}" for s in self.article(article_id)[1] if s]

    def speakers_near(self, ev: Evidence) -> list[str]:
        """Speakers (name and role) of ``ev``'s sentence and the sentences either side of it."""
        _, speakers = self.article(ev.article.id)
        near = speakers[max(0, ev.sentence.idx - 1) : ev.sentence.idx + 2]
        return [f"{s.name} {s.role or ''}" for s in near if s]

    def fingerprint(self, article_id: str) -> Fingerprint:
        """The article's near-duplicate fingerprint (cached with the article)."""
        return self._cached(article_id).fingerprint

    def _cached(self, article_id: str) -> _Cached:
        with self._lock:
            if article_id in self._articles:
                self._articles.move_to_end(article_id)
                return self._articles[article_id]
        entry = self.store.get(article_id)
        if entry is None:
            raise KeyError(article_id)
        value = _Cached(entry, attribute(entry.article.text, entry.sentences), fingerprint(entry.article, entry.sentences))
        with self._lock:
            self._articles[article_id] = value
            while len(self._articles) > 256:
                self._articles.popitem(last=False)
        return value

    def _passage(self, chunk: Chunk, score: float) -> Passage:
        entry, _ = self.article(chunk.article_id)
        return Passage(chunk, score, tuple(entry.sentences[i] for i in chunk.sentence_ids))

    def _evidence(
        self, question: str, qvec: np.ndarray, chosen: Sequence[tuple[Chunk, float]], groups: Syndication
    ) -> tuple[Evidence, ...]:
        """The best sentences of the chosen chunks, best first: the blend ranks, the rerankers re-rank, the first
        ``self.evidence`` are numbered for the prompt."""
        ranked: Sequence[Evidence] = self._ranked(question, qvec, self._candidates(chosen, groups))
        for reranker in self.rerankers:
            ranked = reranker.rerank(question, ranked)
        return tuple(replace(ev, n=n) for n, ev in enumerate(ranked[: self.evidence], start=1))

    @staticmethod
    def _candidates(chosen: Sequence[tuple[Chunk, float]], groups: Syndication) -> dict[str, tuple[str, int, float]]:
        """Every sentence of the chosen chunks (copies collapsed to the earliest) → (article id, index, prior):
        the prior is the best fused score of a chunk holding it, as a share of the top chunk's."""
        if not chosen:
            return {}
        top = chosen[0][1]
        candidates: dict[str, tuple[str, int, float]] = {}
        for chunk, fused in chosen:
            for idx in chunk.sentence_ids:
                article_id, canonical = groups.canonical(chunk.article_id, idx)
                sid = f"{article_id}:s{canonical}"
                prior = fused / top
                if sid not in candidates or candidates[sid][2] < prior:
                    candidates[sid] = (article_id, canonical, prior)
        return candidates

    def _ranked(self, question: str, qvec: np.ndarray, candidates: dict[str, tuple[str, int, float]]) -> list[Evidence]:
        """The candidates ranked by the blend: 0.7 cosine + 0.3 word overlap + 0.05 prior (+ recency on a "latest"
        question), at least ``CONTEXT_SHARE`` of the preceding sentence's."""
        if not candidates:
            return []
        ids = list(candidates)
        cosines = self.store.sentence_vectors(ids) @ qvec
        q_terms = set(tokenize(question))
        q_names = {w.lower() for w in _CAPITALISED.findall(question[1:])}
        newer = {}
        if wants_latest(question):
            newer = recency_bonus({aid: self.article(aid)[0].article.published for aid, _, _ in candidates.values()})
        scored = []
        for sid, cos in zip(ids, cosines):
            article_id, idx, prior = candidates[sid]
            entry, speakers = self.article(article_id)
            sent = entry.sentences[idx]
            text = entry.article.text[sent.start : sent.end]
            score = 0.7 * float(cos) + 0.3 * overlap(q_terms, text, q_names) + 0.05 * prior + newer.get(article_id, 0.0)
            scored.append((score, float(cos), entry, idx, speakers[idx]))
        own = {(e.article.id, idx): score for score, _, e, idx, _ in scored}
        scored = [(max(score, CONTEXT_SHARE * own.get((e.article.id, idx - 1), 0.0)), cos, e, idx, sp) for score, cos, e, idx, sp in scored]
        scored.sort(key=lambda t: -t[0])
        return [
            Evidence(0, e.article, e.sentences[idx], cos, rank, sp.name if sp else None, sp.role if sp else None, sp.kind if sp else None)
            for rank, cos, e, idx, sp in scored
        ]


@dataclass(frozen=True)
class _Cached:
    entry: StoredArticle
    speakers: list[Speaker | None]
    fingerprint: Fingerprint

