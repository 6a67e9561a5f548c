"""The BBC articles the checker may learn from: the corpus minus every article an evaluation uses.

Excluded: the 60 of ``RESERVED.txt`` (independent evaluation), the 40 of ``train/holdout_articles.txt`` (the
fresh set ``eval/checker_fresh``), and every article that any eval set copies (``eval/bbc``, ``eval/briefings``,
``eval/support/articles``, ``eval/checker_fresh/articles``) — matched by headline and by body text, because
the corpus holds a few stories twice under other file names.

>>> _key("  Shell to pay $1m\\n\\nbody")
'shell to pay $1m'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# beside the checkout (../shared), or where this workplace mounts it (a CI clone lives elsewhere)
CORPUS = next((p for p in (REPO.parent / "shared" / "corpora" / "bbc-news", Path("/work/shared/corpora/bbc-news")) if p.exists()),
              REPO.parent / "shared" / "corpora" / "bbc-news")
HOLDOUT = REPO / "train" / "holdout_articles.txt"
EVAL_DIRS = ("eval/bbc", "eval/briefings", "eval/support/articles", "eval/checker_fresh/articles")


@dataclass(frozen=True)
class TrainArticle:
    """One corpus article: ``path`` relative to ``news/``, its headline and body."""

    path: str
    title: str
    body: str


def _listed(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")}


def _key(text: str) -> str:
    """An article's identity for matching copies: its first line, lower-cased, spaces collapsed."""
    return re.sub(r"\s+", " ", text.strip().split("\n", 1)[0]).lower()


def _body_hash(text: str) -> str:
    body = text.strip().split("\n", 1)[-1]
    return hashlib.sha256(re.sub(r"\s+", " ", body).strip()[:400].encode()).hexdigest()


def excluded(corpus: Path = CORPUS, repo: Path = REPO) -> tuple[set[str], set[str], set[str]]:
    """The paths listed as reserved or held out, and the headline keys and body hashes of every eval article."""
    paths = _listed(corpus / "RESERVED.txt") | _listed(repo / "train" / "holdout_articles.txt")
    keys: set[str] = set()
    hashes: set[str] = set()
    for name in paths:
        file = corpus / "news" / name
        if file.exists():
            text = file.read_text(encoding="utf-8", errors="replace")
            keys.add(_key(text))
            hashes.add(_body_hash(text))
    for folder in EVAL_DIRS:
        for file in sorted((repo / folder).glob("*.txt")):
            text = file.read_text(encoding="utf-8", errors="replace")
            headed = text.lower().startswith("title:")
            body = text.split("\n\n", 1)[-1] if headed else text
            keys.add(_key(text[len("title:"):] if headed else text))
            hashes.add(_body_hash(body))
            hashes.add(_body_hash(text))
    return paths, keys, hashes


def training_articles(corpus: Path = CORPUS) -> Iterator[TrainArticle]:
    """Every corpus article that no evaluation uses, in path order."""
    paths, keys, hashes = excluded(corpus)
    news = corpus / "news"
    for file in sorted(news.rglob("*.txt")):
        rel = str(file.relative_to(news))
        text = file.read_text(encoding="utf-8", errors="replace")
        if rel in paths or _key(text) in keys or _body_hash(text) in hashes:
            continue
        title, _, body = text.strip().partition("\n")
        yield TrainArticle(rel, title.strip(), body.strip())
