"""Lexical retrieval over chunks: a bm25s index kept on disk beside the vector store, updated
incrementally.

**Main + delta + tombstones.** The *main* index is a bm25s index (scores precomputed per
token and chunk). Chunks added since it was built go to a small *delta* (an inverted index of
term frequencies, scored at query time); chunks of removed articles stay in main but are masked
(*tombstones*: the removed article ids). ``updated`` returns the index with some chunks added and
some articles removed — O(the change), not O(the index) — and appends the change to a log on disk
(``delta.jsonl``), so a restart replays it instead of rebuilding. When the delta plus the
tombstoned chunks exceed a fraction of main (``needs_merge``), the caller rebuilds main from every
chunk (``build``), which empties the delta and the log.

**Scores.** Delta chunks are scored with the BM25 formula bm25s uses (Lucene IDF, k1 = 1.5,
b = 0.75); main chunks' precomputed scores are rescaled per query term from main's IDF to the
IDF of main + delta (document frequency and N of both), so main and delta scores are comparable.
Two approximations until the next merge, both bounded by the merge fraction: tombstoned chunks
still count in N and document frequencies, and length normalisation uses main's mean chunk length
(for delta chunks too). With an empty delta and no tombstones the scores are bm25s's own.

**Consistency.** The index carries a fingerprint of the set of article ids it covers
(order-independent, so an update derives the new one from the change alone: ``refingerprint``);
``load_or_build`` rebuilds from the store whenever it does not match (after a crash, say), so BM25
and the vector store never disagree for long.

>>> from index.records import Chunk
>>> idx = BM25Index.build([Chunk("a:c0", "a", 0, 9, "Iran and Russia are allies."), Chunk("b:c0", "b", 0, 9, "Oil prices rose.")])
>>> [cid for cid, _ in idx.search("Are Russia and Iran allies?", k=2)]
['a:c0']
>>> idx = idx.updated([Chunk("c:c0", "c", 0, 9, "Iran sells oil to Russia.")], removed=["a"])
>>> [cid for cid, _ in idx.search("Are Russia and Iran allies?", k=2)], sorted(idx.ids)
(['c:c0'], ['b:c0', 'c:c0'])
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path

import numpy as np

from core.text import tokenize
from index.records import Chunk


def fingerprint(article_ids: Iterable[str]) -> str:
    """A digest of the set of article ids an index covers: their number and the XOR of their hashes.

    Order-independent and updatable from a change alone (``refingerprint``).

    >>> fingerprint(["a", "b"]) == fingerprint(["b", "a"]) == refingerprint(fingerprint(["a", "c"]), ["b"], ["c"])
    True
    """
    return refingerprint(f"0:{0:032x}", article_ids, ())


def refingerprint(fingerprint_: str, added: Iterable[str], removed: Iterable[str]) -> str:
    """The fingerprint of a set after adding ``added`` (not in it) and removing ``removed`` (in it)."""
    count, acc = fingerprint_.split(":")
    n, value = int(count), int(acc, 16)
    for sign, ids in ((1, added), (-1, removed)):
        for aid in ids:
            value ^= int.from_bytes(hashlib.sha256(aid.encode()).digest()[:16], "big")
            n += sign
    return f"{n}:{value:032x}"


_K1, _B = 1.5, 0.75  # bm25s defaults (method "lucene")
_MAIN = "main.json"
_LOG = "delta.jsonl"


def _idf(df: int, n: int) -> float:
    """Lucene's IDF, as bm25s computes it."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def _owner(chunk_id: str) -> str:
    """The article id of a chunk id (``<article id>:c<n>``)."""
    return chunk_id.rpartition(":")[0]


class _Delta:
    """Chunks added since main was built: term-frequency postings sorted by term (immutable)."""

    def __init__(self, ids: list[str], tokens: list[list[str]], vocab: dict[str, int], term: np.ndarray, doc: np.ndarray, tf: np.ndarray) -> None:
        self.ids, self.tokens, self.vocab = ids, tokens, vocab
        self.term, self.doc, self.tf = term, doc, tf  # parallel, sorted by term (then insertion order)
        self.lengths = np.array([len(t) for t in tokens], np.float32)
        self.indptr = np.searchsorted(term, np.arange(len(vocab) + 1)) if len(vocab) else np.zeros(1, np.int64)

    @classmethod
    def empty(cls) -> _Delta:
        return cls([], [], {}, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def with_chunks(self, items: Sequence[tuple[str, list[str]]]) -> _Delta:
        """This delta plus ``items`` (chunk id, tokens): O(new postings) work plus one merge of two sorted runs."""
        if not items:
            return self
        vocab = dict(self.vocab)
        terms, docs, tfs = [], [], []
        for n, (_, tokens) in enumerate(items, start=len(self.ids)):
            counts: dict[str, int] = {}
            for t in tokens:
                counts[t] = counts.get(t, 0) + 1
            for t, c in counts.items():
                terms.append(vocab.setdefault(t, len(vocab)))
                docs.append(n)
                tfs.append(c)
        term = np.concatenate([self.term, np.asarray(terms, np.int32)])
        order = np.argsort(term, kind="stable")  # two sorted-ish runs: timsort merges them in linear time
        doc = np.concatenate([self.doc, np.asarray(docs, np.int32)])[order]
        tf = np.concatenate([self.tf, np.asarray(tfs, np.float32)])[order]
        return _Delta(self.ids + [c for c, _ in items], self.tokens + [t for _, t in items], vocab, term[order], doc, tf)

    def without(self, articles: set[str]) -> _Delta:
        """This delta without the chunks of ``articles``."""
        keep = np.array([_owner(c) not in articles for c in self.ids], bool)
        if keep.all():
            return self
        new_index = np.cumsum(keep) - 1
        alive = keep[self.doc]
        ids = [c for c, k in zip(self.ids, keep) if k]
        tokens = [t for t, k in zip(self.tokens, keep) if k]
        return _Delta(ids, tokens, self.vocab, self.term[alive], new_index[self.doc[alive]].astype(np.int32), self.tf[alive])

    def postings(self, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        tid = self.vocab.get(token)
        if tid is None:
            return None
        lo, hi = self.indptr[tid], self.indptr[tid + 1]
        return (self.doc[lo:hi], self.tf[lo:hi]) if hi > lo else None


class BM25Index:
    """bm25s over chunk texts, addressed by chunk id; a main index plus a delta (see the module docstring)."""

    def __init__(
        self,
        ids: Sequence[str],
        model,  # noqa: ANN001 - bm25s.BM25
        fingerprint_: str = "",
        *,
        avgdl: float = 0.0,
        generation: str = "",
        delta: _Delta | None = None,
        removed: Iterable[str] = (),
        _positions: dict[str, list[int]] | None = None,
    ) -> None:
        self.fingerprint = fingerprint_
        self.generation = generation  # names the saved main this index's log lines belong to
        self._main_ids = list(ids)
        self._model = model
        self._avgdl = avgdl
        self._delta = delta or _Delta.empty()
        self._removed = frozenset(removed)
        self._positions = _positions  # article id -> its chunks' rows in main (built on first removal)
        self._dead = np.zeros(len(self._main_ids), bool)
        if self._removed:
            for aid in self._removed:
                self._dead[self._rows(aid)] = True

    # ----- building, updating ---------------------------------------------------------------

    @classmethod
    def build(cls, chunks: Sequence[Chunk], fingerprint_: str = "") -> BM25Index:
        """A fresh main index over ``chunks`` (empty delta, no tombstones)."""
        import bm25s

        model = bm25s.BM25()
        corpus = [tokenize(c.text) or ["∅"] for c in chunks]
        if chunks:
            model.index(corpus, show_progress=False)
        avgdl = float(np.mean([len(t) for t in corpus])) if corpus else 0.0
        return cls([c.id for c in chunks], model, fingerprint_, avgdl=avgdl)

    def updated(
        self, added: Sequence[Chunk] = (), removed: Iterable[str] = (), fingerprint_: str | None = None, directory: Path | None = None
    ) -> BM25Index:
        """This index with ``added`` chunks and without the chunks of the ``removed`` article ids.

        ``fingerprint_`` defaults to this fingerprint updated by the change (the article ids of
        ``added`` and ``removed``). With ``directory`` (where this index was saved), the change is
        appended to its log so that ``load`` finds it.
        """
        removed = set(removed)
        items = [(c.id, tokenize(c.text) or ["∅"]) for c in added]
        if fingerprint_ is None:  # "" (unknown) stays unknown
            fingerprint_ = self.fingerprint and refingerprint(self.fingerprint, {c.article_id for c in added} - removed, removed)
        index = self._apply(items, removed, fingerprint_)
        if directory is not None and self.generation:
            index._append_log(directory, items, removed)
        return index

    def _apply(self, items: Sequence[tuple[str, list[str]]], removed: set[str], fingerprint_: str) -> BM25Index:
        delta = self._delta.without(removed) if removed else self._delta
        return BM25Index(
            self._main_ids,
            self._model,
            fingerprint_,
            avgdl=self._avgdl,
            generation=self.generation,
            delta=delta.with_chunks(items),
            removed=self._removed | {a for a in removed if self._rows(a)},
            _positions=self._positions,
        )

    def needs_merge(self, ratio: float) -> bool:
        """Whether the delta plus the tombstoned chunks exceed ``ratio`` times main (then rebuild)."""
        return len(self._delta) + int(self._dead.sum()) > ratio * len(self._main_ids)

    @property
    def pending(self) -> tuple[int, int, int]:
        """(main chunks, delta chunks, tombstoned chunks)."""
        return len(self._main_ids), len(self._delta), int(self._dead.sum())

    def _rows(self, article_id: str) -> list[int]:
        if self._positions is None:
            positions: dict[str, list[int]] = {}
            for row, cid in enumerate(self._main_ids):
                positions.setdefault(_owner(cid), []).append(row)
            self._positions = positions
        return self._positions.get(article_id, [])

    @property
    def ids(self) -> list[str]:
        """The chunk ids this index returns: main's without the tombstoned ones, then the delta's."""
        return [c for c, dead in zip(self._main_ids, self._dead) if not dead] + list(self._delta.ids)

    # ----- searching -------------------------------------------------------------------------

    def search(self, query: str, k: int, articles: Collection[str] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` chunk ids with a positive score, best first (ties: main before delta, then by position).

        With ``articles``, only chunks of those article ids are ranked (a filter's mask: the ``k`` best inside it);
        scores are unchanged, IDF still counts every chunk."""
        n_main, delta = len(self._main_ids), self._delta
        n = n_main + len(delta)
        if n == 0 or (articles is not None and not articles):
            return []
        scores = np.zeros(n, np.float32)
        main_scores, delta_scores = scores[:n_main], scores[n_main:]
        avgdl = self._avgdl if n_main else float(delta.lengths.mean())
        matrix = getattr(self._model, "scores", None) if n_main else None
        n_terms = len(matrix["indptr"]) - 1 if matrix else 0
        vocab = self._model.vocab_dict if matrix else {}
        hit = False
        for token in tokenize(query):
            tid = vocab.get(token, n_terms)
            lo, hi = (int(matrix["indptr"][tid]), int(matrix["indptr"][tid + 1])) if tid < n_terms else (0, 0)
            posting = delta.postings(token)
            df = (hi - lo) + (len(posting[0]) if posting else 0)
            if df == 0:
                continue
            hit = True
            idf = _idf(df, n)
            if hi > lo:  # precomputed main scores, rescaled from main's IDF to main + delta's
                part = matrix["data"][lo:hi]
                ratio = idf / _idf(hi - lo, n_main)
                main_scores[matrix["indices"][lo:hi]] += part if ratio == 1.0 else (part * np.float32(ratio))
            if posting:
                docs, tf = posting
                norm = _K1 * ((1 - _B) + _B * delta.lengths[docs] / avgdl)
                delta_scores[docs] += (np.float32(idf) * tf / (norm + tf)).astype(np.float32)
        if not hit:
            return []
        if self._removed:
            main_scores[self._dead] = 0.0
        if articles is not None:
            scores[~self._mask(articles)] = 0.0
        return [(self._id_at(i), float(scores[i])) for i in _top(scores, k)]

    def _mask(self, articles: Collection[str]) -> np.ndarray:
        """Rows (main, then delta) of the chunks of ``articles``: O(their chunks + the delta)."""
        mask = np.zeros(len(self._main_ids) + len(self._delta), bool)
        for aid in articles:
            mask[self._rows(aid)] = True
        wanted = set(articles)
        mask[len(self._main_ids) :] = [_owner(c) in wanted for c in self._delta.ids]
        return mask

    def _id_at(self, row: int) -> str:
        n_main = len(self._main_ids)
        return self._main_ids[row] if row < n_main else self._delta.ids[row - n_main]

    # ----- persistence -----------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write main, and the delta as the log's first line, into ``directory`` (replaced atomically)."""
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._main_ids:
            self._model.save(str(tmp), show_progress=False)
        self.generation = uuid.uuid4().hex
        base = self.fingerprint if not (len(self._delta) or self._removed) else ""
        meta = {"format": 2, "generation": self.generation, "fingerprint": base, "avgdl": self._avgdl, "ids": self._main_ids}
        (tmp / _MAIN).write_text(json.dumps(meta))
        if len(self._delta) or self._removed:
            self._append_log(tmp, list(zip(self._delta.ids, self._delta.tokens)), set(self._removed))
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)

    def _append_log(self, directory: Path, items: Sequence[tuple[str, list[str]]], removed: set[str]) -> None:
        line = {"generation": self.generation, "fingerprint": self.fingerprint, "remove": sorted(removed), "add": items}
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
        fd = os.open(directory / _LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)  # one write: a reader sees the whole line or none of it
        finally:
            os.close(fd)

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        """Main from ``directory`` with its log replayed; a torn or foreign log line ends the replay."""
        import bm25s

        meta = json.loads((directory / _MAIN).read_text())
        if meta.get("format") != 2:
            raise ValueError("an index of an older format")
        model = bm25s.BM25.load(str(directory), show_progress=False) if meta["ids"] else bm25s.BM25()
        index = cls(meta["ids"], model, meta["fingerprint"], avgdl=meta["avgdl"], generation=meta["generation"])
        log = directory / _LOG
        if log.exists():
            for raw in log.read_bytes().split(b"\n"):
                try:
                    line = json.loads(raw)
                except ValueError:
                    break
                if line.get("generation") != index.generation:
                    break
                index = index._apply([(c, t) for c, t in line["add"]], set(line["remove"]), line["fingerprint"])
        return index


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` best positive scores, best first, ties by row (as a stable sort) — without sorting all."""
    rows = np.flatnonzero(scores > 0)
    if len(rows) > k:
        kth = np.partition(scores[rows], len(rows) - k)[len(rows) - k]
        rows = rows[scores[rows] >= kth]
    return rows[np.lexsort((rows, -scores[rows]))][:k]


def load_or_build(directory: Path, expected: str, get_chunks: Callable[[], Sequence[Chunk]]) -> BM25Index:
    """The saved index if its fingerprint is ``expected``, else one rebuilt from ``get_chunks()`` and saved."""
    try:
        index = BM25Index.load(directory)
        if index.fingerprint == expected:
            return index
    except (OSError, ValueError, KeyError, TypeError):
        pass
    index = BM25Index.build(get_chunks(), expected)
    try:
        index.save(directory)
    except OSError:
        pass  # read-only data dir: serve from memory
    return index
