"""Near-duplicate articles (syndicated copies of one story) and the statements they share.

Two articles are near-duplicates when most word 5-shingles of the shorter one also occur in the
longer one (containment ``|A ∩ B| / min(|A|, |B|) >= NEAR_DUPLICATE``; containment rather than
Jaccard so that a trimmed or extended copy still counts). Shingle sets are exact (hashed word
5-grams), not MinHash sketches: only the handful of articles a question retrieves are compared,
where exact sets are both cheaper and exact.

Copies are grouped at article level but collapsed at statement level: a sentence of a copy is
replaced by the same statement (``statement_key``: case, whitespace, quote marks and punctuation
ignored) of the earliest article of its group. A sentence that differs — a copy with one fact
changed — stays, so disagreement is never hidden. Earliest: by published date, undated articles
after dated ones, ties broken by the smaller article id (deterministic; ids are content hashes).

>>> from index.records import Article, Chunk, Sentence
>>> from index.sentences import sentences_of
>>> body = "The council approved the plan on Monday. Work starts in June, the mayor said. " * 3
>>> a = Article.create(title="A", text=body + "It costs £4m.", published="2025-03-01")
>>> b = Article.create(title="B", text=body + "It costs £5m.", published="2025-03-02")
>>> fa, fb = (fingerprint(x, sentences_of(x.id, x.text)) for x in (a, b))
>>> near_duplicates(fa, fb)
True
>>> groups = Syndication({a.id: fa, b.id: fb}.__getitem__)
>>> groups.group(b.id) == groups.group(a.id) == b.id
True
>>> groups.canonical(b.id, 0) == (a.id, 0), groups.canonical(b.id, 6) == (b.id, 6)
(True, True)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from index.records import Article, Chunk, Sentence

SHINGLE_WORDS = 5
NEAR_DUPLICATE = 0.5
_WORD = re.compile(r"\w+")


def statement_key(text: str) -> str:
    """``text`` with case, whitespace, quote marks and punctuation normalised away.

    >>> statement_key('“We won’t go,”  he SAID.') == statement_key("\\"We won't go\\" he said")
    True
    """
    return " ".join(_WORD.findall(text.casefold()))


def shingles(text: str, k: int = SHINGLE_WORDS) -> frozenset[int]:
    """Hashes of the word ``k``-grams of ``text`` (case and punctuation ignored).

    >>> len(shingles("one two three four five six")), len(shingles("too short"))
    (2, 0)
    """
    words = _WORD.findall(text.casefold())
    return frozenset(hash(" ".join(words[i : i + k])) for i in range(len(words) - k + 1))


@dataclass(frozen=True)
class Fingerprint:
    """What near-duplicate detection needs of one article; computed once per article id."""

    article_id: str
    published: str | None
    shingles: frozenset[int]
    keys: tuple[str, ...]  # statement_key of each sentence, by sentence idx
    first: Mapping[str, int]  # statement_key -> idx of its first sentence ("" never)

    @property
    def order(self) -> tuple[bool, str, str]:
        """Sort key, earliest first: dated before undated, then date, then id."""
        return (self.published is None, self.published or "", self.article_id)


def fingerprint(article: Article, sentences: Sequence[Sentence]) -> Fingerprint:
    """The shingles and statement keys of ``article`` (``sentences``: all of its sentences, in order)."""
    keys = tuple(statement_key(article.text[s.start : s.end]) for s in sentences)
    first: dict[str, int] = {}
    for idx, key in enumerate(keys):
        if key:
            first.setdefault(key, idx)
    return Fingerprint(article.id, article.published, shingles(article.text), keys, first)


def containment(a: Fingerprint, b: Fingerprint) -> float:
    """Share of the smaller shingle set found in the other (0.0 when either is empty)."""
    small, large = sorted((a.shingles, b.shingles), key=len)
    return len(small & large) / len(small) if small else 0.0


def near_duplicates(a: Fingerprint, b: Fingerprint) -> bool:
    """Whether ``a`` and ``b`` are copies of one story (see the module docstring)."""
    return a.article_id == b.article_id or containment(a, b) >= NEAR_DUPLICATE


class Syndication:
    """Groups the articles of one retrieval, in the order they are met.

    An article joins the first group holding a near-duplicate of it, else starts a group keyed by
    its own id. ``fingerprint_of`` is called once per article (the caller caches across questions).
    """

    def __init__(self, fingerprint_of: Callable[[str], Fingerprint]) -> None:
        self._fingerprint_of = fingerprint_of
        self._group: dict[str, str] = {}
        self._members: dict[str, list[Fingerprint]] = {}

    def group(self, article_id: str) -> str:
        """The key of ``article_id``'s group (the id of the group's first-met article)."""
        if article_id not in self._group:
            fp = self._fingerprint_of(article_id)
            key = next((k for k, ms in self._members.items() if any(near_duplicates(fp, m) for m in ms)), article_id)
            self._members.setdefault(key, []).append(fp)
            self._members[key].sort(key=lambda m: m.order)
            self._group[article_id] = key
        return self._group[article_id]

    def statements(self, chunk: Chunk) -> set[str]:
        """The statement keys of ``chunk``'s sentences (sentences without words left out)."""
        keys = self._fingerprint_of(chunk.article_id).keys
        return {keys[i] for i in chunk.sentence_ids if keys[i]}

    def canonical(self, article_id: str, idx: int) -> tuple[str, int]:
        """``(article id, sentence idx)`` of the earliest copy, within the group, of that sentence's statement."""
        key = self._fingerprint_of(article_id).keys[idx]
        if key:
            for member in self._members[self.group(article_id)]:
                if key in member.first:
                    return member.article_id, member.first[key]
        return article_id, idx
