"""Stored articles as JSONL, one object a line, in the shape ``index.load`` reads back (``_load_jsonl``):
``title``, ``text``, ``source``, ``url``, ``published``. Adding the file to an empty data dir gives the same
article ids (content hashes of the stored, cleaned text), texts, titles, dates, outlets and links; photo
captions and the original file paths are not kept (an article's path becomes ``FILE.jsonl#N``).

>>> from index.records import Article
>>> from index.store import StoredArticle
>>> article_line(StoredArticle(Article.create(title="T", text="Hi.", source="Reuters", published="2026-01-05"), (), 1))
'{"title": "T", "text": "Hi.", "source": "Reuters", "url": null, "published": "2026-01-05"}'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from core.errors import BriefQAError
from index.store import StoredArticle


def article_line(entry: StoredArticle) -> str:
    """One article as a JSONL line (no trailing newline)."""
    a = entry.article
    row = {"title": a.title, "text": a.text, "source": a.source, "url": a.url, "published": a.published}
    return json.dumps(row, ensure_ascii=False)


def write_jsonl(entries: Iterable[StoredArticle], path: Path) -> int:
    """Write ``entries`` (oldest first, undated first, then by title) to ``path``, replacing it atomically; returns the count."""
    ordered = sorted(entries, key=lambda e: (e.article.published or "", e.article.title, e.article.id))
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            out.writelines(article_line(e) + "\n" for e in ordered)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        fix = "give a writable path, e.g. briefqa index export ./briefings.jsonl"
        raise BriefQAError(f"cannot write {path}: {err.strerror or err}", fix) from None
    return len(ordered)
