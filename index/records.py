"""Typed records passed between the indexing stages.

Every offset in the system points into ``Article.text`` (the cleaned body).

>>> a = Article.create(title="T", text="Hello world. Bye.", path="x.txt")
>>> s = Sentence(article_id=a.id, idx=0, start=0, end=12)
>>> a.text[s.start:s.end]
'Hello world.'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def content_hash(text: str) -> str:
    """Full sha256 hex digest of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Article:
    """One cleaned briefing. ``id`` is derived from the content hash, so re-adding is a no-op."""

    id: str
    title: str
    text: str
    sha256: str
    source: str | None = None
    url: str | None = None
    published: str | None = None  # ISO date (YYYY-MM-DD) when known
    path: str | None = None  # file the article came from ("file.jsonl#3" for a jsonl line)
    captions: tuple[str, ...] = ()  # photo captions kept out of the body
    kind: str = "article"  # "summary": only a feed's summary of the article (its page could not be fetched)

    @classmethod
    def create(cls, *, title: str, text: str, **meta: object) -> Article:
        digest = content_hash(text)
        return cls(id=digest[:16], title=title, text=text, sha256=digest, **meta)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RawDoc:
    """A decoded document before cleaning, as ``index.load`` produces it.

    ``structured`` is True when title/metadata came from the format itself (jsonl, html):
    then ``index.clean`` keeps the title and only tidies whitespace.
    """

    path: str  # display path; "file.jsonl#3" for line 3 of a jsonl file
    text: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published: str | None = None
    structured: bool = False
    kind: str = "article"  # "summary": a feed item's own summary, standing in for a page that could not be fetched
    note: str = ""  # said in the FileResult when it is added (e.g. why only the summary was kept)


@dataclass(frozen=True)
class Sentence:
    """A sentence span ``[start, end)`` of an article's text."""

    article_id: str
    idx: int
    start: int
    end: int

    @property
    def id(self) -> str:
        return f"{self.article_id}:s{self.idx}"


@dataclass(frozen=True)
class Chunk:
    """Consecutive sentences of one article; ``text == article.text[start:end]``."""

    id: str
    article_id: str
    start: int
    end: int
    text: str
    sentence_ids: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class FileResult:
    """What happened to one input file (or one jsonl line) during ``index add``."""

    path: str
    status: str  # "added" | "unchanged" | "skipped" | "rejected"
    reason: str = ""
    article_id: str | None = None
    title: str | None = None
    chunks: int = 0
    replaced: str | None = None  # the id of the older version (same path or URL) this one replaced
