"""The project's one tokenizer: word tokens without stopwords, possessives and plural endings,
the prefix match of word forms ("parliament" ~ "parliamentary"), and word overlap. BM25, citation,
stance and retrieval all count words this way.

>>> overlap(tokenize("Are Russia and Iran allies?"), "Iran is Russia's ally.")
1.0
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being am do does did
    has have had having it its this that these those there here what which who whom whose when where why how
    not no nor so than too very can could will would shall should may might must i me my we our you your he him
    his she her they them their about into over after before between under again further then once also just
    s t don say said says tell told""".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords, possessives and plural endings stripped.

    >>> tokenize("The ministers' talks: Russia's allies")
    ['minister', 'talk', 'russia', 'ally']
    """
    cache = _TOKENS
    if len(cache) > _TOKEN_CACHE_SIZE:
        cache.clear()
    out = []
    for word in _WORD.findall(text.lower()):
        token = cache.get(word, "")
        if token == "":
            token = cache[word] = _token(word)
        if token is not None:
            out.append(token)
    return out


_TOKENS: dict[str, str | None] = {}  # word -> token (None: a stopword); words repeat, so indexing a corpus mostly hits
_TOKEN_CACHE_SIZE = 500_000


def _token(word: str) -> str | None:
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    return None if word in STOPWORDS else _singular(word)


def has_word(term: str, words: set[str]) -> bool:
    """Whether ``words`` holds ``term`` or a longer/shorter form sharing 5+ leading letters.

    >>> has_word("parliament", {"parliamentary", "committee"})
    True
    """
    if term in words:
        return True
    return len(term) >= 5 and any(w.startswith(term) or (len(w) >= 5 and term.startswith(w)) for w in words)


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def overlap(terms: Iterable[str], text: str, names: frozenset[str] | set[str] = frozenset()) -> float:
    """Share of ``terms`` (tokens) that ``text`` holds, by ``has_word``; terms in ``names`` count double.

    >>> overlap(["parliament", "vote"], "The parliamentary committee met.")
    0.5
    """
    weight = {t: (2.0 if t in names else 1.0) for t in set(terms)}
    if not weight:
        return 0.0
    words = set(tokenize(text))
    return sum(w for t, w in weight.items() if has_word(t, words)) / sum(weight.values())
