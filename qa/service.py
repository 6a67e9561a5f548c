"""One index and one model behind a small facade: what long-running front ends (the chat page) use.

Indexing and answering share the store and the embedder; after every change the indexer's freshly
built BM25 index is handed to the retriever, so a briefing added from the page is answerable at once.

>>> import tempfile
>>> svc = BriefingService(Settings(data_dir=tempfile.mkdtemp(), embedder="hash"), generator=None)
>>> [r.status for r in svc.add(["briefings/"])], len(svc.briefings())
(['added'], 1)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from index.embed import make_embedder
from index.pipeline import Indexer, Progress, open_store
from index.records import Article, FileResult
from index.settings import Settings
from index.store import StoredArticle
from qa.answer import FROM_SETTINGS, Assistant
from qa.chat import Turn
from qa.generate import Generator
from qa.records import Answer


class BriefingService:
    """Ask, add, remove and list briefings over one data dir (created if missing)."""

    def __init__(self, settings: Settings | None = None, *, generator: Generator | None | object = FROM_SETTINGS) -> None:
        self.settings = settings or Settings()
        embedder = make_embedder(self.settings)
        store = open_store(self.settings, embedder, create=True)
        self._indexer = Indexer(self.settings, store=store, embedder=embedder)
        self.assistant = Assistant(self.settings, store=store, embedder=embedder, bm25=self._indexer.bm25, generator=generator)
        self._write_lock = threading.Lock()

    def ask_stream(self, question: str, history: Sequence[Turn] | None = None) -> Iterator[str | Answer]:
        return self.assistant.ask_stream(question, history)

    def ask(self, question: str, history: Sequence[Turn] | None = None) -> Answer:
        return self.assistant.ask(question, history)

    def add(self, paths: Iterable[str | Path], on_progress: Progress | None = None) -> list[FileResult]:
        """Index files; one result per file. Answers see the new briefings immediately."""
        with self._write_lock:
            results = self._indexer.add(paths, on_progress)
            self.assistant.retriever.bm25 = self._indexer.bm25
        return results

    def remove(self, article_id: str) -> StoredArticle:
        with self._write_lock:
            removed = self._indexer.remove(article_id)
            self.assistant.retriever.bm25 = self._indexer.bm25
        return removed

    def briefings(self) -> list[StoredArticle]:
        """Stored articles, newest first (undated last), then by title."""
        by_title = sorted(self._indexer.store.articles(), key=lambda e: e.article.title)
        return sorted(by_title, key=lambda e: e.article.published or "", reverse=True)

    def article(self, article_id: str) -> Article | None:
        entry = self._indexer.store.get(article_id)
        return entry.article if entry else None

