"""Sentences of a training article, split by the product's own splitter (``index.sentences``).

>>> article_sentences("Shell will pay $1m. The firm said so.")
['Shell will pay $1m.', 'The firm said so.']
"""

from __future__ import annotations

from index.sentences import split_sentences


def article_sentences(body: str) -> list[str]:
    """The article's sentences as strings, in order."""
    return [body[a:b] for a, b in split_sentences(body)]
