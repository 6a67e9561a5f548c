"""Fact-check mode: which quotes of the briefings support or contradict a pasted claim, by the checker.

``check_claim`` retrieves evidence for the claim as if it were a question, judges every evidence sentence against
it (``qa.checker.CheckerJudge``: the ``supports`` task, plus the code vetoes — a number the quote never states
cannot support), and keeps the quotes that bear on it, most certain first, each a verified verbatim citation
carrying its ``Support`` (label and probability). ``judge_pair`` is the evaluation interface
(``briefqa check --pairs``): one ``(question, claim, quote)`` in, one ``PairVerdict`` out.

Example (needs an index)::

    fc = check("Russia called Iran an ally")      # qa.service.check
    fc.verdict                                    # 'mixed'
    [(c.support.label, round(c.support.p, 2), c.quote[:40]) for c in fc.citations]

>>> PairVerdict("supports", 0.9, None, None).json()
{'label': 'supports', 'p': 0.9, 'side': None, 'p_side': None}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from index.filters import Filters
from qa.cite import make_citation
from qa.judge import Judge
from qa.records import Citation, Support
from qa.retrieve import Retriever

Verdict = Literal["supported", "contradicted", "mixed", "not_found"]


@dataclass(frozen=True)
class FactCheck:
    """The claim, the quotes that bear on it (``support`` set on each), the verdict and how many sentences were read."""

    claim: str
    citations: tuple[Citation, ...]
    verdict: Verdict
    considered: int

    def json(self) -> dict[str, object]:
        """The JSON shape of ``briefqa check --json`` and the MCP tool ``check``."""
        from qa.records import citation_json

        return {"claim": self.claim, "verdict": self.verdict, "considered": self.considered,
                "citations": [citation_json(c) for c in self.citations]}


@dataclass(frozen=True)
class PairVerdict:
    """One judged ``(question, claim, quote)``: the label towards the claim (towards "yes" for an empty claim on a
    yes/no question) with its probability, and for yes/no questions the quote's side with its probability."""

    label: str
    p: float
    side: str | None
    p_side: float | None

    def json(self) -> dict[str, object]:
        return {"label": self.label, "p": round(self.p, 4), "side": self.side,
                "p_side": None if self.p_side is None else round(self.p_side, 4)}


def judge_pair(judge: Judge, question: str, claim: str, quote: str) -> PairVerdict:
    """The judge's verdict on one pair, as the answer path would reach it (same vetoes)."""
    j = judge.judge(question.strip(), claim, quote)
    return PairVerdict(j.label, j.p, j.side, j.p_side)


def check_claim(claim: str, retriever: Retriever, judge: Judge, filters: Filters | None, min_p: float) -> FactCheck:
    """The quotes of the indexed briefings that support or contradict ``claim`` (see the module docstring)."""
    evidence = retriever.retrieve(claim, filters).evidence
    judged = judge.judge_all("", [(claim, ev.text, None) for ev in evidence], (),
                             [f"{ev.article.title} {ev.article.text}" for ev in evidence])
    kept = sorted(((j, ev) for j, ev in zip(judged, evidence) if j.label != "unrelated" and j.p >= min_p),
                  key=lambda pair: -pair[0].p)
    cites = tuple(replace(make_citation(n, ev), support=Support(j.label, j.p, claim=claim))
                  for n, (j, ev) in enumerate(kept, start=1))
    return FactCheck(claim, tuple(c for c in cites if c.verified), _verdict([c.support.label for c in cites if c.support]),
                     len(evidence))


def _verdict(labels: Sequence[str]) -> Verdict:
    found = set(labels)
    if found == {"supports"}:
        return "supported"
    if found == {"contradicts"}:
        return "contradicted"
    return "mixed" if found else "not_found"
