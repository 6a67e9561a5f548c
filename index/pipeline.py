"""The indexing pipeline: paths → load → clean → sentences → chunks → embed → store + BM25.

>>> import tempfile
>>> from index.settings import Settings
>>> ix = Indexer(Settings(data_dir=tempfile.mkdtemp(), embedder="hash"))
>>> [r.status for r in ix.add(["briefings"])]
['added']
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.bm25 import BM25Index, fingerprint, load_or_build
from index.chunk import chunk_article
from index.clean import clean
from index.embed import Embedder, make_embedder
from index.errors import BriefQAError
from index.load import iter_documents
from index.lock import hold_writer_lock
from index.records import Article, Chunk, FileResult
from index.sentences import sentences_of
from index.settings import Settings
from index.store import Store, StoredArticle

Progress = Callable[[int, int, str], None]
_EMBED_BATCH_SENTENCES = 256


def open_store(settings: Settings, embedder: Embedder, *, create: bool) -> Store:
    """The Chroma store under ``settings.data_dir``; without ``create`` a missing index is an error."""
    from index.chroma_store import ChromaStore

    if not create and not settings.chroma_dir.is_dir():
        raise BriefQAError(
            f"no index at {settings.data_dir}",
            "add briefings first: briefqa index add PATH (or set BRIEFQA_DATA_DIR / --data-dir to an existing index)",
        )
    return ChromaStore.open(settings.chroma_dir, embedder.name)


def load_bm25(settings: Settings, store: Store) -> BM25Index:
    """The BM25 index matching the store's current articles (rebuilt if stale)."""
    return load_or_build(settings.bm25_dir, fingerprint(store.article_ids()), store.chunks)


@dataclass(frozen=True)
class _Prepared:
    entry: StoredArticle
    chunks: tuple[Chunk, ...]


class Indexer:
    """Adds and removes briefings; keeps the vector store and BM25 consistent."""

    def __init__(self, settings: Settings | None = None, *, store: Store | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings()
        hold_writer_lock(self.settings.data_dir, "briefqa " + " ".join(sys.argv[1:3]) if sys.argv[1:] else "briefqa")
        self.embedder = embedder or make_embedder(self.settings)
        self.store = store or open_store(self.settings, self.embedder, create=True)
        self.store.repair()
        self._bm25: BM25Index | None = None

    @property
    def bm25(self) -> BM25Index:
        """The BM25 index matching the store: loaded (or rebuilt) once, replaced by every change."""
        if self._bm25 is None:
            self._bm25 = load_bm25(self.settings, self.store)
        return self._bm25

    def add(self, paths: Iterable[str | Path], on_progress: Progress | None = None) -> list[FileResult]:
        """Index files/directories; one ``FileResult`` per file (or jsonl line), in input order."""
        results: list[FileResult] = []
        pending: list[tuple[_Prepared, str | None]] = []
        docs = list(iter_documents(paths))
        seen: dict[str, str] = {}
        by_path = {e.article.path: e.article.id for e in self.store.articles()}
        stored = set(by_path.values())
        for done, doc in enumerate(docs, start=1):
            if on_progress:
                on_progress(done, len(docs), doc.path)
            article = doc if isinstance(doc, FileResult) else clean(doc)
            if isinstance(article, FileResult):
                results.append(article)
            elif article.id in seen or article.id in stored:
                where = seen.get(article.id, "the index")
                results.append(FileResult(article.path or "", "unchanged", f"same text already in {where}", article.id, article.title))
            else:
                seen[article.id] = article.path or ""
                old = by_path.get(article.path)
                pending.append((self._prepare(article), old))
                if sum(len(p.entry.sentences) for p, _ in pending) >= _EMBED_BATCH_SENTENCES:
                    results.extend(self._write(pending))
                    pending = []
        results.extend(self._write(pending))
        if any(r.status == "added" for r in results):
            self.refresh_bm25()
        return results

    def remove(self, article_id: str) -> StoredArticle:
        """Remove an article (a unique id prefix is enough) with all its chunks."""
        entry = self.resolve(article_id)
        self.store.remove(entry.article.id)
        self.refresh_bm25()
        return entry

    def resolve(self, prefix: str) -> StoredArticle:
        """The one stored article whose id starts with ``prefix``."""
        matches = [a for a in self.store.article_ids() if a.startswith(prefix.strip())] if prefix.strip() else []
        if len(matches) != 1:
            cause = f"no article with id {prefix!r}" if not matches else f"{len(matches)} articles match {prefix!r}"
            raise BriefQAError(cause, "see the ids with: briefqa index list")
        entry = self.store.get(matches[0])
        assert entry is not None
        return entry

    def refresh_bm25(self) -> BM25Index:
        ids = self.store.article_ids()
        index = BM25Index.build(self.store.chunks(), fingerprint(ids))
        index.save(self.settings.bm25_dir)
        self._bm25 = index
        return index

    def _prepare(self, article: Article) -> _Prepared:
        sentences = tuple(sentences_of(article.id, article.text))
        chunks = tuple(
            chunk_article(article, sentences, max_words=self.settings.chunk_words, overlap=self.settings.chunk_overlap_sentences)
        )
        return _Prepared(StoredArticle(article, sentences, len(chunks)), chunks)

    def _write(self, pending: Sequence[tuple[_Prepared, str | None]]) -> list[FileResult]:
        """Embed the sentences of several articles at once, then store each article (record last)."""
        if not pending:
            return []
        texts = [p.entry.article.text[s.start : s.end] for p, _ in pending for s in p.entry.sentences]
        vectors = self.embedder.embed(texts)
        results, offset = [], 0
        for prepared, old_id in pending:
            n = len(prepared.entry.sentences)
            sent_vecs = vectors[offset : offset + n]
            offset += n
            chunk_vecs = np.stack([_mean_unit(sent_vecs[list(c.sentence_ids)]) for c in prepared.chunks])
            self.store.add(prepared.entry, prepared.chunks, chunk_vecs, sent_vecs)
            reason = ""
            if old_id and old_id != prepared.entry.article.id:
                self.store.remove(old_id)
                reason = f"replaced the older version {old_id}"
            a = prepared.entry.article
            results.append(FileResult(a.path or "", "added", reason, a.id, a.title, prepared.entry.chunks))
        return results


def _mean_unit(vectors: np.ndarray) -> np.ndarray:
    """A chunk's vector: the normalised mean of its sentences' vectors."""
    mean = vectors.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
