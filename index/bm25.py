"""Lexical retrieval over chunks: a bm25s index kept on disk beside the vector store.

The saved index carries a fingerprint of the article ids it was built from; ``load_or_build``
rebuilds it from the store whenever the fingerprint does not match (after a crash, say), so
BM25 and the vector store never disagree for long.

>>> from index.records import Chunk
>>> idx = BM25Index.build([Chunk("a:c0", "a", 0, 9, "Iran and Russia are allies."), Chunk("b:c0", "b", 0, 9, "Oil prices rose.")])
>>> [cid for cid, _ in idx.search("Are Russia and Iran allies?", k=2)]
['a:c0']
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from index.records import Chunk

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being am do does did
    has have had having it its this that these those there here what which who whom whose when where why how
    not no nor so than too very can could will would shall should may might must i me my we our you your he him
    his she her they them their about into over after before between under again further then once also just
    s t don say said says tell told""".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords, possessives and plural endings stripped."""
    out = []
    for word in _WORD.findall(text.lower()):
        word = re.sub(r"['’]s$", "", word)
        if word in STOPWORDS:
            continue
        out.append(_singular(word))
    return out


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


def fingerprint(article_ids: Iterable[str]) -> str:
    """A digest of the set of article ids an index covers."""
    return hashlib.sha256("\n".join(sorted(article_ids)).encode()).hexdigest()


class BM25Index:
    """bm25s over chunk texts, addressed by chunk id."""

    def __init__(self, ids: Sequence[str], model, fingerprint_: str = "") -> None:  # noqa: ANN001 - bm25s.BM25
        self.ids = list(ids)
        self.fingerprint = fingerprint_
        self._model = model

    @classmethod
    def build(cls, chunks: Sequence[Chunk], fingerprint_: str = "") -> BM25Index:
        import bm25s

        model = bm25s.BM25()
        if chunks:
            model.index([tokenize(c.text) or ["∅"] for c in chunks], show_progress=False)
        return cls([c.id for c in chunks], model, fingerprint_)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top ``k`` chunk ids with a positive score, best first."""
        if not self.ids:
            return []
        vocab = self._model.vocab_dict
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens:
            return []
        scores = np.asarray(self._model.get_scores(tokens))
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def save(self, directory: Path) -> None:
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.ids:
            self._model.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(json.dumps({"fingerprint": self.fingerprint, "ids": self.ids}))
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        import bm25s

        meta = json.loads((directory / "ids.json").read_text())
        model = bm25s.BM25.load(str(directory), show_progress=False) if meta["ids"] else bm25s.BM25()
        return cls(meta["ids"], model, meta["fingerprint"])


def load_or_build(directory: Path, expected: str, get_chunks: Callable[[], Sequence[Chunk]]) -> BM25Index:
    """The saved index if its fingerprint is ``expected``, else one rebuilt from ``get_chunks()`` and saved."""
    try:
        index = BM25Index.load(directory)
        if index.fingerprint == expected:
            return index
    except (OSError, ValueError, KeyError):
        pass
    index = BM25Index.build(get_chunks(), expected)
    try:
        index.save(directory)
    except OSError:
        pass  # read-only data dir: serve from memory
    return index
