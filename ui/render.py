"""Pure HTML rendering for the chat page: answers with quote cards, and the source viewer.

Every piece of article text, quote, title and question goes through ``html.escape``; the
viewer wraps exactly ``text[start:end]`` in ``<mark id="hl">``. Quote cards and ``[n]`` markers
carry the class ``qa-go`` plus ``qa-go-{kind}-{turn}-{n}``, which the page's click handler opens
(the chat's HTML sanitizer keeps classes, ids, ``role``, ``tabindex`` and ``title`` but drops ``data-*`` and
``aria-*`` attributes: cards are ``<button>`` elements whose text is their label, and each side, check and
"latest" mark says what it is in words or a symbol). What is shown — sides, timeline, checked claims,
status — comes from ``qa.views``; this module only writes it as HTML.

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
from collections.abc import Sequence
from datetime import date, datetime, timezone
from html import escape

from index.records import Article
from qa import views
from qa.records import Answer, Citation, Reading, Verdict
from qa.views import IndexStatus

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


def _check_tag(c: Citation) -> str:
    """The support judge's mark on a card (nothing when no judge ran).

    >>> from qa.records import Support
    >>> _check_tag(cite_example(support=Support("supports", 0.93, claim="Not allies.")))
    '<span class="qa-tag qa-checked" title="checked against: Not allies.">✓ checked</span>'
    """
    s = c.support
    if s is None:
        return ""
    if s.checked:
        return f'<span class="qa-tag qa-checked" title="checked against: {escape(s.claim)}">✓ checked</span>'
    return f'<span class="qa-tag qa-unrelated" title="checked against: {escape(s.claim)}">✗ off the point</span>'


def cite_example(**kw: object) -> Citation:
    """A citation for this module's examples."""
    fields: dict = dict(n=1, article_id="a1", title="T", source="Src", published="2019-01-28", path=None, start=0, end=11,
                        quote="Not allies.", speaker="Sergei Ryabkov", verified=True, role="Deputy Foreign Minister")
    return Citation(**{**fields, **kw})


def card_id(turn: int, n: int) -> str:
    """The element id of a quote card (the timeline's points link to it)."""
    return f"qa-card-{turn}-{n}"


def card_html(c: Citation, turn: int, kind: str) -> str:
    """One numbered quote card, a button; ``kind`` is ``cite`` (a citation) or ``related`` (a refusal's passage).

    Its label (the button's text) reads: number, speaker and role, side, check, quote, title, outlet, date.

    >>> card_html(cite_example(), 0, "cite").startswith('<button type="button" class="qa-card qa-go qa-go-cite-0-1" id="qa-card-0-1"')
    True
    """
    tags = [f'<span class="qa-tag">{STANCE_LABELS[c.stance]}</span>'] if c.stance in STANCE_LABELS else []
    if not c.verified:
        tags.append('<span class="qa-tag">unverified</span>')
    meta = " · ".join([escape(x) for x in (c.title, c.source or "") if x] + [date_html(c.published)])
    ident = f' id="{card_id(turn, c.n)}"' if kind == "cite" else ""
    return (
        f'<button type="button" class="qa-card {_target(kind, turn, c.n)}"{ident} title="Show quote {c.n} in its article">'
        f'<span class="qa-card-top"><span class="qa-n">{c.n}</span><span class="qa-who">{_who(c)}</span>{"".join(tags)}'
        f'{_check_tag(c)}</span>'
        f'<span class="qa-quote">{_inline(c.quote)}</span>'
        f'<span class="qa-meta">{meta}</span></button>'
    )


def _sides_html(answer: Answer, turn: int) -> str:
    """Who said what: a Yes / No (/ Neither) column per side, each holding its quote cards; "" for no sides."""
    cols = views.columns(answer)
    if not cols:
        return ""
    parts = []
    for col in cols:
        cards = "".join(card_html(c, turn, "cite") for c in col.citations) or '<p class="qa-none">No quote on this side.</p>'
        count = f"{len(col.citations)} quote{'s' if len(col.citations) != 1 else ''}"
        parts.append(f'<section class="qa-side qa-side-{col.side}"><h2 class="qa-side-head">{col.label}'
                     f' <span class="qa-side-count">({count})</span></h2><div class="qa-cards">{cards}</div></section>')
    return f'<div class="qa-sides">{"".join(parts)}</div>'


def timeline_html(answer: Answer, turn: int) -> str:
    """The cited articles by date, each point a link to its card, the latest marked in words; "" without two dated articles.

    >>> from qa.records import Timings
    >>> two = (cite_example(), cite_example(n=2, article_id="a2", published="2019-02-01"))
    >>> html = timeline_html(Answer("q", "x", two, "mixed", False, Timings(0, 0, 0)), 0)
    >>> html.count('<li class="qa-tl-point'), html.count(">latest<")
    (2, 1)
    """
    points = views.timeline(answer)
    if not points:
        return ""
    items = []
    for p in points:
        latest = '<strong class="qa-latest">latest</strong>' if p.latest else ""
        items.append(
            f'<li class="qa-tl-point{" qa-tl-latest" if p.latest else ""}"><a class="qa-jump qa-jump-{turn}-{p.n}" '
            f'href="#{card_id(turn, p.n)}" title="Go to quote {p.n}"><span class="qa-tl-dot"></span>{date_html(p.day.isoformat())}'
            f'<span class="qa-tl-where">{escape(p.source or p.title)}</span><span class="qa-tl-n">[{p.n}]</span>{latest}</a></li>'
        )
    return f'<div class="qa-timeline"><div class="qa-cards-title">When they said it</div><ol class="qa-tl">{"".join(items)}</ol></div>'


CHECK_LABELS: dict[views.Check, str] = {  # a sentence citing nothing ("The briefings disagree.") gets no mark
    "supported": "✓ supported by its quote", "contradicted": "✗ its quote says otherwise",
    "unsupported": "✗ no quote supports it", "unchecked": "not checked",
}


def _claims_html(answer: Answer, turn: int) -> str:
    """The answer text; once the judge ran, sentence by sentence with its check, and the cut claims collapsed below."""
    numbers = {c.n for c in answer.citations}
    if not views.judged(answer):
        return f'<p class="qa-text">{_link_markers(answer.text, turn, numbers)}</p>'
    items = "".join(f'<li class="qa-claim qa-claim-{c.check}">{_link_markers(c.text, turn, numbers)}'
                    + (f' <span class="qa-check">{CHECK_LABELS[c.check]}</span>' if c.check != "uncited" else "")  # framing
                    + "</li>" for c in views.claims(answer))
    html = f'<ul class="qa-text qa-claims">{items}</ul>'
    if answer.unsupported:
        cut = "".join(f"<li>{_inline(t)}</li>" for t in answer.unsupported)
        html += (f'<details class="qa-cut"><summary>Not supported by the briefings ({len(answer.unsupported)})</summary>'
                 f"<ul>{cut}</ul></details>")
    return html


def reading_html(reading: Reading | None, text: str = "", quotes: Sequence[Citation] = (), turn: int = 0) -> str:
    """While the answer is written: the briefings being read (title, outlet, date), a live status, the text so far
    and the quote cards its markers resolve to (verbatim already; judged when the answer is finished).

    >>> from index.records import Article
    >>> html = reading_html(Reading("q", (Article.create(title="Barrier <late>", text="x", source="Herald"),), 0.012))
    >>> "Reading 1 briefing (found in 0.01 s)" in html and "Barrier &lt;late&gt;</span> · Herald · " in html
    True
    """
    cards = "".join(card_html(c, turn, "cite") for c in quotes)
    cards = f'<div class="qa-cards qa-drafting-cards">{cards}</div>' if cards else ""
    if reading is None:
        return streaming_html(text)
    n = len(reading.articles)
    step = "writing the answer…" if text else "waiting for the model…"
    status = f"Reading {n} briefing{'s' if n != 1 else ''} (found in {reading.retrieve_s:.2f} s) · {step}"
    return (f'<div class="qa-answer qa-streaming"><p class="qa-status" role="status">{status}</p>'
            f'{_sources_list(reading)}<p class="qa-text">{_inline(text)}</p>{cards}</div>')


def _sources_list(reading: Reading) -> str:
    items = "".join(f'<li><span class="qa-src-title">{escape(a.title)}</span> · {escape(a.source or "unknown outlet")} · '
                    f'{date_html(a.published)}</li>' for a in reading.articles)
    return f'<ol class="qa-sources">{items}</ol>'


def answer_html(answer: Answer, turn: int, reading: Reading | None = None) -> str:
    """Verdict badge, the answer (checked sentence by sentence once judged), the timeline, who said what (or the
    numbered quote cards), and the briefings that were read, collapsed."""
    head = badge(answer.verdict)
    if answer.standalone_question:
        head += f'<span class="qa-asked">asked as: {_inline(answer.standalone_question)}</span>'
    parts = [f'<div class="qa-head">{head}</div>', _claims_html(answer, turn), timeline_html(answer, turn)]
    sides = _sides_html(answer, turn)
    if sides:
        parts.append(sides)
    elif answer.citations:
        parts.append(f'<div class="qa-cards">{"".join(card_html(c, turn, "cite") for c in answer.citations)}</div>')
    elif answer.related:
        cards = "".join(card_html(c, turn, "related") for c in answer.related)
        parts.append('<div class="qa-cards-title">Closest passages (they do not answer the question)</div>')
        parts.append(f'<div class="qa-cards qa-related">{cards}</div>')
    if reading is not None and reading.articles:
        n = len(reading.articles)
        parts.append(f'<details class="qa-read"><summary>Read {n} briefing{"s" if n != 1 else ""}</summary>'
                     f"{_sources_list(reading)}</details>")
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


def status_html(s: IndexStatus) -> str:
    """The status line: articles indexed, the newest date, when the index was last written, the models in use.

    >>> status_html(IndexStatus(3, "2025-04-15", 0.0, "extractive (no model)", "hash-256"))  # doctest: +NORMALIZE_WHITESPACE
    '<p class="qa-status-line" role="status">3 articles indexed · newest <time class="qa-date" datetime="2025-04-15">15 Apr
    2025</time> · index updated 1970-01-01 00:00 UTC · answers: extractive (no model) · embeddings: hash-256</p>'
    """
    parts = [f"{s.articles} article{'s' if s.articles != 1 else ''} indexed"]
    if s.newest:
        parts.append(f"newest {date_html(s.newest)}")
    if s.updated is not None:
        parts.append(f"index updated {datetime.fromtimestamp(s.updated, tz=timezone.utc):%Y-%m-%d %H:%M} UTC")
    parts += [f"answers: {escape(s.generator)}", f"embeddings: {escape(s.embedder)}"]
    return f'<p class="qa-status-line" role="status">{" · ".join(parts)}</p>'
