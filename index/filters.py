"""Date and source filters, applied inside retrieval (a Chroma ``where`` and a BM25 mask), never afterwards.

A filtered question gets its full evidence budget from the articles inside the filter. ``sources``
match an article's outlet name exactly, case-insensitively. When a date bound is set, undated
articles are outside the filter. Bounds are inclusive.

Stores index two extra metadata fields per article and per chunk for this: ``day`` (the published
date as the integer ``YYYYMMDD``, absent when undated) and ``source_key`` (the casefolded outlet).

>>> f = Filters.parse("2026-01-01", "2026-02-01", ["BBC News"])
>>> f.matches("2026-01-15", "bbc news"), f.matches("2026-03-01", "BBC News"), f.matches(None, "BBC News")
(True, False, False)
>>> f.where()
{'$and': [{'day': {'$gte': 20260101}}, {'day': {'$lte': 20260201}}, {'source_key': {'$in': ['bbc news']}}]}
>>> Filters().active, Filters(sources=("Reuters",)).where()
(False, {'source_key': {'$in': ['reuters']}})
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import BriefQAError

DAY, SOURCE_KEY = "day", "source_key"  # the metadata fields a filter reads


def day_number(published: str | None) -> int | None:
    """An ISO date (``YYYY-MM-DD``, as articles store it) as the integer ``YYYYMMDD``; None when undated or unparsable.

    >>> day_number("2026-01-31"), day_number(None), day_number("soon")
    (20260131, None, None)
    """
    if not published:
        return None
    try:
        d = dt.date.fromisoformat(published[:10])
    except ValueError:
        return None
    return d.year * 10000 + d.month * 100 + d.day


def source_key(source: str | None) -> str | None:
    """The outlet name as sources are matched: stripped and casefolded.

    >>> source_key("  BBC News "), source_key(None)
    ('bbc news', None)
    """
    key = (source or "").strip().casefold()
    return key or None


def filter_meta(published: str | None, source: str | None) -> dict[str, str | int]:
    """The metadata fields a filter reads, for an article with this date and outlet (absent ones left out).

    >>> filter_meta("2026-01-31", "Reuters"), filter_meta(None, None)
    ({'day': 20260131, 'source_key': 'reuters'}, {})
    """
    meta: dict[str, str | int] = {}
    day, key = day_number(published), source_key(source)
    if day is not None:
        meta[DAY] = day
    if key is not None:
        meta[SOURCE_KEY] = key
    return meta


@dataclass(frozen=True)
class Filters:
    """Which articles a question may be answered from: published in ``since``..``until`` (inclusive; either open)
    and from one of ``sources`` (any outlet when empty)."""

    since: dt.date | None = None
    until: dt.date | None = None
    sources: tuple[str, ...] = ()

    @classmethod
    def parse(cls, since: str | None = None, until: str | None = None, sources: Iterable[str] = ()) -> Filters:
        """Filters from text (``YYYY-MM-DD`` dates); a bad date or an empty range is a ``BriefQAError``."""
        lo, hi = _date(since, "--since"), _date(until, "--until")
        if lo and hi and lo > hi:
            raise BriefQAError(f"--since {lo} is after --until {hi}", "give a start date on or before the end date")
        return cls(lo, hi, tuple(s.strip() for s in sources if s and s.strip()))

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.sources)

    def matches(self, published: str | None, source: str | None) -> bool:
        """Whether an article with this date (ISO) and outlet is inside the filter."""
        return _inside(filter_meta(published, source), self)

    def where(self) -> dict[str, object] | None:
        """The filter as a Chroma ``where`` on the ``day`` / ``source_key`` metadata; None when inactive."""
        clauses: list[dict[str, object]] = []
        if self.since:
            clauses.append({DAY: {"$gte": _number(self.since)}})
        if self.until:
            clauses.append({DAY: {"$lte": _number(self.until)}})
        if self.sources:
            clauses.append({SOURCE_KEY: {"$in": sorted({source_key(s) or "" for s in self.sources})}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _inside(meta: dict[str, str | int], f: Filters) -> bool:
    day = meta.get(DAY)
    if (f.since or f.until) and not isinstance(day, int):
        return False
    if f.since and day < _number(f.since):  # type: ignore[operator]
        return False
    if f.until and day > _number(f.until):  # type: ignore[operator]
        return False
    return not f.sources or meta.get(SOURCE_KEY) in {source_key(s) for s in f.sources}


def matches_meta(meta: dict[str, object], f: Filters) -> bool:
    """Whether stored metadata with an article's ``published`` and ``source`` lies inside ``f`` (old indexes
    whose records lack the ``day`` / ``source_key`` fields read the dates and outlets themselves)."""
    published, source = meta.get("published"), meta.get("source")
    return f.matches(published if isinstance(published, str) else None, source if isinstance(source, str) else None)


def _number(d: dt.date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def _date(text: str | None, flag: str) -> dt.date | None:
    if text is None or not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise BriefQAError(f"{flag} {text!r} is not a date", f"give it as YYYY-MM-DD, e.g. {flag} 2026-01-31") from None
