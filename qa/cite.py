"""Turn a model draft into checked citations: every quote is looked up in the stored article.

* ``[S#]`` markers resolve to the exact sentence span of the evidence sentence ``#``; unknown ids
  are dropped (and noted). Markers are renumbered ``[1]``, ``[2]``… in order of appearance.
* A claim followed by a pile of ids keeps the ``MAX_PER_CLAIM`` that share most words with it
  (and at least half as many as the best); a draft with no ids at all gets, per sentence, the
  evidence sentence that shares most of its words (at least half) — or nothing. A claim whose
  cited sentence shares clearly fewer of its words than another evidence sentence (by 25 points,
  the other at least half) is re-pointed to that sentence (the small model miscounts ids).
* A phrase the model put in quotation marks right before a marker is searched in that sentence
  (whitespace, curly/straight quotes and case normalised, then mapped back to original offsets).
  Found: the citation narrows to that span and the answer shows the article's exact text.
  Not found: its quotation marks are removed, so model text is never presented as a quote.

>>> find_span("He said, “We  won’t go.”", '"we won\\'t go."')
(9, 24)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.text import overlap, tokenize
from index.records import Article
from qa.records import Citation, Evidence

MARKER = re.compile(r"\[\s*S?\d+(?:\s*[,;]\s*S?\d+)*\s*\]")
_ADJACENT = re.compile(r"\]\s*[,;]?\s*(?:and\s+)?\[")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|$")
MAX_PER_CLAIM = 3
_QUOTED = re.compile(r"[\"“]([^\"“”]{3,}?)[\"”]|‘([^‘’]{3,}?)’|(?<!\w)'(.{3,}?)'(?!\w)")
_FOLD = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "`": "'", "\u00a0": " "})


def normalise(text: str) -> tuple[str, list[int]]:
    """Fold quote marks and case, collapse whitespace; return the text and, per character, its source offset."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text.translate(_FOLD)):
        if ch.isspace():
            if out and out[-1] == " ":
                continue
            ch = " "
        out.append(ch.lower())
        where.append(i)
    return "".join(out), where


def find_span(haystack: str, needle: str) -> tuple[int, int] | None:
    """Offsets ``(start, end)`` in ``haystack`` of ``needle`` up to normalisation, or None."""
    norm_needle, _ = normalise(needle.strip())
    if not norm_needle.strip():
        return None
    norm_hay, where = normalise(haystack)
    pos = norm_hay.find(norm_needle)
    if pos < 0:
        return None
    return where[pos], where[pos + len(norm_needle) - 1] + 1


@dataclass(frozen=True)
class Resolved:
    """The answer text with ``[n]`` markers, its citations, and notes on what was dropped."""

    text: str
    citations: tuple[Citation, ...]
    notes: tuple[str, ...]


def make_citation(n: int, ev: Evidence, span: tuple[int, int] | None = None, stance: str = "neutral") -> Citation:
    """A citation of evidence sentence ``ev`` (or of ``span`` inside it), checked against the article."""
    start, end = span or (ev.sentence.start, ev.sentence.end)
    a: Article = ev.article
    quote = a.text[start:end]
    return Citation(
        n=n, article_id=a.id, title=a.title, source=a.source, published=a.published, path=a.path,
        start=start, end=end, quote=quote, speaker=ev.speaker, role=ev.role, speech=ev.speech,
        verified=verify(a, start, end, quote), stance=stance,  # type: ignore[arg-type]
    )


def verify(article: Article, start: int, end: int, quote: str) -> bool:
    """The invariant every shown quote must satisfy."""
    return 0 <= start < end <= len(article.text) and article.text[start:end] == quote


def resolve(answer: str, evidence: Sequence[Evidence]) -> Resolved:
    """Resolve the ``[S#]`` markers and quoted phrases of a draft answer (see the module docstring)."""
    by_n = {ev.n: ev for ev in evidence}
    answer = _ADJACENT.sub(", ", answer)
    if not MARKER.search(answer):
        answer = _attach_markers(answer, evidence)
    numbers: dict[int, int] = {}  # evidence n -> citation number
    spans: dict[int, tuple[int, int]] = {}
    notes: list[str] = []
    pieces: list[str] = []
    last = 0
    for m in MARKER.finditer(answer):
        before = answer[last : m.start()]
        ids = [int(x) for x in re.findall(r"\d+", m.group(0))]
        claim = re.split(r"(?<=[.?!])\s", before.strip())[-1]
        known = _repoint(claim, _prune(claim, [i for i in dict.fromkeys(ids) if i in by_n], by_n), evidence, notes)
        notes.extend(f"dropped a citation of S{i}: no such evidence sentence" for i in ids if i not in by_n)
        if known:
            before = _check_quotes(before, by_n[known[0]], spans, notes)
        for i in known:
            numbers.setdefault(i, len(numbers) + 1)
        pieces.append(before + "".join(f"[{numbers[i]}]" for i in known))
        last = m.end()
    pieces.append(_check_quotes(answer[last:], None, spans, notes))
    text = re.sub(r"\s+([.,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", "".join(pieces))).strip()
    citations = tuple(make_citation(c, by_n[i], spans.get(i)) for i, c in numbers.items())
    return Resolved(text, citations, tuple(notes))


def support(claim: str, ev: Evidence) -> float:
    """Share of the claim's content words that the evidence sentence contains ("parliament" ~ "parliamentary")."""
    return overlap(tokenize(claim), ev.text)


def _prune(claim: str, ids: list[int], by_n: dict[int, Evidence]) -> list[int]:
    if len(ids) <= 1:
        return ids
    scores = {i: support(claim, by_n[i]) for i in ids}
    best = max(scores.values())
    keep = sorted((i for i in ids if scores[i] >= best / 2), key=lambda i: -scores[i])[:MAX_PER_CLAIM]
    return [i for i in ids if i in keep]


def _repoint(claim: str, ids: list[int], evidence: Sequence[Evidence], notes: list[str]) -> list[int]:
    """Replace the cited ids by the sentence that clearly supports the claim better, if there is one."""
    if not evidence or not ids:
        return ids
    scores = {ev.n: support(claim, ev) for ev in evidence}
    cited = max((scores[i] for i in ids), default=0.0)
    best = max(evidence, key=lambda ev: scores[ev.n])
    score = scores[best.n]
    if best.n not in ids and score >= 0.5 and score >= cited + 0.25:
        notes.append(f"re-pointed a citation of {', '.join(f'S{i}' for i in ids)} to S{best.n}, which supports the claim")
        return [best.n]
    return ids


def _attach_markers(answer: str, evidence: Sequence[Evidence]) -> str:
    """Give each sentence of an uncited draft the evidence sentence that supports it best, if any."""
    out, last = [], 0
    for m in _SENTENCE_END.finditer(answer):
        sentence = answer[last : m.start()]
        if sentence.strip():
            score, n = max(((support(sentence, ev), ev.n) for ev in evidence), key=lambda t: t[0], default=(0.0, 0))
            if score >= 0.5:
                sentence = re.sub(r"([.?!]?)$", rf" [S{n}]\1", sentence.rstrip(" ,;"), count=1)
        out.append(sentence + answer[m.start() : m.end()])
        last = m.end()
        if m.start() == len(answer):
            break
    return "".join(out)


def _check_quotes(segment: str, ev: Evidence | None, spans: dict[int, tuple[int, int]], notes: list[str]) -> str:
    """Replace verified quoted phrases with the article's exact text; unquote the rest."""

    def fix(m: re.Match[str]) -> str:
        phrase = next(g for g in m.groups() if g is not None)
        if ev is not None:
            found = find_span(ev.text, phrase)
            if found is not None:
                start, end = ev.sentence.start + found[0], ev.sentence.start + found[1]
                spans.setdefault(ev.n, (start, end))
                return f"“{ev.article.text[start:end]}”"
        notes.append(f"unverified quotation shown without quote marks: {phrase!r}")
        return phrase

    return _QUOTED.sub(fix, segment)


def within(c: Citation, ev: Evidence) -> bool:
    """Whether citation ``c`` points into evidence sentence ``ev``."""
    return ev.article.id == c.article_id and ev.sentence.start <= c.start < ev.sentence.end


def cited_evidence(citations: Sequence[Citation], evidence: Sequence[Evidence]) -> list[Evidence]:
    """The evidence sentences the verified citations point into, in citation order."""
    out: list[Evidence] = []
    for c in citations:
        for ev in evidence:
            if c.verified and within(c, ev) and ev not in out:
                out.append(ev)
    return out
