"""What the analyst's page shows about an answer, as typed records: who is on which side, a timeline of the
cited articles, each answer sentence with its check, the index's status and example questions.

Pure functions over ``qa.records``; the page (``ui.render``) only turns them into HTML.

>>> from qa.records import Answer, Citation, Timings
>>> def c(n, stance, published):
...     return Citation(n, f"a{n}", "T", "Src", published, None, 0, 1, "q", None, True, stance=stance)
>>> a = Answer("Will it open?", "Yes [1]. No [2].", (c(1, "yes", "2025-03-03"), c(2, "no", "2025-04-15")),
...            "mixed", False, Timings(0, 0, 0))
>>> [(col.side, [x.n for x in col.citations]) for col in columns(a)]
[('yes', [1]), ('no', [2])]
>>> [(p.day.isoformat(), p.n, p.latest) for p in timeline(a)]
[('2025-03-03', 1, False), ('2025-04-15', 2, True)]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from index.store import StoredArticle
from qa.records import Answer, Citation, Side
from qa.verify import split_claims

Check = Literal["supported", "contradicted", "unsupported", "unchecked", "uncited"]
SIDE_LABELS: dict[Side, str] = {"yes": "Yes", "no": "No", "neither": "Neither"}
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Column:
    """One side of a yes/no answer and the quote cards on it."""

    side: Side
    label: str
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class TimelinePoint:
    """One cited article on the timeline: its date, the first card citing it, and whether it is the latest."""

    day: date
    n: int
    source: str | None
    title: str
    latest: bool


@dataclass(frozen=True)
class Claim:
    """One sentence of the answer text, the card numbers it cites, and what the judge found for its quotes."""

    text: str
    numbers: tuple[int, ...]
    check: Check


@dataclass(frozen=True)
class IndexStatus:
    """What the page's status line says: how much is indexed, how fresh, and which models answer."""

    articles: int
    newest: str | None  # the latest published date (ISO) among the indexed articles
    updated: float | None  # when the index was last written (POSIX time)
    generator: str
    embedder: str


def side_of(c: Citation) -> Side:
    """The side a quote takes: the judge's when it gave one, else the quote's own stance ("neutral" → neither).

    >>> from qa.records import Support
    >>> q = Citation(1, "a", "T", None, None, None, 0, 1, "q", None, True, stance="yes")
    >>> side_of(q), side_of(Citation(**{**q.__dict__, "support": Support("contradicts", 0.9, "no", 0.9)}))
    ('yes', 'no')
    """
    if c.support is not None and c.support.side is not None:
        return c.support.side
    return c.stance if c.stance in ("yes", "no") else "neither"


def columns(answer: Answer) -> tuple[Column, ...]:
    """Yes and No columns (and Neither when a quote takes no side) when some quote takes a side; else ()."""
    sides = [side_of(c) for c in answer.citations]
    if not {"yes", "no"} & set(sides):
        return ()
    shown: list[Side] = ["yes", "no"] + (["neither"] if "neither" in sides else [])
    return tuple(Column(s, SIDE_LABELS[s], tuple(c for c, cs in zip(answer.citations, sides) if cs == s)) for s in shown)


def _day(published: str | None) -> date | None:
    try:
        return date.fromisoformat(published) if published else None
    except ValueError:
        return None


def timeline(answer: Answer) -> tuple[TimelinePoint, ...]:
    """The cited articles that carry a date, oldest first, one point each (its first card); () for fewer than two."""
    first: dict[str, tuple[date, Citation]] = {}
    for c in answer.citations:
        day = _day(c.published)
        if day is not None and c.article_id not in first:
            first[c.article_id] = (day, c)
    if len(first) < 2:
        return ()
    ordered = sorted(first.values(), key=lambda dc: (dc[0], dc[1].n))
    latest = ordered[-1][0]
    return tuple(TimelinePoint(day, c.n, c.source, c.title, day == latest) for day, c in ordered)


_SIDE_SENTENCE = re.compile(r"(Yes|No|See also): ")  # qa.compose.side_by_side: "No: Sergei Ryabkov [2]."
_CLAIMED_SIDE: dict[str, Side] = {"Yes": "yes", "No": "no", "See also": "neither"}


def _check(text: str, numbers: Sequence[int], by_n: dict[int, Citation]) -> Check:
    judged = [by_n[n].support for n in numbers if n in by_n and by_n[n].support is not None]
    if not numbers:
        return "uncited"
    if not judged:
        return "unchecked"
    side = _SIDE_SENTENCE.match(text)
    if side and all(s is not None and s.side for s in judged):  # a side sentence claims the quotes' side, not a fact:
        want, got = _CLAIMED_SIDE[side.group(1)], {s.side for s in judged if s is not None}  # "No: X [2]" holds when [2] says no
        return "supported" if got == {want} else "contradicted" if got & ({"yes", "no"} - {want}) else "unsupported"
    labels = {s.label for s in judged if s is not None}
    if "supports" in labels:
        return "supported"
    return "contradicted" if "contradicts" in labels else "unsupported"


def claims(answer: Answer) -> tuple[Claim, ...]:
    """The answer text sentence by sentence, each with its cited card numbers and its check.

    >>> from qa.records import Citation, Support, Timings
    >>> q = Citation(1, "a", "T", None, None, None, 0, 1, "q", None, True, support=Support("supports", 0.9))
    >>> [(c.numbers, c.check) for c in claims(Answer("q", "It opens [1]. It is late.", (q,), "supported", False, Timings(0, 0, 0)))]
    [((1,), 'supported'), ((), 'uncited')]
    >>> no = Citation(1, "a", "T", None, None, None, 0, 1, "q", None, True, support=Support("contradicts", 0.9, "no", 0.9))
    >>> [c.check for c in claims(Answer("q", "No, according to the briefings. No: Sergei Ryabkov [1].", (no,), "contradicted", False, Timings(0, 0, 0)))]
    ['uncited', 'supported']
    """
    by_n = {c.n: c for c in answer.citations}
    out = []
    for text in split_claims(answer.text):  # the sentences the judge judged
        numbers = tuple(dict.fromkeys(int(m) for m in _MARKER.findall(text)))
        out.append(Claim(text, numbers, _check(text, numbers, by_n)))
    return tuple(out)


def judged(answer: Answer) -> bool:
    """Whether the support judge looked at this answer's quotes (then the page shows each sentence's check)."""
    return any(c.support is not None for c in answer.citations) or bool(answer.unsupported)


def example_questions(entries: Sequence[StoredArticle], k: int = 3) -> tuple[str, ...]:
    """Questions about the ``k`` most recently published indexed articles (``entries`` newest first).

    >>> from index.records import Article
    >>> example_questions([StoredArticle(Article.create(title="Barrier cost rises", text="x"), (), 1)])
    ('What do the briefings say about “Barrier cost rises”?',)
    """
    titles = list(dict.fromkeys(e.article.title.strip() for e in entries if e.article.title.strip()))
    return tuple(f"What do the briefings say about “{t}”?" for t in titles[:k])


def index_status(entries: Sequence[StoredArticle], updated: float | None, generator: str, embedder: str) -> IndexStatus:
    """The status line's record over the stored articles.

    >>> index_status([], None, "extractive", "hash-256").articles
    0
    """
    dates = [e.article.published for e in entries if _day(e.article.published)]
    return IndexStatus(len(entries), max(dates) if dates else None, updated, generator, embedder)
