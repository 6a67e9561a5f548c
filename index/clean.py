"""Clean a decoded ``RawDoc`` into an ``Article`` whose ``text`` every offset points into.

>>> from index.records import RawDoc
>>> a = clean(RawDoc(path="x.txt", text="Skip to content\\n\\nStorm Hits Coast\\n\\nThe storm  hit at dawn."))
>>> (a.title, a.text)
('Storm Hits Coast', 'The storm hit at dawn.')

Steps, all line-based so that every output paragraph is a verbatim run of input lines (after
whitespace collapsing):

1. Each line is stripped and its whitespace runs collapsed to one space.
2. Page furniture (short lines matching ``_FURNITURE_PATTERNS``) is dropped; ``Image caption, ...``
   lines move to ``captions``.
3. Title: the given one (a body line repeating it is dropped); else, for unstructured docs, the
   first remaining line if it looks like a headline; else the humanised file name.
4. Unstructured docs only: caption-like lines right after the title move to ``captions``.
5. Paragraphs are runs of non-empty lines; in unstructured docs a long line (> 40 chars) that does
   not end a sentence is taken as hard-wrapped and joined to the next with a space. Removed lines
   act as paragraph breaks. Paragraphs are joined with a blank line.
6. ``published`` becomes ISO ``YYYY-MM-DD`` (``index.dates``): the document's own date when it
   parses, else a dateline in the body's opening lines ("Published 3 March 2025", "LONDON,
   3 March 2025 -"), else None. Dateline lines stay in the body (quotable) and are never captions.

Characters are otherwise kept verbatim (curly quotes, dashes, accents).
"""

from __future__ import annotations

import re
from pathlib import Path

from index.dates import dateline_date, parse_date
from index.records import Article, FileResult, RawDoc

MAX_FURNITURE_WORDS = 6
MAX_HEADLINE_WORDS = 25
MAX_CAPTION_WORDS = 50
MIN_WRAPPED_LINE_CHARS = 40

# Whole-line page furniture, matched case-insensitively on lines of at most MAX_FURNITURE_WORDS.
_FURNITURE_PATTERNS = (
    r"accessibility links",
    r"breaking news",
    r"skip to (?:main )?content",
    r"advertisement",
    r"share(?: this (?:article|page|story))?",
    r"menu",
    r"search",
    r"sign in",
    r"subscribe",
    r"newsletter",
    r"cookie settings",
    r"related(?: (?:stories|articles|topics|content))?",
    r"read more",
    r"most read",
    r"top stories",
    r"watch live",
    r"image caption",
    r"media caption",
    r"image source,.*",
    r"(?:image |photo )?(?:copyright|©)(?:\s*[:©,]|\s+\d{4}\b|\s+(?:getty|reuters|afp|ap|pa|epa)\b).*",
    r"©.*",
    r".*all rights reserved",
)
_FURNITURE = re.compile(rf"(?:{'|'.join(_FURNITURE_PATTERNS)})\s*[:.]?", re.I)
_CAPTION_LINE = re.compile(r"(?:image|media) caption,\s*(.+)", re.I)

_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’)\]]*$")
_HEADLINE_STOP = re.compile(r"(?:[,:;]|(?<!\.)\.)[\"'”’)\]]*$")  # a full stop, but "..." is fine
_CAPTION_MARKERS = re.compile(
    r"\((?:L|R|C|left|right|cent(?:er|re))\)|pictured|photo:|file photo|getty images|reuters/|ap photo",
    re.I,
)
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_ENDS_WITH_DATE = re.compile(rf"\s(?:{_MONTH}\s+\d{{1,2}},?|\d{{1,2}}\s+{_MONTH},?)\s+\d{{4}}$", re.I)


def clean(doc: RawDoc) -> Article | FileResult:
    """The cleaned ``Article`` for ``doc``, or a rejected ``FileResult`` when no body text remains."""
    lines = [_tidy(line) for line in doc.text.split("\n")]
    captions = _drop_furniture(lines)
    title = _take_title(lines, doc)
    published = parse_date(doc.published) or dateline_date(lines)
    if not doc.structured:
        captions = _take_top_captions(lines) + captions  # document order
    text = "\n\n".join(_paragraphs(lines, join_wrapped=not doc.structured))
    if not text:
        return FileResult(doc.path, "rejected", "no article text after cleaning")
    return Article.create(
        title=title,
        text=text,
        source=doc.source,
        url=doc.url,
        published=published,
        path=doc.path,
        captions=tuple(captions),
        kind=doc.kind,
    )


def _tidy(line: str) -> str:
    return " ".join(line.split())


def _drop_furniture(lines: list[str]) -> list[str]:
    """Blank out furniture lines in place; return the text of ``Image caption, ...`` lines."""
    captions = []
    for i, line in enumerate(lines):
        caption = _CAPTION_LINE.fullmatch(line)
        if caption:
            captions.append(caption.group(1))
            lines[i] = ""
        elif len(line.split()) <= MAX_FURNITURE_WORDS and _FURNITURE.fullmatch(line):
            lines[i] = ""
    return captions


def _take_title(lines: list[str], doc: RawDoc) -> str:
    """The article title; a body line holding it is blanked out."""
    given = _tidy(doc.title or "")
    first = next((i for i, line in enumerate(lines) if line), None)
    if first is None:
        return given or _humanise(doc.path)
    if given:
        if lines[first].casefold() == given.casefold():
            lines[first] = ""
        return given
    if not doc.structured and _looks_like_headline(lines[first]):
        title, lines[first] = lines[first], ""
        return title
    return _humanise(doc.path)


def _looks_like_headline(line: str) -> bool:
    words = line.split()
    return (
        len(words) <= MAX_HEADLINE_WORDS
        and any(c.isalpha() for c in line)
        and not _HEADLINE_STOP.search(line)
    )


def _take_top_captions(lines: list[str]) -> list[str]:
    """Blank out and return the caption-like lines that open the body."""
    captions = []
    for i, line in enumerate(lines):
        if not line:
            continue
        if not _looks_like_caption(line):
            break
        captions.append(line)
        lines[i] = ""
    return captions


def _looks_like_caption(line: str) -> bool:
    if len(line.split()) > MAX_CAPTION_WORDS or _SENTENCE_END.search(line) or dateline_date([line]):
        return False
    return bool(_CAPTION_MARKERS.search(line) or _ENDS_WITH_DATE.search(line))


def _paragraphs(lines: list[str], *, join_wrapped: bool) -> list[str]:
    """Runs of non-empty lines; hard-wrapped lines joined when ``join_wrapped``."""
    paragraphs: list[str] = []
    previous = ""
    for line in lines:
        if line and previous and join_wrapped and _is_wrapped(previous):
            paragraphs[-1] += " " + line
        elif line:
            paragraphs.append(line)
        previous = line
    return paragraphs


def _is_wrapped(line: str) -> bool:
    return len(line) > MIN_WRAPPED_LINE_CHARS and not _SENTENCE_END.search(line)


def _humanise(path: str) -> str:
    """``news/big-storm_hits.txt`` -> ``Big storm hits``; ``feed.jsonl#3`` -> ``Feed #3``."""
    base, _, lineno = path.rpartition("#") if re.search(r"#\d+$", path) else (path, "", "")
    words = " ".join(re.split(r"[-_\s]+", Path(base).stem)).strip() or "Untitled"
    title = words[0].upper() + words[1:]
    return f"{title} #{lineno}" if lineno else title
