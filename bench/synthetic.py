"""Synthetic, deterministic collections for ``bench/scale.py``: article *i* of a set is 3-8 sentences drawn,
with a seed per set and article, from the unique sentences of the BBC News corpus, the bundled briefings and
the RGB en_fact passages; duplicates are skipped, so every article is unique across all sets.

    pool = sentence_pool()
    dirs = write_collections(pool, Path("/tmp/scale"), {"base": 1000, "add": 100})   # {"base": Path, "add": Path}
    synthetic_article(pool, 0, 7)["title"]                                           # '... (0.7)'
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

from index.clean import clean
from index.load import iter_documents
from index.records import Article, content_hash
from index.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BBC = SHARED / "corpora" / "bbc-news" / "news"
RGB = SHARED / "bench" / "rgb" / "en_fact.jsonl"


def sentence_pool() -> list[str]:
    """Unique sentences (6-45 words) of the BBC corpus and the bundled briefings, then RGB passages."""
    pool: list[str] = []
    seen: set[str] = set()

    def take(text: str) -> None:
        text = " ".join(text.split())
        if 6 <= len(text.split()) <= 45 and text not in seen:
            seen.add(text)
            pool.append(text)

    files = sorted(BBC.glob("*/*.txt")) + sorted((ROOT / "briefings").glob("*.txt"))
    for doc in iter_documents(files):
        article = clean(doc)
        if isinstance(article, Article):
            for start, end in split_sentences(article.text):
                take(article.text[start:end])
    if RGB.exists():
        for line in RGB.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for key in ("positive", "negative", "positive_wrong"):
                for passage in record.get(key) or []:
                    if isinstance(passage, str):
                        take(passage)
    if not pool:
        raise SystemExit("no source sentences: ../shared/corpora/bbc-news and ../shared/bench/rgb are missing")
    return pool


def synthetic_article(pool: Sequence[str], namespace: int, i: int) -> dict[str, str]:
    """Article ``i`` of ``namespace``: 3-8 pool sentences in paragraphs of three (seeded by both)."""
    rng = random.Random(namespace * 1_000_003 + i)
    sents = [pool[rng.randrange(len(pool))] for _ in range(rng.randint(3, 8))]
    body = "\n\n".join(" ".join(sents[j : j + 3]) for j in range(0, len(sents), 3))
    title = " ".join(sents[0].split()[:8]).rstrip(",.;:")
    return {"title": f"{title} ({namespace}.{i})", "text": body, "source": "synthetic", "published": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"}


def write_collections(pool: Sequence[str], where: Path, sizes: dict[str, int], per_file: int = 2000) -> dict[str, Path]:
    """A directory of jsonl files (``per_file`` articles each: under the input size cap) per named set
    (namespace = its position); every article unique across all sets."""
    seen: set[str] = set()
    dirs = {}
    for namespace, (name, n) in enumerate(sizes.items()):
        folder = where / name
        folder.mkdir(parents=True, exist_ok=True)
        written, i, out = 0, 0, None
        while written < n:
            article = synthetic_article(pool, namespace, i)
            i += 1
            digest = content_hash(article["text"])
            if digest in seen:
                continue
            seen.add(digest)
            if written % per_file == 0:
                if out:
                    out.close()
                out = (folder / f"{name}-{written // per_file:04d}.jsonl").open("w", encoding="utf-8")
            out.write(json.dumps(article, ensure_ascii=False) + "\n")
            written += 1
        if out:
            out.close()
        dirs[name] = folder
    return dirs


def questions(n: int) -> list[str]:
    return [json.loads(line)["query"] for line in RGB.read_text(encoding="utf-8").splitlines()[:n]]
