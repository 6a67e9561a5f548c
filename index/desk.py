"""Several app processes over one Chroma server (a newsroom desk): the writer's lease, the write journal and the
change marker, kept as three records of one small collection (``briefqa_desk``) in the server itself.

Chroma has no transactions, but two of its operations make a lease: ``add`` of an id that exists is a no-op (the
first record wins, and everyone reads the same winner back), and ``delete`` with a ``where`` on a holder's token
removes only that holder's record. A writer takes the lease by adding it (once it has expired: by deleting exactly
that expired record, then adding its own), waits a moment for racing requests to land and reads it back; a thread
renews the expiry while it writes. Another writer is refused in one line naming the holder and the expiry.

The journal lists the article ids a batch is writing or removing (before the store is touched) and is emptied when
the batch is committed; then the marker changes, and every process following it (``index.follow``) brings its BM25
up to date. A writer killed mid-batch leaves the journal: the next writer purges the journal's articles that have no
record (the record is written last), as the local journal does.

>>> Lease("briefqa index add (pid 7 on desk-2)", 1767225600.0, "t").line()
'briefqa index add (pid 7 on desk-2) until 00:00:00 UTC'
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from core.errors import BriefQAError

COLLECTION = "briefqa_desk"
_LEASE, _JOURNAL, _MARKER = "writer-lease", "write-journal", "change-marker"
_SETTLE_S = 0.2  # after adding the lease: long enough for a racing writer's delete or add to have landed
_ONE = [[1.0]]  # the records carry no meaning in their vectors; Chroma wants one


@dataclass(frozen=True)
class Lease:
    """The writer's lease as the server keeps it: who holds it, until when (epoch seconds), and its token."""

    holder: str
    until: float
    token: str

    def line(self) -> str:
        return f"{self.holder} until {datetime.fromtimestamp(self.until, timezone.utc):%H:%M:%S} UTC"


class Desk:
    """The desk records of one Chroma server; ``collection`` is the store's ``desk_collection()``.

    ``writing()`` holds the lease (re-entrant within the process); ``note``/``commit`` keep the journal and the
    marker; ``marker()`` is what followers poll."""

    def __init__(self, collection, url: str, *, lease_s: float, purpose: str = "briefqa") -> None:  # noqa: ANN001 - a chromadb Collection
        self._col, self.url, self.lease_s = collection, url, lease_s
        self.holder = f"{purpose} (pid {os.getpid()} on {socket.gethostname()})"
        self._token = ""
        self._depth = 0
        self._guard = threading.RLock()
        self._stop = threading.Event()  # a fresh one per lease taken: set when it is released
        self._col.add(ids=[_MARKER], embeddings=_ONE, metadatas=[{"at": "start"}])  # a no-op once it exists

    # ----- the lease -------------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the lease for the ``with`` block (taken on entry unless this process holds it already)."""
        with self._guard:
            if not self._depth:
                self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if not self._depth:
                    self._release()

    def current(self) -> Lease | None:
        """The lease the server holds now (expired or not), if any."""
        got = self._col.get(ids=[_LEASE], include=["metadatas"])
        if not got["ids"]:
            return None
        meta = got["metadatas"][0]
        return Lease(str(meta["holder"]), float(meta["until"]), str(meta["token"]))

    def _acquire(self) -> None:
        held = self.current()
        if held is not None and held.until > time.time():
            raise self._refused(held)
        if held is not None:  # expired: remove exactly that record (a newer one has another token)
            self._col.delete(ids=[_LEASE], where={"token": held.token})
        token = uuid.uuid4().hex
        self._col.add(ids=[_LEASE], embeddings=_ONE, metadatas=[{"holder": self.holder, "until": time.time() + self.lease_s, "token": token}])
        time.sleep(_SETTLE_S)
        won = self.current()
        if won is None or won.token != token:
            raise self._refused(won)
        self._token, self._stop = token, threading.Event()
        threading.Thread(target=self._renew, args=(token, self._stop), daemon=True, name="desk-lease").start()

    def _refused(self, held: Lease | None) -> BriefQAError:
        who = held.line() if held else "another writer that is just starting"
        return BriefQAError(f"the shared index at {self.url} is being written by {who}",
                            "wait for it to finish and try again; while the chat page runs, add briefings from its Briefings tab")

    def _renew(self, token: str, stop: threading.Event) -> None:
        """Extend the expiry every third of the lease while this token holds it."""
        while not stop.wait(self.lease_s / 3):
            try:
                held = self.current()
                if held is None or held.token != token:
                    return
                self._col.update(ids=[_LEASE], metadatas=[{"until": time.time() + self.lease_s}])
            except Exception:  # noqa: BLE001 - unreachable for now; ``check`` refuses to commit if the lease is lost
                continue

    def check(self) -> None:
        """Raise unless this process still holds the lease (called before each batch reaches the store)."""
        held = self.current()
        if held is None or held.token != self._token:
            raise BriefQAError(f"this writer lost its lease on the shared index at {self.url} (it was not renewed in time)",
                               "run the command again; the journal in the server lets the next writer finish cleanly")

    def _release(self) -> None:
        self._stop.set()
        if self._token:
            self._col.delete(ids=[_LEASE], where={"token": self._token})
            self._token = ""

    # ----- the journal and the marker --------------------------------------------------------------

    def journal(self) -> set[str]:
        """The article ids an interrupted batch was writing or removing (empty when the last one was committed)."""
        got = self._col.get(ids=[_JOURNAL], include=["metadatas"])
        return set(json.loads(str(got["metadatas"][0]["ids"]))) if got["ids"] else set()

    def note(self, article_ids: Iterable[str]) -> None:
        """Add ``article_ids`` to the journal before the store is touched."""
        ids = sorted(self.journal() | set(article_ids))
        self._col.upsert(ids=[_JOURNAL], embeddings=_ONE, metadatas=[{"ids": json.dumps(ids)}])

    def commit(self) -> None:
        """A batch is complete: empty the journal and change the marker (followers update their BM25)."""
        self._col.delete(ids=[_JOURNAL])
        self._col.update(ids=[_MARKER], metadatas=[{"at": uuid.uuid4().hex}])

    def marker(self) -> str:
        """Changes with every committed batch (followers compare it with the one they last saw)."""
        got = self._col.get(ids=[_MARKER], include=["metadatas"])
        return str(got["metadatas"][0]["at"]) if got["ids"] else ""
