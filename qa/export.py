"""An answer as Markdown: its text with numbered footnotes ``[^n]``, one per quote (``briefqa ask --format markdown``,
the page's "Copy as Markdown").

Each footnote gives the quote verbatim in curly quotes, who says it (speaker and role, or the outlet for the
article's own words), the title, outlet and date, the link (the article's URL or file path) and the character
offsets of the quote in the stored article text, so ``text[start:end] == quote`` can be checked. A refusal
lists the closest passages as its footnotes.

>>> from qa.records import Answer, Citation, Timings
>>> c = Citation(1, "f9ce94e3", "Talks", "BBC News", "2026-02-11", "https://bbc.example/talks", 0, 10, "Talks rest", "Ana Ruiz",
...              True, role="minister", speech="direct")
>>> print(answer_markdown(Answer("Why?", "She said so [1].", (c,), "supported", False, Timings(0, 0, 0))))
**Supported** — She said so [^1].
<BLANKLINE>
[^1]: “Talks rest” — Ana Ruiz, minister (quoted); *Talks*, BBC News, 2026-02-11, <https://bbc.example/talks>, chars 0–10
"""

from __future__ import annotations

import re

from index.store import StoredArticle
from qa.records import Answer, Citation

VERDICT_LABELS = {
    "supported": "Supported", "contradicted": "Contradicted", "mixed": "Both sides", "not_found": "Not in the briefings"
}
_MARKER = re.compile(r"\[(\d+)\]")
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def answer_markdown(answer: Answer) -> str:
    """The answer text with ``[n]`` markers as footnote references ``[^n]``, then one footnote per quote."""
    cites = answer.citations or answer.related
    known = {c.n for c in cites}
    text = _MARKER.sub(lambda m: f"[^{m[1]}]" if int(m[1]) in known else m[0], answer.text)
    if answer.refused and answer.related:
        text += " Closest passages: " + " ".join(f"[^{c.n}]" for c in answer.related) + "."
    lines = [f"**{VERDICT_LABELS[answer.verdict]}** — {text}", ""]
    lines += [footnote(c) for c in cites]
    return "\n".join(lines).rstrip("\n")


def footnote(c: Citation) -> str:
    """One footnote: ``[^n]: “quote” — who; *title*, outlet, date, <link>, chars start–end`` (the quote verbatim;
    a line break inside it continues the footnote on an indented line)."""
    where = [f"*{_escape(c.title)}*"]
    where += [_escape(v) for v in (c.source, c.published) if v]
    if c.path:
        where.append(f"<{c.path}>" if re.match(r"https?://", c.path) else f"`{c.path.replace('`', '')}`")
    where.append(f"chars {c.start}–{c.end}")
    quote = c.quote.replace("\n", "\n    ")
    return f"[^{c.n}]: “{quote}” — {_escape(c.attribution)}; " + ", ".join(where)


def _escape(text: str) -> str:
    """Text with Markdown's inline syntax characters escaped, so a title or a name renders as written."""
    return _SPECIAL.sub(r"\\\1", text)


def briefing_json(entry: StoredArticle) -> dict[str, object]:
    """The JSON shape of one stored briefing (the MCP tool ``list_briefings``): what ``briefqa index list`` shows, and its link.

    >>> from index.records import Article
    >>> briefing_json(StoredArticle(Article.create(title="T", text="Hi.", source="Reuters"), (), 1))["source"]
    'Reuters'
    """
    a = entry.article
    return {
        "id": a.id, "title": a.title, "source": a.source, "published": a.published, "url": a.url, "path": a.path, "chunks": entry.chunks
    }
