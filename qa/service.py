"""The one place that builds the app — embedder, store, BM25, writer lock, generator, retriever — and the
front ends' facade over it.

``open_assistant`` answers over an existing index (no lock: readers never write); ``open_indexer``
takes the data dir's writer lock before loading anything, then opens the index for writing;
``BriefingService`` is both over one store and one embedder, for long-running front ends (the chat
page): the retriever reads the indexer's current BM25, so a briefing added from the page is
answerable at once. Uploaded files are copied into ``<data dir>/uploads/`` under sanitised names.
``ask`` / ``ask_stream``: the Python query functions (one cached assistant per settings).
``watch_feeds``: rounds of re-adding feeds (``briefqa index watch``), one ``WatchRound`` each.

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
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from core.errors import BriefQAError
from core.settings import Settings
from index.bm25 import BM25Index
from index.embed import Embedder, make_embedder
from index.feeds import is_url
from index.filters import Filters, source_key
from index.lock import hold_writer_lock
from index.pipeline import Indexer, Progress, open_desk, open_store, reader_bm25
from index.records import Article, FileResult
from index.store import Store, StoredArticle
from qa.assistant import Assistant
from qa.chat import Turn
from qa.generators import Generator, make_generator
from qa.checker import Checker, CheckerJudge
from qa.choose import CheckerScorer, QuoteChooser, Quoted
from qa.factcheck import FactCheck, check_claim
from qa.judge import Judge, load_calibration
from qa.policy import rules_off
from qa.records import Answer, Drafting, Reading
from qa.retrieve import Retriever
from qa.verify import Verifier
from qa.views import IndexStatus, example_questions, index_status

FROM_SETTINGS = object()  # sentinel: build the generator that settings name


def open_index(settings: Settings, *, create: bool) -> tuple[Embedder, Store]:
    """The embedder and the store (embedded, or the Chroma server at BRIEFQA_CHROMA_URL) that settings name."""
    embedder = make_embedder(settings)
    return embedder, open_store(settings, embedder, create=create)


def open_indexer(settings: Settings, purpose: str = "briefqa", *, embedder: Embedder | None = None) -> Indexer:
    """An ``Indexer`` for the data dir, after taking its writer lock (``purpose`` names the holder to others); over a
    Chroma server, each change takes the server's writer lease instead (``index.desk``), so replicas can run side by side."""
    if not settings.chroma_url:
        hold_writer_lock(settings.data_dir, purpose)  # refuse a second writer before loading anything
    embedder = embedder or make_embedder(settings)
    store = open_store(settings, embedder, create=True)
    return Indexer(settings, store=store, embedder=embedder, desk=open_desk(settings, store, purpose))


def open_assistant(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    embedder: Embedder | None = None,
    bm25: BM25Index | Callable[[], BM25Index] | None = None,
    generator: Generator | None | object = FROM_SETTINGS,
) -> Assistant:
    """An ``Assistant`` over the index ``settings`` name; any part given is used instead of being built."""
    s = settings or Settings()
    if generator is FROM_SETTINGS:  # the model worker starts first, so that it loads while the embedder and the index load
        generator = make_generator(s)
    embedder = embedder or make_embedder(s)
    store = store or open_store(s, embedder, create=False)
    bm25 = bm25 or reader_bm25(s, store)
    retriever = Retriever(store, embedder, bm25, top_chunks=s.top_chunks, per_article=s.max_chunks_per_article, evidence=s.evidence_sentences)
    return Assistant(s, retriever, generator, make_verifier(s, generator), make_chooser(s))  # type: ignore[arg-type]


def make_chooser(settings: Settings) -> QuoteChooser | None:
    """Quotes first (``settings.answer_order``): the checker chooses the answer's quotes; llm_first: none."""
    if settings.answer_order != "quotes_first":
        return None
    scorer = CheckerScorer(CheckerJudge(Checker.load(), vetoes="no_invention" not in rules_off(settings)))
    return QuoteChooser(scorer, min_p=settings.quote_min_p, max_quotes=settings.max_quotes)


def make_verifier(settings: Settings, generator: object) -> Verifier | None:
    """The support judge ``settings.judge`` names: the local model's log-probabilities (only a generator that can
    score labels; others get word rules), our checker (whatever the generator), or none."""
    vetoes = "no_invention" not in rules_off(settings)  # the judge's vetoes belong to that rule of qa.policy
    if settings.judge == "checker":
        return Verifier(CheckerJudge(Checker.load(), vetoes=vetoes), settings)
    if settings.judge == "llm" and getattr(generator, "supports_logprobs", False):  # declared (qa.generators.base)
        return Verifier(Judge(generator, load_calibration(), vetoes=vetoes), settings)  # type: ignore[arg-type]
    return None

_assistants: dict[str, Assistant] = {}
_assistants_lock = threading.Lock()


def _assistant(settings: Settings | None, *, model: bool = True) -> Assistant:
    """The process's assistant for ``settings``; ``model=False``: one without a generator (fact checks)."""
    settings = settings or Settings()
    key = settings.model_dump_json() + ("" if model else " no-model")
    with _assistants_lock:
        if key not in _assistants:
            _assistants[key] = open_assistant(settings) if model else open_assistant(settings, generator=None)
        return _assistants[key]


def ask(question: str, history: Sequence[Turn] | None = None, settings: Settings | None = None, *, filters: Filters | None = None) -> Answer:
    """Answer ``question`` over the index named by ``settings`` (default: ``Settings()``), from the articles inside
    ``filters`` only (``Filters(since=date(2026, 1, 1), sources=("Reuters",))``)."""
    return _assistant(settings).ask(question, history, filters=filters)


def ask_stream(
    question: str, history: Sequence[Turn] | None = None, settings: Settings | None = None, *, filters: Filters | None = None
) -> Iterator[str | Quoted | Answer]:
    """Yield the chosen quotes at once (``Quoted``, quotes first only), the answer text as it grows, then the final
    ``Answer`` (``filters`` as for ``ask``)."""
    return _assistant(settings).ask_stream(question, history, filters=filters)


def check(claim: str, settings: Settings | None = None, *, filters: Filters | None = None) -> FactCheck:
    """The quotes of the indexed briefings that support or contradict ``claim``, judged by the checker (no
    generator is started): ``check("Russia called Iran an ally").verdict`` → ``'mixed'``."""
    settings = settings or Settings()
    return check_claim(claim, _assistant(settings, model=False).retriever, CheckerJudge(Checker.load()), filters, settings.check_min_p)


class BriefingService:
    """Ask, add, remove and list briefings over one data dir (created if missing)."""

    def __init__(self, settings: Settings | None = None, *, generator: Generator | None | object = FROM_SETTINGS) -> None:
        self.settings = settings or Settings()
        if generator is FROM_SETTINGS:  # the model worker loads while the embedder and the store do
            generator = make_generator(self.settings)
        self._indexer = open_indexer(self.settings, "briefqa serve")
        ix = self._indexer
        self.assistant = open_assistant(self.settings, store=ix.store, embedder=ix.embedder, bm25=lambda: ix.bm25, generator=generator)
        self._write_lock = threading.Lock()

    def ask_stream(
        self, question: str, history: Sequence[Turn] | None = None, *, filters: Filters | None = None
    ) -> Iterator[str | Quoted | Answer]:
        return self.assistant.ask_stream(question, history, filters=filters)

    def ask(self, question: str, history: Sequence[Turn] | None = None, *, filters: Filters | None = None) -> Answer:
        return self.assistant.ask(question, history, filters=filters)

    def events(
        self, question: str, history: Sequence[Turn] | None = None, *, filters: Filters | None = None
    ) -> Iterator[Reading | Quoted | Drafting | Answer]:
        """The briefings being read (``Reading``), quotes first: the chosen quotes (``Quoted``), then the answer as it
        grows (``Drafting``: text and verbatim quotes), then the ``Answer``."""
        return self.assistant.events(question, history, filters=filters)

    def add(self, paths: Iterable[str | Path], on_progress: Progress | None = None, *, allow_private: bool | None = None) -> list[FileResult]:
        """Index files and URLs; one result per file, page or feed item. Answers see the new briefings immediately."""
        with self._write_lock:
            return self._indexer.add(paths, on_progress, allow_private=allow_private)

    def add_urls(self, urls: Sequence[str], on_progress: Progress | None = None, *, allow_private: bool | None = None) -> list[FileResult]:
        """Index pasted page and feed URLs (blank entries ignored); anything that is not a URL is rejected, never read as a path.

        ``allow_private`` overrides the ``fetch_allow_private`` setting (private and loopback addresses)."""
        wanted = [u.strip() for u in urls if u.strip()]
        refused = [FileResult(u, "rejected", "not a URL (http:// or https://)") for u in wanted if not is_url(u)]
        fetched = [u for u in wanted if is_url(u)]
        return refused + (self.add(fetched, on_progress, allow_private=allow_private) if fetched else [])

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
            return self._indexer.remove(article_id)

    def briefings(self) -> list[StoredArticle]:
        """Stored articles, newest first (undated last), then by title."""
        return newest_first(self._indexer.store.articles())

    def article(self, article_id: str) -> Article | None:
        entry = self._indexer.store.get(article_id)
        return entry.article if entry else None

    def status(self) -> IndexStatus:
        """Articles indexed, the newest date, when the index was last written, the generator and embedder in use."""
        bm25 = self.settings.bm25_dir
        updated = bm25.stat().st_mtime if bm25.is_dir() else None
        generator = self.assistant.generator
        return index_status(self.briefings(), updated, generator.name if generator else "extractive (no model)",
                            self._indexer.embedder.name)

    def examples(self, k: int = 3) -> tuple[str, ...]:
        """Example questions about the most recently published indexed briefings."""
        return example_questions(self.briefings(), k)

    def sources(self) -> list[str]:
        """The outlets of the stored articles (one spelling per outlet, as filters match them), sorted."""
        return briefing_sources(self._indexer.store.articles())



def newest_first(entries: Iterable[StoredArticle]) -> list[StoredArticle]:
    """``entries`` newest first (undated last), then by title."""
    by_title = sorted(entries, key=lambda e: e.article.title)
    return sorted(by_title, key=lambda e: e.article.published or "", reverse=True)


def briefing_sources(entries: Iterable[StoredArticle]) -> list[str]:
    """The distinct outlets of ``entries`` (case-insensitively: the first spelling met), sorted case-insensitively.

    >>> a = lambda s: StoredArticle(Article.create(title="t", text=s or "x", source=s), (), 0)
    >>> briefing_sources([a("Reuters"), a("BBC News"), a("reuters"), a(None)])
    ['BBC News', 'Reuters']
    """
    seen: dict[str, str] = {}
    for e in entries:
        key = source_key(e.article.source)
        if key and key not in seen:
            seen[key] = e.article.source.strip()  # type: ignore[union-attr]
    return sorted(seen.values(), key=str.casefold)

@dataclass(frozen=True)
class WatchRound:
    """One round of ``watch_feeds``: when it ended and what it did (``results``: one per feed item)."""

    n: int
    at: datetime
    results: tuple[FileResult, ...]

    @property
    def new(self) -> int:
        return sum(r.status == "added" and not r.replaced for r in self.results)

    @property
    def changed(self) -> int:
        return sum(r.status == "added" and bool(r.replaced) for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.status == "rejected" for r in self.results)

    def line(self) -> str:
        """``12:00:03 round 3: 2 new, 0 changed, 1 failed``"""
        return f"{self.at:%H:%M:%S} round {self.n}: {self.new} new, {self.changed} changed, {self.failed} failed"


def watch_feeds(indexer: Indexer, urls: Sequence[str], *, every_s: float, rounds: int | None = None,
                allow_private: bool | None = None, pause: Callable[[float], None] | None = None) -> Iterator[WatchRound]:
    """Add ``urls`` (feeds or pages) every ``every_s`` seconds, ``rounds`` times (None: until interrupted).

    Unchanged items are no-ops (content hash), so each round adds only new items and new versions. An
    interrupt (Ctrl-C) while a round writes leaves the journal that the next open repairs.
    """
    n = 0
    while rounds is None or n < rounds:
        if n:
            (pause or _pause)(every_s)
        n += 1
        results = indexer.add(list(urls), allow_private=allow_private)
        yield WatchRound(n, datetime.now(), tuple(results))


def _pause(seconds: float) -> None:
    """The wait between two rounds (Ctrl-C interrupts it)."""
    time.sleep(seconds)


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


def parse_duration(text: str) -> float:
    """Seconds in ``30m``, ``1h``, ``1h30m``, ``90s`` or ``90``.

    >>> parse_duration("30m"), parse_duration("1h30m"), parse_duration("45")
    (1800.0, 5400.0, 45.0)
    """
    found = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or found is None or not any(found.groups()):
        raise BriefQAError(f"invalid interval {text!r}", "write it as 30m, 1h, 1h30m or 90s")
    h, m, s = (float(g) if g else 0.0 for g in found.groups())
    return h * 3600 + m * 60 + s


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
