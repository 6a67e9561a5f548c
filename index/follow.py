"""Each app process's BM25 over a shared Chroma server, derived from the server's documents and kept current.

Chroma's own sparse search is Cloud-only, so every process builds BM25 from the chunks of the articles the server
lists (an article's record is written last, so a half-written article is never taken in), then follows the desk's
change marker (``index.desk``): every ``every_s`` seconds it reads the marker, and when it changed it takes in the
chunks of the articles that appeared and drops those of the articles that went (``BM25Index.updated``), rebuilding
once the change outgrows ``merge_ratio``. A server that cannot be reached leaves the last index in use.

Example (a store connected to a server, and its desk)::

    follower = FollowedBM25(store, desk, every_s=2.0, merge_ratio=0.1)
    Retriever(store, embedder, follower.current, ...)   # a function: the retriever reads the newest index per question
"""

from __future__ import annotations

import threading

from index.bm25 import BM25Index
from index.desk import Desk
from index.store import Store


class FollowedBM25:
    """A BM25 index that follows the shared store's committed changes (a daemon thread polls the marker)."""

    def __init__(self, store: Store, desk: Desk, *, every_s: float, merge_ratio: float) -> None:
        self._store, self._desk, self._merge_ratio = store, desk, merge_ratio
        self._lock = threading.Lock()
        self._marker = desk.marker()
        self._covered = set(store.article_ids())
        self._index = BM25Index.build(store.chunks_of(self._covered))
        self._stop = threading.Event()
        threading.Thread(target=self._follow, args=(every_s,), daemon=True, name="bm25-follow").start()

    def current(self) -> BM25Index:
        """The newest index (the retriever calls this per question)."""
        return self._index

    def refresh(self) -> bool:
        """Take in what changed since the last look, if the marker moved; whether it did."""
        with self._lock:
            marker = self._desk.marker()
            if marker == self._marker:
                return False
            listed = set(self._store.article_ids())
            added, removed = listed - self._covered, self._covered - listed
            index = self._index.updated(self._store.chunks_of(added), removed)
            if index.needs_merge(self._merge_ratio):
                index = BM25Index.build(self._store.chunks_of(listed))
            self._index, self._covered, self._marker = index, listed, marker
            return True

    def close(self) -> None:
        """Stop following (the thread ends at its next wake-up)."""
        self._stop.set()

    def _follow(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - unreachable, or its collections replaced: keep answering from the last index
                continue
