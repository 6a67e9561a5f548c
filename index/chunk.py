"""Group an article's sentences into overlapping chunks of about ``max_words`` words.

A chunk is a run of whole sentences (never a cut sentence); consecutive chunks share the
last ``overlap`` sentences of the previous one.

>>> from index.records import Article
>>> from index.sentences import sentences_of
>>> a = Article.create(title="t", text="One two. Three four. Five six.")
>>> [c.text for c in chunk_article(a, sentences_of(a.id, a.text), max_words=4, overlap=1)]
['One two. Three four.', 'Three four. Five six.']
"""

from __future__ import annotations

from collections.abc import Sequence

from index.records import Article, Chunk, Sentence


def chunk_article(article: Article, sentences: Sequence[Sentence], *, max_words: int, overlap: int) -> list[Chunk]:
    """Chunks covering every sentence; a sentence longer than ``max_words`` is a chunk alone."""
    words = [len(article.text[s.start : s.end].split()) for s in sentences]
    chunks: list[Chunk] = []
    first = 0
    while first < len(sentences):
        last = first
        total = words[first]
        while last + 1 < len(sentences) and total + words[last + 1] <= max_words:
            last += 1
            total += words[last]
        chunks.append(_make_chunk(article, sentences[first : last + 1], len(chunks)))
        if last + 1 >= len(sentences):
            break
        first = max(first + 1, last + 1 - overlap)
    return chunks


def _make_chunk(article: Article, run: Sequence[Sentence], n: int) -> Chunk:
    start, end = run[0].start, run[-1].end
    return Chunk(
        id=f"{article.id}:c{n}",
        article_id=article.id,
        start=start,
        end=end,
        text=article.text[start:end],
        sentence_ids=tuple(s.idx for s in run),
    )
