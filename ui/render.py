"""Pure HTML rendering for the chat page: answers with quote cards, and the source viewer.

Every piece of article text, quote, title and question goes through ``html.escape``; the
viewer wraps exactly ``text[start:end]`` in ``<mark id="hl">``. Quote cards and ``[n]`` markers
carry the class ``qa-go`` plus ``qa-go-{kind}-{turn}-{n}``, which the page's click handler opens
(the chat's HTML sanitizer keeps classes but drops ``data-*`` attributes).

>>> from index.records import Article
>>> a = Article.create(title="T", text="He said <b>no</b>. Then left.")
>>> '<mark id="hl">He said &lt;b&gt;no&lt;/b&gt;.</mark>' in article_html(a, 0, 18)
True
>>> badge("mixed")
'<span class="qa-badge qa-mixed">Both sides</span>'

Every quote card and the viewer show the article's published date (``date_html``), or "undated".
"""

from __future__ import annotations

import re
from datetime import date
from html import escape

from index.records import Article
from qa.records import Answer, Citation, Verdict

VERDICT_LABELS: dict[Verdict, str] = {
    "supported": "Supported",
    "contradicted": "Contradicted",
    "mixed": "Both sides",
    "not_found": "Not in the briefings",
}
STANCE_LABELS = {"yes": "says yes", "no": "says no"}
VIEWER_PLACEHOLDER = '<div class="qa-empty">Click a quote card or a [n] marker to see the quote in its article.</div>'

_MARKER = re.compile(r"\[(\d+)\]")


def _inline(text: str) -> str:
    """Escape for a chat message: no literal newlines, so markdown keeps it one raw-HTML block."""
    return escape(text).replace("\r", "&#13;").replace("\n", "&#10;")


def _target(kind: str, turn: int, n: int) -> str:
    """The classes that tell the click handler which quote to open.

    >>> _target("cite", 0, 2)
    'qa-go qa-go-cite-0-2'
    """
    return f"qa-go qa-go-{kind}-{turn}-{n}"


def badge(verdict: Verdict) -> str:
    return f'<span class="qa-badge qa-{verdict}">{VERDICT_LABELS[verdict]}</span>'


def question_html(question: str) -> str:
    """The user's turn, escaped (no markdown, no HTML from the user)."""
    return f'<div class="qa-q">{_inline(question)}</div>'


def streaming_html(text: str) -> str:
    """The answer while it is being written; empty text shows a searching notice.

    >>> streaming_html("")
    '<div class="qa-answer qa-streaming"><p class="qa-text">Searching the briefings…</p></div>'
    """
    body = _inline(text) if text else "Searching the briefings…"
    return f'<div class="qa-answer qa-streaming"><p class="qa-text">{body}</p></div>'


def _link_markers(text: str, turn: int, numbers: set[int]) -> str:
    """Escape ``text`` and make each ``[n]`` of a known citation a clickable marker."""

    def link(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        return f'<span class="qa-ref {_target("cite", turn, n)}" role="button" tabindex="0">[{n}]</span>'

    return _MARKER.sub(link, _inline(text))


def _who(c: Citation) -> str:
    return escape(c.attribution)


def date_html(published: str | None) -> str:
    """The published date as a ``<time>`` element ("3 Mar 2025"); "undated" when unknown.

    >>> date_html("2025-03-03")
    '<time class="qa-date" datetime="2025-03-03">3 Mar 2025</time>'
    >>> date_html(None), date_html("spring <2019>")
    ('<span class="qa-date">undated</span>', '<span class="qa-date">spring &lt;2019&gt;</span>')
    """
    if not published:
        return '<span class="qa-date">undated</span>'
    try:
        day = date.fromisoformat(published)
    except ValueError:  # an index built before dates were parsed may hold the raw text
        return f'<span class="qa-date">{escape(published)}</span>'
    return f'<time class="qa-date" datetime="{day.isoformat()}">{day.day} {day.strftime("%b %Y")}</time>'


def card_html(c: Citation, turn: int, kind: str) -> str:
    """One numbered quote card; ``kind`` is ``cite`` (a citation) or ``related`` (a refusal's passage)."""
    tags = [STANCE_LABELS[c.stance]] if c.stance in STANCE_LABELS else []
    if not c.verified:
        tags.append("unverified")
    tag_html = "".join(f'<span class="qa-tag">{t}</span>' for t in tags)
    meta = " · ".join([escape(x) for x in (c.title, c.source or "") if x] + [date_html(c.published)])
    return (
        f'<div class="qa-card {_target(kind, turn, c.n)}" role="button" tabindex="0" title="Show in the article">'
        f'<div class="qa-card-top"><span class="qa-n">{c.n}</span><span class="qa-who">{_who(c)}</span>{tag_html}</div>'
        f'<div class="qa-quote">{_inline(c.quote)}</div>'
        f'<div class="qa-meta">{meta}</div></div>'
    )


def answer_html(answer: Answer, turn: int) -> str:
    """Verdict badge, answer text with clickable ``[n]``, "asked as" and the numbered quote cards."""
    head = badge(answer.verdict)
    if answer.standalone_question:
        head += f'<span class="qa-asked">asked as: {_inline(answer.standalone_question)}</span>'
    numbers = {c.n for c in answer.citations}
    parts = [f'<div class="qa-head">{head}</div>', f'<p class="qa-text">{_link_markers(answer.text, turn, numbers)}</p>']
    if answer.citations:
        cards = "".join(card_html(c, turn, "cite") for c in answer.citations)
        parts.append(f'<div class="qa-cards">{cards}</div>')
    elif answer.related:
        cards = "".join(card_html(c, turn, "related") for c in answer.related)
        parts.append('<div class="qa-cards-title">Closest passages (they do not answer the question)</div>')
        parts.append(f'<div class="qa-cards qa-related">{cards}</div>')
    classes = "qa-answer qa-refused" if answer.refused else "qa-answer"
    return f'<div class="{classes}">{"".join(parts)}</div>'


def article_html(article: Article, start: int, end: int, label: str = "") -> str:
    """The whole article with exactly ``text[start:end]`` wrapped in ``<mark id="hl">``.

    ``label`` (already HTML) goes above the title, e.g. which quote is shown.
    """
    text = article.text
    source = [escape(article.source)] if article.source else []
    meta = " · ".join([*source, date_html(article.published), f"chars {start}–{end}"])
    body = f'{escape(text[:start])}<mark id="hl">{escape(text[start:end])}</mark>{escape(text[end:])}'
    top = f'<div class="qa-label">{label}</div>' if label else ""
    return (
        f'<div class="qa-article"><div class="qa-article-head">{top}'
        f'<h3 class="qa-title">{escape(article.title)}</h3><div class="qa-meta">{meta}</div></div>'
        f'<div class="qa-body">{body}</div></div>'
    )


def quote_label(c: Citation, kind: str) -> str:
    """What the viewer says above the article: which card is shown and who speaks."""
    name = f"Quote [{c.n}]" if kind == "cite" else f"Closest passage {c.n}"
    return f"{name} — {_who(c)}"


def notice_html(message: str) -> str:
    return f'<div class="qa-empty">{escape(message)}</div>'
