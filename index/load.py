"""Turn paths (files or directories) into decoded documents, one ``RawDoc`` per article.

Every problem with an input becomes a ``FileResult`` ("rejected" or "skipped") with a reason a
user can act on; nothing here raises for a bad file.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.txt").write_text("Title: Hello\\n\\nBody text.", encoding="utf-8")
>>> [(r.title, r.text) for r in iter_documents([d / "a.txt"])]
[('Hello', 'Body text.')]

Formats: ``.txt``/``.md`` (optional front matter, markdown syntax stripped), ``.html``/``.htm``
(main text via trafilatura), ``.pdf`` (pypdf text layer), ``.jsonl`` (one article per line).
Text addressed to the model is taken out of every format (``index.defang``).
"""

from __future__ import annotations

import codecs
import io
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pypdf
import trafilatura
from trafilatura.settings import Document

from core.settings import Settings
from index.decode import Rejected, decode, newlines
from index.defang import defang
from index.formats import SUPPORTED
from index.records import FileResult, RawDoc

_META_KEYS = ("title", "source", "url", "published", "date")
_MB = 1024 * 1024

logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings repeat what our FileResult says


def iter_documents(paths: Iterable[str | Path], *, max_file_mb: float | None = None) -> Iterator[RawDoc | FileResult]:
    """Yield a ``RawDoc`` per article found under ``paths`` and a ``FileResult`` per problem.

    A file over ``max_file_mb`` (default: the ``max_file_mb`` setting, env ``BRIEFQA_MAX_FILE_MB``)
    is rejected unread: a briefing is rarely over 1 MB, and a 50 MB "article" would take an hour to
    embed and could not be shown in the viewer.
    """
    limit = Settings().max_file_mb if max_file_mb is None else max_file_mb
    for given in paths:
        path = Path(given)
        if not os.path.exists(path):  # False for any stat error, never raises
            yield FileResult(_shown(path), "rejected", "no such file or directory")
        elif os.path.isdir(path):
            yield from _walk(path, limit)
        else:
            yield from _load_file(path, limit, explicit=True)


def _shown(path: Path) -> str:
    """The path as text that can be printed and stored: undecodable name bytes become U+FFFD."""
    return os.fsencode(path).decode("utf-8", "replace")


def _walk(root: Path, limit: float) -> Iterator[RawDoc | FileResult]:
    """Depth-first, name-sorted; hidden entries skipped; each real directory entered once.

    Iterative (a tree thousands of levels deep is fine) and keyed by device and inode, so
    symlink loops end and a directory linked twice is read once.
    """
    visited: set[tuple[int, int]] = set()
    stack: list[Iterator[os.DirEntry[str]]] = []
    listing = _enter(root, visited)
    if isinstance(listing, FileResult):
        yield listing
    elif listing is not None:
        stack.append(listing)
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith("."):
            continue
        child = Path(entry.path)
        if _is(entry.is_dir):
            listing = _enter(child, visited)
            if isinstance(listing, FileResult):
                yield listing
            elif listing is not None:
                stack.append(listing)
        elif _is(entry.is_file):
            yield from _load_file(child, limit, explicit=False)
        else:
            yield FileResult(_shown(child), "skipped", "not a regular file (broken link?)")


def _is(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except OSError:  # e.g. a symlink loop or no permission: treated as neither a file nor a directory
        return False


def _enter(directory: Path, visited: set[tuple[int, int]]) -> Iterator[os.DirEntry[str]] | FileResult | None:
    """The directory's entries sorted by name; None when it was entered before."""
    try:
        st = os.stat(directory)
        if (st.st_dev, st.st_ino) in visited:
            return None
        visited.add((st.st_dev, st.st_ino))
        with os.scandir(directory) as entries:
            return iter(sorted(entries, key=lambda e: e.name))
    except OSError as err:
        return FileResult(_shown(directory), "rejected", f"cannot read directory: {err.strerror or err}")


def _load_file(path: Path, limit_mb: float, *, explicit: bool) -> Iterator[RawDoc | FileResult]:
    shown = _shown(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        status = "rejected" if explicit else "skipped"
        kind = suffix or "(no extension)"
        reason = f"unsupported file type {kind} (supported: {' '.join(SUPPORTED)})"
        yield FileResult(shown, status, reason)
        return
    try:
        data = _read(path, limit_mb)
        if not data.strip():
            raise Rejected("empty file")
        yield from map(_defanged, _parse(shown, suffix, data))
    except Rejected as err:
        yield FileResult(shown, "rejected", str(err))
    except OSError as err:
        yield FileResult(shown, "rejected", f"cannot read file: {err.strerror or err}")


def _parse(shown: str, suffix: str, data: bytes) -> Iterator[RawDoc | FileResult]:
    if suffix == ".jsonl":
        yield from _load_jsonl(shown, decode(data))
    elif suffix == ".pdf":
        yield _load_pdf(shown, data)
    elif suffix in (".html", ".htm"):
        yield _load_html(shown, decode(data))
    else:
        yield _load_text(shown, decode(data), markdown=suffix == ".md")


def _defanged(item: RawDoc | FileResult) -> RawDoc | FileResult:
    """Text and title without anything addressed to the model (see ``index.defang``)."""
    if isinstance(item, FileResult):
        return item
    title = defang(item.title).strip() if item.title else None
    return replace(item, text=defang(item.text), title=title or None)


def _read(path: Path, limit_mb: float) -> bytes:
    """The file's bytes; a FIFO or device is refused (reading it could block forever), as is a file over the limit."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise Rejected("not a regular file")
    limit = int(limit_mb * _MB)
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
        if len(data) > limit:
            size = os.fstat(handle.fileno()).st_size / _MB
            raise Rejected(f"file is {size:.1f} MB, over the {limit_mb:g} MB limit for one file "
                          "(raise BRIEFQA_MAX_FILE_MB to index it, or split it)")
    return data


# --- .txt / .md ------------------------------------------------------------------------------

_FENCE = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_KEY_VALUE = re.compile(r"^([A-Za-z][\w-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")
_LEADING_META = re.compile(rf"\A(?:(?:{'|'.join(_META_KEYS)})[ \t]*:[^\n]*\n)+[ \t]*\n", re.I)


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Front matter as lower-cased ``key -> value`` (known keys only) and the remaining body.

    Either a ``---`` fenced block of ``key: value`` lines, or leading ``Title: ...`` style lines
    (keys title/source/url/published/date) ended by a blank line.
    """
    fence = _FENCE.match(text)
    block = fence or _LEADING_META.match(text)
    if block is None:
        return {}, text
    meta: dict[str, str] = {}
    for line in (fence.group(1) if fence else block.group(0)).split("\n"):
        kv = _KEY_VALUE.match(line)
        if kv and kv.group(1).lower() in _META_KEYS and kv.group(2):
            meta.setdefault(kv.group(1).lower(), kv.group(2).strip("'\""))
    if fence and not meta:
        return {}, text  # a leading horizontal rule, not front matter
    return meta, text[block.end() :]


_MD_BLOCK_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$", re.M), ""),  # horizontal rule
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.M), r"\1"),  # heading
    (re.compile(r"^[ \t]*>[ \t]?", re.M), ""),  # blockquote marker
)
_MD_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)"), ""),  # image
    (re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)"), r"\1"),  # link -> its text
    (re.compile(r"(?<![\w*])(\*\*|__)(?=\S)(.+?)(?<=\S)\1(?![\w*])"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])"), r"\2"),  # emphasis
)
_MD_TITLE = re.compile(r"\A\s*#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*(?:\n|\Z)")


def _strip_markdown(text: str) -> tuple[str | None, str]:
    """A leading ``# Heading`` (returned as a title) and the text without markdown syntax.

    Handled: headings, horizontal rules, blockquote markers, images (removed), inline links
    (kept as their text), ``*``/``_`` emphasis. Everything else is left as written.
    """
    heading = _MD_TITLE.match(text)
    if heading:
        text = text[heading.end() :]
    for pattern, replacement in _MD_BLOCK_RULES:
        text = pattern.sub(replacement, text)
    title = _md_inline(heading.group(1)).strip() if heading else None
    return title or None, _md_inline(text)


def _md_inline(text: str) -> str:
    for pattern, replacement in _MD_INLINE_RULES:
        text = pattern.sub(replacement, text)
    return text


def _load_text(path: str, text: str, *, markdown: bool) -> RawDoc:
    meta, body = _split_front_matter(text)
    title = meta.get("title")
    if markdown:
        heading, body = _strip_markdown(body)
        if heading and title and heading != title:
            body = f"{heading}\n{body}"  # a different heading is body text, not the title
        title = title or heading
    if not body.strip():
        raise Rejected("no text after the front matter")
    return RawDoc(
        path=path,
        text=body,
        title=title,
        source=meta.get("source"),
        url=meta.get("url"),
        published=meta.get("published") or meta.get("date"),
    )


# --- .html -----------------------------------------------------------------------------------


def load_page(path: str, data: bytes, *, url: str, charset: str | None = None) -> RawDoc | FileResult:
    """A fetched HTML page (``index.fetch``) as a ``RawDoc``, or a rejected ``FileResult`` saying why.

    >>> load_page("u", b"<html><body><p>The council met on Monday to vote on the plan.</p></body></html>", url="http://x.org/a").text
    'The council met on Monday to vote on the plan.'
    """
    try:
        html = data.decode(charset, "replace") if charset and _known_codec(charset) else decode(data)
        return _defanged(_load_html(path, newlines(html), url=url))
    except Rejected as err:
        return FileResult(path, "rejected", str(err))


def _known_codec(name: str) -> bool:
    try:
        return bool(codecs.lookup(name))
    except LookupError:
        return False


def _load_html(path: str, html: str, url: str | None = None) -> RawDoc:
    """A page from the web (``url``) takes its date from the page's metadata only, never from a guess
    such as a "Copyright 2005" footer."""
    dates = {"extensive_search": False, "original_date": True} if url else None
    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=False, date_extraction_params=dates
        )
    except Exception as err:  # a third-party parser on arbitrary input: report, never crash
        raise Rejected(f"cannot parse HTML: {err}") from None
    if not isinstance(doc, Document) or not (doc.text or "").strip():
        raise Rejected("no article text found in HTML")
    return RawDoc(
        path=path,
        text=newlines(doc.text),
        title=doc.title or None,
        source=doc.sitename or doc.hostname or None,
        url=doc.url or None,
        published=doc.date or None,
        structured=True,
    )


# --- .pdf ------------------------------------------------------------------------------------


def _load_pdf(path: str, data: bytes) -> RawDoc:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise pypdf.errors.FileNotDecryptedError("encrypted with a password")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title or "").strip() if reader.metadata else ""
    except Exception as err:  # pypdf raises many types on corrupt input: report, never crash
        raise Rejected(f"not a readable PDF: {err or type(err).__name__}") from None
    text = "\n\n".join(newlines(page).strip() for page in pages if page.strip())
    if not text:
        raise Rejected("PDF has no text layer (scanned?); run OCR first")
    return RawDoc(path=path, text=text, title=title or None)


# --- .jsonl ----------------------------------------------------------------------------------

def _load_jsonl(path: str, text: str) -> Iterator[RawDoc | FileResult]:
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}#{lineno}"
        try:
            yield _jsonl_record(where, line)
        except Rejected as err:
            yield FileResult(where, "rejected", str(err))


def _jsonl_record(where: str, line: str) -> RawDoc:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise Rejected(f"invalid JSON: {err.msg} at column {err.colno}") from None
    except (ValueError, RecursionError) as err:  # e.g. a 5000-digit number, 100k nested brackets
        raise Rejected(f"invalid JSON: {err}") from None
    if not isinstance(obj, dict):
        raise Rejected(f"expected a JSON object, got {type(obj).__name__}")
    body = obj.get("text")
    if not isinstance(body, str) or not body.strip():
        raise Rejected("missing or empty 'text' field")
    return RawDoc(
        path=where,
        text=newlines(body),
        title=_optional_str(obj, "title"),
        source=_optional_str(obj, "source"),
        url=_optional_str(obj, "url"),
        published=_optional_str(obj, "published"),
        structured=True,
    )


def _optional_str(obj: dict[str, object], key: str) -> str | None:
    """``obj[key]`` as given when it is a non-empty string; None when absent, null or empty."""
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise Rejected(f"field '{key}' must be a string, got {type(value).__name__}")
    return value or None
