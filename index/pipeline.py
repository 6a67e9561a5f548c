"""The indexing pipeline: paths → load → clean → sentences → chunks → embed → store + BM25.

>>> import tempfile
>>> from core.settings import Settings
>>> from index.embed import HashEmbedder
>>> from index.store import MemoryStore
>>> ix = Indexer(Settings(data_dir=tempfile.mkdtemp(), embedder="hash"), store=MemoryStore(), embedder=HashEmbedder())
>>> [r.status for r in ix.add(["briefings"])]
['added']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.bm25 import BM25Index, fingerprint, load_or_build
from index.chroma_store import ChromaStore
from index.chunk import chunk_article
from index.clean import clean
from index.desk import Desk
from index.embed import Embedder
from core.errors import BriefQAError
from index.follow import FollowedBM25
from index.feeds import is_url, iter_url_documents
from index.fetch import Fetcher
from index.load import iter_documents
from index.records import Article, Chunk, FileResult, RawDoc
from index.sentences import sentences_of
from core.settings import Settings
from index.store import Store, StoredArticle

Progress = Callable[[int, int, str], None]
_WRITE_BATCH_SENTENCES = 1024  # sentences embedded and stored per batch (one upsert per collection)
_LOOKUP_BLOCK = 256  # documents cleaned and looked up in the store at a time
_ID_LENGTH = 16  # an article id: the first 16 hex digits of its content hash
_CLEAN_MARKER = ".index-clean"  # this data dir has the write journal: no journal on open means nothing to repair
_JOURNAL = ".index-writing"  # article ids a change is writing or removing, listed before the store is touched


def write_interrupted(data_dir: Path) -> bool:
    """Whether a change to the index in ``data_dir`` was interrupted (its journal is still there)."""
    return (data_dir / _JOURNAL).exists()


def open_store(settings: Settings, embedder: Embedder, *, create: bool) -> Store:
    """The Chroma server ``settings.chroma_url`` names, else the embedded store under ``settings.data_dir``;
    without ``create`` a missing embedded index is an error."""
    from index.chroma_store import ChromaStore

    if settings.chroma_url:
        return ChromaStore.connect(settings.chroma_url, embedder.name, timeout_s=settings.chroma_timeout_s)
    if not create and not settings.chroma_dir.is_dir():
        raise BriefQAError(
            f"no index at {settings.data_dir}",
            "add briefings first: briefqa index add PATH (or set BRIEFQA_DATA_DIR / --data-dir to an existing index)",
        )
    return ChromaStore.open(settings.chroma_dir, embedder.name)


def load_bm25(settings: Settings, store: Store) -> BM25Index:
    """The BM25 index matching the store's current articles (rebuilt if stale)."""
    return load_or_build(settings.bm25_dir, fingerprint(store.article_ids()), store.chunks)


def open_desk(settings: Settings, store: Store, purpose: str = "briefqa") -> Desk | None:
    """The lease, journal and change marker in the Chroma server ``store`` is on (``index.desk``); None when embedded."""
    if not isinstance(store, ChromaStore) or not store.url:
        return None
    return Desk(store.desk_collection(), store.url, lease_s=settings.writer_lease_s, purpose=purpose)


def reader_bm25(settings: Settings, store: Store) -> BM25Index | Callable[[], BM25Index]:
    """What a reader searches by keyword: the data dir's BM25 (rebuilt if stale), or over a Chroma server one derived
    from the server's documents that follows its committed changes (a function returning the newest index)."""
    desk = open_desk(settings, store)
    if desk is None:
        return load_bm25(settings, store)
    return FollowedBM25(store, desk, every_s=settings.follow_s, merge_ratio=settings.bm25_merge_ratio).current


@dataclass(frozen=True)
class _Prepared:
    entry: StoredArticle
    chunks: tuple[Chunk, ...]
    note: str = ""  # the document's note, said in its FileResult


class Indexer:
    """Adds and removes briefings; keeps the vector store and BM25 consistent.

    The caller holds the data dir's writer lock (``index.lock``) while an ``Indexer`` writes an embedded
    store; ``qa.service.open_indexer`` takes it, then builds the embedder and the store. Over a Chroma server
    (``desk``), each change takes the server's lease instead, keeps its journal there, and ends each committed batch
    by changing the server's marker; BM25 is then derived from the server (``index.follow``), not kept on disk."""

    def __init__(self, settings: Settings, *, store: Store, embedder: Embedder, desk: Desk | None = None) -> None:
        self.settings, self.store, self.embedder, self._desk = settings, store, embedder, desk
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # the journal and BM25 live there
        self._journal = self.settings.data_dir / _JOURNAL
        if desk is None:  # over a server, recovery needs the lease: each change starts with it
            self._recover()
            self.store.upgrade()  # an index from before filters gets the fields they read, once
        self._failed = False
        self._bm25: BM25Index | None = None
        self._follower: FollowedBM25 | None = None

    @property
    def bm25(self) -> BM25Index:
        """The BM25 index matching the store: loaded (or rebuilt) once, replaced by every change; over a server,
        the newest one derived from it (this process's changes are taken in as each batch commits)."""
        if self._desk is not None:
            if self._follower is None:
                self._follower = FollowedBM25(self.store, self._desk, every_s=self.settings.follow_s, merge_ratio=self.settings.bm25_merge_ratio)
            return self._follower.current()
        if self._bm25 is None:
            self._bm25 = load_bm25(self.settings, self.store)
        return self._bm25

    def add(self, paths: Iterable[str | Path], on_progress: Progress | None = None, *, allow_private: bool | None = None) -> list[FileResult]:
        """Index files, directories and URLs (pages and RSS/Atom feeds, ``index.feeds``); one ``FileResult``
        per file, jsonl line, page or feed item, in input order. Everything is read and fetched before the
        index is touched. ``allow_private`` overrides the ``fetch_allow_private`` setting."""
        results: list[FileResult] = []
        docs = list(self._documents(paths, allow_private))
        with self._writing():
            self._add(docs, results, on_progress)
        return results

    def _documents(self, items: Iterable[str | Path], allow_private: bool | None) -> Iterator[RawDoc | FileResult]:
        fetcher: Fetcher | None = None
        try:
            for item in items:
                if is_url(item):
                    fetcher = fetcher or Fetcher(self.settings, allow_private=allow_private)
                    yield from iter_url_documents([str(item)], fetcher)
                else:
                    yield from iter_documents([item], max_file_mb=self.settings.max_file_mb)
        finally:
            if fetcher:
                fetcher.close()

    def _add(self, docs: Sequence[RawDoc | FileResult], results: list[FileResult], on_progress: Progress | None) -> None:
        pending: list[tuple[_Prepared, str | None]] = []
        pending_sentences = 0
        change = _Change()
        seen: dict[str, str] = {}
        for lo in range(0, len(docs), _LOOKUP_BLOCK):
            block = docs[lo : lo + _LOOKUP_BLOCK]
            cleaned = [doc if isinstance(doc, FileResult) else clean(doc) for doc in block]
            articles = [a for a in cleaned if isinstance(a, Article)]
            # what the store already holds, from metadata, for this block only (never the whole index)
            stored = self.store.existing(a.id for a in articles)
            by_path = self.store.paths(a.path for a in articles if a.path)
            for done, (doc, article) in enumerate(zip(block, cleaned, strict=True), start=lo + 1):
                if on_progress:
                    on_progress(done, len(docs), doc.path)
                if isinstance(article, FileResult):
                    results.append(article)
                elif article.id in seen or article.id in stored:
                    where = seen.get(article.id, "the index")
                    results.append(FileResult(article.path or "", "unchanged", f"same text already in {where}", article.id, article.title))
                elif self._keeps_article(article, by_path):  # a page failing once
                    reason = f"kept the indexed article, not the feed's summary ({_note(doc)})"
                    results.append(FileResult(article.path or "", "rejected", reason, by_path.get(article.path or ""), article.title))
                else:
                    seen[article.id] = article.path or ""
                    old = by_path.get(article.path) if article.path else None
                    pending.append((self._prepare(article, _note(doc)), old))
                    pending_sentences += len(pending[-1][0].entry.sentences)
                    if pending_sentences >= _WRITE_BATCH_SENTENCES:
                        results.extend(self._write(pending, change))
                        pending, pending_sentences = [], 0
        results.extend(self._write(pending, change))
        if (change.added or change.removed) and self._desk is None:
            self._update_bm25(change)

    def _keeps_article(self, article: Article, by_path: dict[str, str]) -> bool:
        """A feed's summary never replaces the whole article indexed at its URL (its page failed this time)."""
        old = by_path.get(article.path or "") if article.kind == "summary" else None
        entry = self.store.get(old) if old else None
        return entry is not None and entry.article.kind != "summary"

    def _recover(self) -> None:
        """Purge what an interrupted change left behind: the chunks and sentences of the journal's articles
        that have no article record (O(change)). A data dir from before the journal gets the full O(index)
        ``store.repair()`` once."""
        clean = self.settings.data_dir / _CLEAN_MARKER
        if self._journal.exists():
            listed = {line.strip() for line in self._journal.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()}
            for article_id in sorted(listed - self.store.existing(listed)):
                self.store.remove(article_id)  # deletes by article id: its orphans, or nothing
            self._journal.unlink()
        elif not clean.exists():
            self.store.repair()
        clean.touch()

    def _journal_ids(self, article_ids: Iterable[str]) -> None:
        """Note the article ids about to be written or removed (before the store is touched)."""
        if self._desk is not None:
            self._desk.check()  # never write after the lease was lost
            self._desk.note(article_ids)
            return
        with self._journal.open("a", encoding="utf-8") as journal:
            journal.write("".join(f"{a}\n" for a in article_ids))

    def _committed(self) -> None:
        """A batch is complete in the store: over a server, empty its journal there and move the marker (every
        process's BM25 takes the batch in; this one's at once)."""
        if self._desk is not None:
            self._desk.commit()
            if self._follower is not None:
                self._follower.refresh()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Around every change: the journal lives while the store may hold orphans, and for good once a change
        failed midway in this process (the next open purges them). Over a server: the lease, then the recovery
        of what an interrupted writer left (its journal there)."""
        if self._desk is not None:
            with self._desk.writing():
                self._recover_shared()
                yield
            return
        try:
            yield
        except BaseException:
            self._failed = True
            raise
        if not self._failed:
            self._journal.unlink(missing_ok=True)

    def _recover_shared(self) -> None:
        """Over a server, under the lease: purge the articles of an interrupted writer's journal that have no record."""
        assert self._desk is not None
        listed = self._desk.journal()
        if listed:
            for article_id in sorted(listed - self.store.existing(listed)):
                self.store.remove(article_id)
            self._committed()
        self.store.upgrade()

    def remove(self, article_id: str) -> StoredArticle:
        """Remove an article (a unique id prefix is enough) with all its chunks."""
        entry = self.resolve(article_id)
        if self._desk is None:
            _ = self.bm25  # loaded (checked against the store) before the store changes
        with self._writing():
            self._journal_ids([entry.article.id])
            self.store.remove(entry.article.id)
            if self._desk is None:
                self._update_bm25(_Change(removed=[entry.article.id]))
            self._committed()
        return entry

    def resolve(self, prefix: str) -> StoredArticle:
        """The one stored article whose id starts with ``prefix``."""
        prefix = prefix.strip()
        if len(prefix) == _ID_LENGTH and self.store.existing([prefix]):
            matches = [prefix]  # a whole id: no need to list the index
        else:
            matches = [a for a in self.store.article_ids() if a.startswith(prefix)] if prefix else []
        if len(matches) != 1:
            cause = f"no article with id {prefix!r}" if not matches else f"{len(matches)} articles match {prefix!r}"
            raise BriefQAError(cause, "see the ids with: briefqa index list")
        entry = self.store.get(matches[0])
        assert entry is not None
        return entry

    def refresh_bm25(self) -> BM25Index:
        """Rebuild BM25 from every stored chunk (the merge of the incremental scheme; O(index))."""
        ids = self.store.article_ids()
        index = BM25Index.build(self.store.chunks(), fingerprint(ids))
        index.save(self.settings.bm25_dir)
        self._bm25 = index
        return index

    def _update_bm25(self, change: _Change) -> BM25Index:
        """Apply a change to BM25 incrementally (delta + tombstones, logged on disk); rebuild when the
        delta and tombstones outgrow ``settings.bm25_merge_ratio`` of the main index."""
        ratio = self.settings.bm25_merge_ratio
        main, delta, dead = self.bm25.pending
        if len(change.added) + delta + dead > ratio * main:  # a merge is due anyway: skip the delta
            return self.refresh_bm25()
        index = self.bm25.updated(change.added, change.removed, directory=self.settings.bm25_dir)
        if index.needs_merge(ratio):
            return self.refresh_bm25()
        self._bm25 = index
        return index

    def _prepare(self, article: Article, note: str = "") -> _Prepared:
        sentences = tuple(sentences_of(article.id, article.text))
        chunks = tuple(
            chunk_article(article, sentences, max_words=self.settings.chunk_words, overlap=self.settings.chunk_overlap_sentences)
        )
        return _Prepared(StoredArticle(article, sentences, len(chunks)), chunks, note)

    def _write(self, pending: Sequence[tuple[_Prepared, str | None]], change: _Change) -> list[FileResult]:
        """Embed the sentences of several articles at once, store them in one batch (records last),
        then remove the older versions they replace; ``change`` collects what BM25 must take in."""
        if not pending:
            return []
        if self._desk is None:
            _ = self.bm25  # loaded (checked against the store) before the store changes
        texts = [p.entry.article.text[s.start : s.end] for p, _ in pending for s in p.entry.sentences]
        vectors = self.embedder.embed(texts)
        items, offset = [], 0
        for prepared, _ in pending:
            n = len(prepared.entry.sentences)
            sent_vecs = vectors[offset : offset + n]
            offset += n
            chunk_vecs = np.stack([_mean_unit(sent_vecs[list(c.sentence_ids)]) for c in prepared.chunks])
            items.append((prepared.entry, prepared.chunks, chunk_vecs, sent_vecs))
        self._journal_ids([p.entry.article.id for p, _ in pending] + [old for _, old in pending if old])
        self.store.add_many(items)
        results = []
        for prepared, old_id in pending:
            change.added.extend(prepared.chunks)
            reasons, replaced = [], None
            if prepared.note:
                summary = prepared.entry.article.kind == "summary"
                reasons.append(f"the feed's summary only ({prepared.note})" if summary else prepared.note)
            if old_id and old_id != prepared.entry.article.id:
                self.store.remove(old_id)
                change.removed.append(old_id)
                reasons.append(f"replaced the older version {old_id}")
                replaced = old_id
            a = prepared.entry.article
            results.append(FileResult(a.path or "", "added", "; ".join(reasons), a.id, a.title, prepared.entry.chunks, replaced))
        self._committed()
        return results


@dataclass
class _Change:
    """Chunks added and article ids removed by one ``add``/``remove``: what BM25 is updated with."""

    added: list[Chunk] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _note(doc: RawDoc | FileResult) -> str:
    return "" if isinstance(doc, FileResult) else doc.note


def _mean_unit(vectors: np.ndarray) -> np.ndarray:
    """A chunk's vector: the normalised mean of its sentences' vectors."""
    mean = vectors.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
