"""Conflicting copies of one statement: two articles that say the same sentence with a different value.

News copies of a story often differ only where a figure, a name or a date was changed ("acquired by
Facebook" / "acquired by Apple"). For a cited sentence, another article's evidence sentence that
shares most of its words (token similarity ≥ ``MIN_SIMILARITY``) but replaces a *value* — a number,
or a capitalised word that does not open the sentence — is a conflict. Insertions, deletions and
changes of ordinary words ("said" / "told reporters") are not. The differing spans are returned as
article offsets, so the answer can quote them verbatim.

>>> a = "WhatsApp was acquired by Facebook in February 2014."
>>> b = "WhatsApp was acquired by Apple in February 2014."
>>> [(a[s:e], b[t:u]) for s, e, t, u in value_changes(a, b)]
[('Facebook', 'Apple')]
>>> value_changes(a, "WhatsApp was acquired by Facebook in February 2014, officials said.")
[]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from qa.records import Evidence, closest

MIN_SIMILARITY = 0.6
_TOKEN = re.compile(r"\w+(?:['’.,-]\w+)*")


@dataclass(frozen=True)
class Conflict:
    """``first`` (a cited sentence) and ``second`` state one thing with different values.

    ``spans`` pairs the differing stretches: (start, end) in ``first.article.text`` and in
    ``second.article.text``.
    """

    first: Evidence
    second: Evidence
    spans: tuple[tuple[tuple[int, int], tuple[int, int]], ...]


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _is_value(text: str, start: int) -> bool:
    word = text[start:]
    return any(ch.isdigit() for ch in word.split()[0]) or (start > 0 and word[:1].isupper())


def value_changes(a: str, b: str) -> list[tuple[int, int, int, int]]:
    """Offsets ``(a_start, a_end, b_start, b_end)`` of the values ``b`` states differently from ``a``;
    empty unless the sentences are near-copies that replace at least one value."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return []
    matcher = SequenceMatcher(None, [t for t, _, _ in ta], [t for t, _, _ in tb], autojunk=False)
    if matcher.ratio() < MIN_SIMILARITY:
        return []
    changes = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "replace":
            continue
        if any(_is_value(a, ta[i][1]) for i in range(i1, i2)) or any(_is_value(b, tb[j][1]) for j in range(j1, j2)):
            changes.append((ta[i1][1], ta[i2 - 1][2], tb[j1][1], tb[j2 - 1][2]))
    return changes


def find_conflicts(cited: Sequence[Evidence], evidence: Sequence[Evidence], min_score: float) -> list[Conflict]:
    """For each cited sentence, the first evidence sentence of another article (scoring at least
    ``min_score``) that restates it with a different value."""
    found: list[Conflict] = []
    used = {(e.article.id, e.sentence.start) for e in cited}
    for first in cited:
        for second in closest(evidence):
            key = (second.article.id, second.sentence.start)
            if second.article.id == first.article.id or second.cosine < min_score or key in used:
                continue
            changes = value_changes(first.text, second.text)
            if changes:
                base_a, base_b = first.sentence.start, second.sentence.start
                spans = tuple(((base_a + s, base_a + e), (base_b + t, base_b + u)) for s, e, t, u in changes)
                found.append(Conflict(first, second, spans))
                used.add(key)
                break
    return found
