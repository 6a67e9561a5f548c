"""One index and one model behind a small facade: what long-running front ends (the chat page) use.

Indexing and answering share the store and the embedder; after every change the indexer's freshly
built BM25 index is handed to the retriever, so a briefing added from the page is answerable at once.
Uploaded files are copied into ``<data dir>/uploads/`` under sanitised names before indexing.

>>> import tempfile
>>> svc = BriefingService(Settings(data_dir=tempfile.mkdtemp(), embedder="hash"), generator=None)
>>> [r.status for r in svc.add(["briefings/"])], len(svc.briefings())
(['added'], 1)
"""

from __future__ import annotations

import filecmp
import re
import shutil
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from index.embed import make_embedder
from index.pipeline import Indexer, Progress, open_store
from index.records import Article, FileResult
from core.settings import Settings
from index.store import Store, StoredArticle
from qa.answer import FROM_SETTINGS, Assistant
from qa.chat import Turn
from qa.generators import Generator
from qa.records import Answer


class BriefingService:
    """Ask, add, remove and list briefings over one data dir (created if missing)."""

    def __init__(self, settings: Settings | None = None, *, generator: Generator | None | object = FROM_SETTINGS) -> None:
        self.settings = settings or Settings()
        embedder = make_embedder(self.settings)
        store = open_store(self.settings, embedder, create=True)
        self._indexer = Indexer(self.settings, store=store, embedder=embedder)
        self.assistant = Assistant(self.settings, store=store, embedder=embedder, bm25=lambda: self._indexer.bm25, generator=generator)
        self._write_lock = threading.Lock()

    def ask_stream(self, question: str, history: Sequence[Turn] | None = None) -> Iterator[str | Answer]:
        return self.assistant.ask_stream(question, history)

    def ask(self, question: str, history: Sequence[Turn] | None = None) -> Answer:
        return self.assistant.ask(question, history)

    def add(self, paths: Iterable[str | Path], on_progress: Progress | None = None) -> list[FileResult]:
        """Index files; one result per file. Answers see the new briefings immediately."""
        with self._write_lock:
            results = self._indexer.add(paths, on_progress)
        return results

    def add_uploads(self, paths: Sequence[str | Path], on_progress: Progress | None = None) -> list[FileResult]:
        """Index uploaded files from copies kept in ``<data dir>/uploads/`` (see ``store_upload``).

        A file over ``max_upload_mb`` is rejected unread; a new copy from which nothing was added is deleted again.
        """
        limit = self.settings.max_upload_mb
        refused, copies, created = [], [], []
        for src in map(Path, paths):
            try:
                size = src.stat().st_size
                if size > limit * 1024 * 1024:
                    reason = f"file is {size / 1024 / 1024:.1f} MB, over the {limit:g} MB upload limit (BRIEFQA_MAX_UPLOAD_MB)"
                    refused.append(FileResult(safe_name(src.name), "rejected", reason))
                    continue
                dest, new = store_upload(src, self.settings.data_dir / "uploads")
            except OSError as err:
                refused.append(FileResult(safe_name(src.name), "rejected", f"cannot store the upload: {err.strerror or err}"))
                continue
            copies.append(dest)
            if new:
                created.append(dest)
        results = self.add(copies, on_progress) if copies else []
        for dest in created:
            if not any(r.status == "added" and (r.path == str(dest) or r.path.startswith(f"{dest}#")) for r in results):
                dest.unlink()
        return refused + results

    def remove(self, article_id: str) -> StoredArticle:
        with self._write_lock:
            removed = self._indexer.remove(article_id)
        return removed

    def briefings(self) -> list[StoredArticle]:
        """Stored articles, newest first (undated last), then by title."""
        by_title = sorted(self._indexer.store.articles(), key=lambda e: e.article.title)
        return sorted(by_title, key=lambda e: e.article.published or "", reverse=True)

    def article(self, article_id: str) -> Article | None:
        entry = self._indexer.store.get(article_id)
        return entry.article if entry else None



_UNSAFE = re.compile(r"[^\w.()+ -]+")  # \w is Unicode-aware: names in any script stay readable
_MAX_NAME_BYTES = 200


def safe_name(name: str) -> str:
    """A file name that is only a name: no directories, no leading dot, no control characters, short.

    >>> safe_name("../../etc/passwd"), safe_name("..\\\\boot.ini"), safe_name(".bashrc"), safe_name("Новости 1.txt")
    ('passwd', 'boot.ini', 'bashrc', 'Новости 1.txt')
    """
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE.sub("_", base).strip(" ._") or "upload"
    stem, dot, suffix = _split(base)
    suffix = suffix[:16]
    room = _MAX_NAME_BYTES - len((dot + suffix).encode("utf-8"))
    return (stem.encode("utf-8")[:room].decode("utf-8", "ignore") or "upload") + dot + suffix


def _split(name: str) -> tuple[str, str, str]:
    return name.rpartition(".") if "." in name else (name, "", "")


def store_upload(src: Path, folder: Path) -> tuple[Path, bool]:
    """Copy ``src`` into ``folder`` under its safe name (``name-2.txt``… when a different file has it).

    Returns the copy and whether it is new (an identical file already there is reused). The copy is
    created exclusively, so it never replaces nor writes through an existing file or link.
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_name(src.name)
    stem, dot, suffix = _split(name)
    n = 1
    while True:
        dest = folder / (name if n == 1 else f"{stem}-{n}{dot}{suffix}")
        try:
            with open(dest, "xb") as out:
                try:
                    with open(src, "rb") as data:
                        shutil.copyfileobj(data, out)
                except OSError:
                    dest.unlink()
                    raise
            return dest, True
        except FileExistsError:
            if dest.is_file() and not dest.is_symlink() and filecmp.cmp(src, dest, shallow=False):
                return dest, False
        n += 1
