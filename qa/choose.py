"""Quotes first: the checker chooses the answer's quotes from the evidence before any model writes a word.

A wh-question: each evidence sentence gets p(it answers the question), the checker's ``answers`` task (calibrated). A yes/no
question: the side each sentence takes and p(side), the ``side`` task through ``qa.checker.CheckerJudge`` (its
calibration and the code vetoes). The sentences at ``Settings.quote_min_p`` or more, most certain first, at most
``Settings.max_quotes`` (a yes/no question keeps the best of each side before the rest), are the answer's quotes:
verified verbatim citations carrying the ``Support`` they were chosen with. None reach it: a refusal.

Example (needs an index; ``qa.service`` wires it when ``BRIEFQA_ANSWER_ORDER=quotes_first``)::

    quoted = assistant.chooser.choose("When did the bridge reopen?", evidence)
    [(c.quote, round(c.support.p, 2)) for c in quoted.citations]   # [('The bridge reopened in May.', 0.93)]
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from qa.checker import CheckerJudge
from qa.cite import make_citation
from qa.question import profile_of
from qa.records import Citation, Evidence, Stance, Support

NO_ANSWER = "None of the sentences found answers the question."
NO_SIDE = "None of the sentences found says yes or no to it."


@dataclass(frozen=True)
class Quoted:
    """The answer's quotes, chosen before the model runs (``Assistant.events`` yields it after ``Reading``): each
    citation's ``support`` holds what it was chosen with — for a wh-question label ``supports`` and p(answers), for
    a yes/no question its side and p(side). ``refusal``: why none was chosen (then ``citations`` is empty)."""

    question: str
    citations: tuple[Citation, ...]
    evidence: tuple[Evidence, ...]  # the chosen sentences, in citation order: all a summary may be written from
    refusal: str | None
    choose_s: float


class Scorer(Protocol):
    """What chooses the quotes: p(answers) for wh-questions, (side, p_side) for yes/no ones."""

    def answers(self, question: str, sentences: Sequence[str]) -> list[float]: ...

    def sides(self, question: str, evidence: Sequence[Evidence]) -> list[tuple[str, float]]: ...


class QuoteChooser:
    """Chooses the answer's quotes with ``scorer`` (``CheckerScorer`` in the app)."""

    def __init__(self, scorer: Scorer, *, min_p: float, max_quotes: int) -> None:
        self.scorer, self.min_p, self.max_quotes = scorer, min_p, max_quotes

    def choose(self, question: str, evidence: Sequence[Evidence]) -> Quoted:
        """The ``Quoted`` of ``question`` over ``evidence`` (see the module docstring)."""
        t0 = time.perf_counter()
        yes_no = profile_of(question).yes_no
        if yes_no:
            picks = [(ev, Support("supports" if side == "yes" else "contradicts", p, side, p))  # type: ignore[arg-type]
                     for ev, (side, p) in zip(evidence, self.scorer.sides(question, evidence)) if side != "neither" and p >= self.min_p]
        else:
            picks = [(ev, Support("supports", p)) for ev, p in zip(evidence, self.scorer.answers(question, [e.text for e in evidence]))
                     if p >= self.min_p]
        picks.sort(key=lambda pick: -pick[1].p)
        if yes_no:  # both sides before more of one
            firsts = {pick[1].side: pick for pick in reversed(picks)}
            picks = sorted(firsts.values(), key=lambda pick: -pick[1].p) + [p for p in picks if p not in firsts.values()]
        picks = _distinct(picks)[: self.max_quotes]
        cites = tuple(replace(make_citation(n, ev, stance=_stance(s)), support=s) for n, (ev, s) in enumerate(picks, start=1))
        refusal = None if cites else (NO_SIDE if yes_no else NO_ANSWER)
        return Quoted(question, cites, tuple(ev for ev, _ in picks), refusal, time.perf_counter() - t0)


def _stance(s: Support) -> Stance:
    return "yes" if s.side == "yes" else "no" if s.side == "no" else "neutral"


def _distinct(picks: list[tuple[Evidence, Support]]) -> list[tuple[Evidence, Support]]:
    """One quote per sentence text (near-duplicate articles repeat sentences word for word)."""
    seen: set[str] = set()
    out = []
    for ev, s in picks:
        key = " ".join(ev.text.lower().split())
        if key not in seen:
            seen.add(key)
            out.append((ev, s))
    return out


class CheckerScorer:
    """The checker as a ``Scorer``, through ``CheckerJudge``: the ``answers`` task and the ``side`` task with their
    fitted biases (and the code vetoes: a number the question asks about that the sentence never states cannot say yes)."""

    def __init__(self, judge: CheckerJudge) -> None:
        self.judge = judge

    def answers(self, question: str, sentences: Sequence[str]) -> list[float]:
        return self.judge.answers(question, sentences)

    def sides(self, question: str, evidence: Sequence[Evidence]) -> list[tuple[str, float]]:
        judged = self.judge.judge_all(question, [("", ev.text, ev.speaker) for ev in evidence], (),
                                      [f"{ev.article.title} {ev.article.text}" for ev in evidence])
        return [(j.side or "neither", j.p_side or 0.0) for j in judged]
