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
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pypdf
import trafilatura
from trafilatura.settings import Document

from index.records import FileResult, RawDoc

SUPPORTED = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl")
_META_KEYS = ("title", "source", "url", "published", "date")
_BINARY_PROBE = 8192
_MAX_CONTROL_SHARE = 0.10
_CONTROL_BYTES = frozenset(set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D} | {0x7F})

logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings repeat what our FileResult says


class _Reject(Exception):
    """Internal: the file cannot be used; the message is the user-facing reason."""


def iter_documents(paths: Iterable[str | Path]) -> Iterator[RawDoc | FileResult]:
    """Yield a ``RawDoc`` per article found under ``paths`` and a ``FileResult`` per problem."""
    for given in paths:
        path = Path(given)
        if not os.path.exists(path):  # False for any stat error, never raises
            yield FileResult(str(given), "rejected", "no such file or directory")
        elif os.path.isdir(path):
            yield from _walk(path, set())
        else:
            yield from _load_file(path, explicit=True)


def _walk(directory: Path, visited: set[str]) -> Iterator[RawDoc | FileResult]:
    """Depth-first, name-sorted; hidden entries skipped; each real directory entered once."""
    real = os.path.realpath(directory)
    if real in visited:
        return
    visited.add(real)
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as err:
        yield FileResult(str(directory), "rejected", f"cannot read directory: {err.strerror or err}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        child = directory / entry.name
        if entry.is_dir():
            yield from _walk(child, visited)
        elif entry.is_file():
            yield from _load_file(child, explicit=False)
        else:
            yield FileResult(str(child), "skipped", "not a regular file (broken link?)")


def _load_file(path: Path, *, explicit: bool) -> Iterator[RawDoc | FileResult]:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        status = "rejected" if explicit else "skipped"
        kind = suffix or "(no extension)"
        reason = f"unsupported file type {kind} (supported: {' '.join(SUPPORTED)})"
        yield FileResult(str(path), status, reason)
        return
    try:
        data = path.read_bytes()
        if not data.strip():
            raise _Reject("empty file")
        if suffix == ".jsonl":
            yield from _load_jsonl(str(path), _decode(data))
        elif suffix == ".pdf":
            yield _load_pdf(str(path), data)
        elif suffix in (".html", ".htm"):
            yield _load_html(str(path), _decode(data))
        else:
            yield _load_text(str(path), _decode(data), markdown=suffix == ".md")
    except _Reject as err:
        yield FileResult(str(path), "rejected", str(err))
    except OSError as err:
        yield FileResult(str(path), "rejected", f"cannot read file: {err.strerror or err}")


# --- decoding --------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """UTF-8 (BOM stripped), else strict Windows-1252; line endings normalised to ``\\n``."""
    probe = data[:_BINARY_PROBE]
    controls = sum(1 for b in probe if b in _CONTROL_BYTES)
    if b"\x00" in probe or controls > _MAX_CONTROL_SHARE * len(probe):
        raise _Reject("binary data, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise _Reject("cannot decode text (not UTF-8 or Windows-1252)") from None
    if not text.strip():
        raise _Reject("empty file")
    return _newlines(text)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


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
        raise _Reject("no text after the front matter")
    return RawDoc(
        path=path,
        text=body,
        title=title,
        source=meta.get("source"),
        url=meta.get("url"),
        published=meta.get("published") or meta.get("date"),
    )


# --- .html -----------------------------------------------------------------------------------


def _load_html(path: str, html: str) -> RawDoc:
    try:
        doc = trafilatura.bare_extraction(
            html, with_metadata=True, include_comments=False, include_tables=False
        )
    except Exception as err:  # a third-party parser on arbitrary input: report, never crash
        raise _Reject(f"cannot parse HTML: {err}") from None
    if not isinstance(doc, Document) or not (doc.text or "").strip():
        raise _Reject("no article text found in HTML")
    return RawDoc(
        path=path,
        text=_newlines(doc.text),
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
        raise _Reject(f"not a readable PDF: {err or type(err).__name__}") from None
    text = "\n\n".join(_newlines(page).strip() for page in pages if page.strip())
    if not text:
        raise _Reject("PDF has no text layer (scanned?); run OCR first")
    return RawDoc(path=path, text=text, title=title or None)


# --- .jsonl ----------------------------------------------------------------------------------

def _load_jsonl(path: str, text: str) -> Iterator[RawDoc | FileResult]:
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}#{lineno}"
        try:
            yield _jsonl_record(where, line)
        except _Reject as err:
            yield FileResult(where, "rejected", str(err))


def _jsonl_record(where: str, line: str) -> RawDoc:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise _Reject(f"invalid JSON: {err.msg} at column {err.colno}") from None
    except (ValueError, RecursionError) as err:  # e.g. a 5000-digit number, 100k nested brackets
        raise _Reject(f"invalid JSON: {err}") from None
    if not isinstance(obj, dict):
        raise _Reject(f"expected a JSON object, got {type(obj).__name__}")
    body = obj.get("text")
    if not isinstance(body, str) or not body.strip():
        raise _Reject("missing or empty 'text' field")
    return RawDoc(
        path=where,
        text=_newlines(body),
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
        raise _Reject(f"field '{key}' must be a string, got {type(value).__name__}")
    return value or None
