"""Typed records of the answering stages: evidence, citations and the final ``Answer``.

Invariant (checked by ``qa.cite`` and by property tests): for every citation,
``article.text[citation.start:citation.end] == citation.quote``.

>>> t = Timings(retrieve_s=0.01, generate_s=2.0, total_s=2.1)
>>> Answer(question="q", text="The briefings don't say.", citations=(), verdict="not_found", refused=True, timings=t).refused
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from index.records import Article, Chunk, Sentence

Verdict = Literal["supported", "contradicted", "mixed", "not_found"]
Stance = Literal["yes", "no", "neutral"]
Speech = Literal["direct", "reported"]  # a quotation of the speaker, or "X said that …"
SupportLabel = Literal["supports", "contradicts", "unrelated"]
Side = Literal["yes", "no", "neither"]
Action = Literal["refused", "rewrote", "vetoed"]


@dataclass(frozen=True)
class Support:
    """The support judge's verdict on one shown quote (``qa.judge``): ``label`` for the claim it is shown
    with, decided with probability ``p``; for yes/no questions the ``side`` the quote takes, with ``p_side``.

    >>> Support("contradicts", 0.91, "no", 0.91).checked
    True
    """

    label: SupportLabel
    p: float
    side: Side | None = None
    p_side: float | None = None
    claim: str = ""  # the answer sentence the quote was judged against ("" for a bare yes/no)

    @property
    def checked(self) -> bool:
        """Whether the quote bears on the claim at all (supports or contradicts it)."""
        return self.label != "unrelated"


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and its sentences."""

    chunk: Chunk
    score: float
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Evidence:
    """One sentence shown to the model as ``[S{n}]``, with its article, its similarity to the question
    (``cosine``: what refusal thresholds compare) and the score retrieval ranked it by (``rank``: a blend of
    cosine, word overlap, chunk prior and recency). Evidence comes in rank order, best first."""

    n: int
    article: Article
    sentence: Sentence
    cosine: float
    rank: float = 0.0
    speaker: str | None = None
    role: str | None = None
    speech: Speech | None = None  # how the speaker's words are given; None: the article's own voice

    @property
    def text(self) -> str:
        return self.article.text[self.sentence.start : self.sentence.end]


def closest(evidence: Iterable[Evidence]) -> list[Evidence]:
    """The evidence by cosine, most similar first (ties keep the rank order): the "closest passages" a refusal
    offers and the order in which speakers' own words and opposite views are looked for."""
    return sorted(evidence, key=lambda e: -e.cosine)


@dataclass(frozen=True)
class Citation:
    """A verified verbatim span of a stored article, numbered as ``[n]`` in the answer text."""

    n: int
    article_id: str
    title: str
    source: str | None
    published: str | None
    path: str | None
    start: int
    end: int
    quote: str
    speaker: str | None
    verified: bool
    role: str | None = None
    stance: Stance = "neutral"
    speech: Speech | None = None
    support: Support | None = None  # None when no judge ran (extractive answers, judge off)

    @property
    def attribution(self) -> str:
        """Who says the quote, and how: "Sergei Ryabkov, Deputy Foreign Minister (quoted)",
        "… (reported)", or the outlet for the article's own words: "BBC News (article text)"."""
        if not self.speaker:
            return f"{self.source} (article text)" if self.source else "article text"
        who = f"{self.speaker}, {self.role}" if self.role else self.speaker
        return f"{who} ({'quoted' if self.speech == 'direct' else 'reported'})" if self.speech else who


@dataclass(frozen=True)
class Reading:
    """The briefings a question is answered from, known as soon as retrieval ends (before the model's first
    token): ``Assistant.events`` yields it first, so a page can show what is being read while the answer streams."""

    question: str  # the standalone question retrieved for
    articles: tuple[Article, ...]  # the evidence's articles, best first
    retrieve_s: float


@dataclass(frozen=True)
class Drafting:
    """The answer while the model writes it (``Assistant.events``): the text so far, its ``[n]`` markers
    resolved, and the quotes they point to — verbatim spans already, not yet judged."""

    text: str
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class Fired:
    """One rule of the answer policy (``qa.policy.STEPS``) that acted on an answer, and what it did.

    >>> Fired("closest_passage", "rewrote", "showed the closest passage too").rule
    'closest_passage'
    """

    rule: str
    action: Action
    did: str


@dataclass(frozen=True)
class Timings:
    retrieve_s: float
    generate_s: float
    total_s: float


@dataclass(frozen=True)
class Answer:
    """What ``qa.ask`` returns; ``related`` holds the closest passages when the answer is a refusal."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    verdict: Verdict
    refused: bool
    timings: Timings
    related: tuple[Citation, ...] = ()
    standalone_question: str | None = None  # the rewritten question when a follow-up was asked
    notes: tuple[str, ...] = field(default=())  # e.g. citations the model gave that did not verify
    unsupported: tuple[str, ...] = ()  # answer sentences cut because the judge found no quote supporting them
    p_answerable: float | None = None  # the model's probability of "answerable": true (None: no model, or it cannot tell)
    trace: tuple[Fired, ...] = ()  # the policy's rules that fired, in order (``briefqa ask --explain``)


def citation_json(c: Citation) -> dict[str, object]:
    """The stable JSON shape of a citation (``briefqa ask --json``)."""
    return {
        "n": c.n, "quote": c.quote, "article_id": c.article_id, "title": c.title, "source": c.source,
        "published": c.published, "path": c.path, "start": c.start, "end": c.end, "speaker": c.speaker,
        "verified": c.verified, "role": c.role, "stance": c.stance, "speech": c.speech,
        "support": None if c.support is None else {"label": c.support.label, "p": round(c.support.p, 4),
                                                   "side": c.support.side, "claim": c.support.claim},
    }


def answer_json(a: Answer) -> dict[str, object]:
    """The stable JSON shape of an answer (``briefqa ask --json``)."""
    return {
        "question": a.question,
        "answer": a.text,
        "verdict": a.verdict,
        "refused": a.refused,
        "citations": [citation_json(c) for c in a.citations],
        "timings": {"retrieve_s": a.timings.retrieve_s, "generate_s": a.timings.generate_s, "total_s": a.timings.total_s},
        "related": [citation_json(c) for c in a.related],
        "standalone_question": a.standalone_question,
        "notes": list(a.notes),
        "unsupported": list(a.unsupported),
        "p_answerable": None if a.p_answerable is None else round(a.p_answerable, 4),
        "trace": [{"rule": f.rule, "action": f.action, "did": f.did} for f in a.trace],
    }
