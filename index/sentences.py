"""Quotation-aware sentence segmentation with character offsets into the cleaned text.

Rules: paragraphs (newlines) are hard boundaries; a sentence ends at ``.``, ``?`` or ``!``
(plus closing quotes/brackets) followed by space and a capital, digit or opening quote —
but never inside an open quotation, after a known abbreviation ("Mr.", "U.S.") or an initial.
A quotation that never closes within its paragraph is ignored (no run-away sentences).
"No." ends a sentence unless a number follows ("No. 10").

>>> text = 'He said, "No. Never." Then he left. Mr. Smith stayed.'
>>> [text[s:e] for s, e in split_sentences(text)]
['He said, "No. Never."', 'Then he left.', 'Mr. Smith stayed.']
"""

from __future__ import annotations

import re

from index.records import Sentence

_OPEN_QUOTES = "“«„"
_CLOSE_QUOTES = "”»"
_TOGGLE_QUOTES = '"'
_CLOSERS = "\"'”’»)]"
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st gen sen rep gov lt col capt sgt maj cmdr adm rev hon pres
    vs etc inc ltd co corp dept est fig jan feb mar apr jun jul aug sep sept oct nov dec
    mt ft approx e.g i.e u.s u.k u.n a.m p.m""".split()
)
_BOUNDARY = re.compile(r"[.?!]+[" + re.escape(_CLOSERS) + r"]*(?=\s+[\"“'‘(\[A-Z0-9])")
_PARAGRAPH = re.compile(r"[^\n]+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of the sentences of ``text``, in order, whitespace-trimmed."""
    spans: list[tuple[int, int]] = []
    for para in _PARAGRAPH.finditer(text):
        spans.extend(_split_paragraph(text, para.start(), para.end()))
    return spans


def sentences_of(article_id: str, text: str) -> list[Sentence]:
    """Sentences of an article as records (``idx`` is the position in the article)."""
    return [Sentence(article_id, i, s, e) for i, (s, e) in enumerate(split_sentences(text))]


def _split_paragraph(text: str, start: int, end: int) -> list[tuple[int, int]]:
    para = text[start:end]
    inside = _inside_quotes(para)
    cuts = [0]
    for m in _BOUNDARY.finditer(para):
        if inside[m.end() - 1] or _is_abbreviation(para, m.start()):
            continue
        cuts.append(m.end())
    cuts.append(len(para))
    spans = []
    for a, b in zip(cuts, cuts[1:]):
        piece = para[a:b]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece.rstrip())
        if trail > lead:
            spans.append((start + a + lead, start + a + trail))
    return spans


def _inside_quotes(para: str) -> list[bool]:
    """For each character, whether it lies inside a quotation that closes in this paragraph."""
    inside = False
    opened = 0
    flags = []
    for i, ch in enumerate(para):
        if ch in _OPEN_QUOTES or (ch in _TOGGLE_QUOTES and not inside):
            inside, opened = True, i
        elif ch in _CLOSE_QUOTES or ch in _TOGGLE_QUOTES:
            inside = False
        flags.append(inside)
    if inside:  # the last quotation never closes: treat its text as unquoted
        flags[opened:] = [False] * (len(para) - opened)
    return flags


def _is_abbreviation(para: str, dot: int) -> bool:
    if para[dot] != ".":
        return False
    m = re.search(r"([A-Za-z][A-Za-z.]*)$", para[:dot])
    if not m:
        return False
    word = m.group(1).lower().rstrip(".")
    if word == "no":  # "No. 10" is an abbreviation, "said no. Then" is not
        return para[dot + 1 :].lstrip()[:1].isdigit()
    return word in _ABBREVIATIONS or (len(word) == 1 and m.group(1).isupper())
