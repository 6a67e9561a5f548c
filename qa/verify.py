"""The verification stage, between cite and compose: every shown quote is read against what it is shown for.

A ``qa.judge.Judge`` — by default ``qa.checker.CheckerJudge`` (our cross-encoder, milliseconds a quote), or the
local model as a constrained classifier (one forward pass per quote over a cached prefix) — gives each citation a
``Support`` (label with its probability; the side for yes/no questions). Then:

- wh-questions: an answer sentence that cites quotes (a *claim*) is cut when the judge surely rejects every
  one of its quotes (a number the quote never states, or a name its article never gives; or not *supports*,
  p ≥ ``Settings.judge_cut_p``, and not the model's own first choice either); a cut claim is first offered the uncited
  sentences that may state it (``_recite``); cut claims are removed from the text and listed in
  ``Answer.unsupported``. When no claim is left, the answer is a refusal with the related passages
  (``Checked.refusal``).
- yes/no questions: each quote's side (yes / no / neither) comes from the judge, not from negation
  words; when a side is missing, uncited sentences are judged too and the surest one on that side is shown:
  with a cheap judge (the checker) every uncited evidence sentence, at ``p_side`` ≥ ``Settings.judge_added_side_p``; with the
  LLM judge the two closest the word rules put on that side.

Example (a fake scorer; the app passes the model worker)::

    v = Verifier(Judge(scorer, load_calibration()))
    checked = v.check("Who builds the barrier?", resolved, evidence)
    checked.resolved.citations[0].support      # Support(label='supports', p=0.93, ...)
    checked.unsupported                        # ('It opens in June.',)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from core.settings import Settings
from qa.cite import MARKER, Resolved, make_citation
from qa.compose import CLAIMS_DISAGREEMENT, rule_candidates, spelled_date
from qa.judge import Judge, Judgement
from qa.records import Citation, Evidence, Fired, Stance, Support, closest
from qa.question import NUMBER, profile_of
from qa.refusal import missing_numbers

OPPOSITE_CANDIDATES = 2  # uncited sentences the rules call opposite that the judge reads, at most (LLM judge)
RECITE_CANDIDATES = 2  # uncited sentences read for a cut claim, at most
_STANCE: dict[str, Stance] = {"yes": "yes", "no": "no", "neither": "neutral"}
_SENTENCE = re.compile(r".*?(?:[.?!…]+(?:\s*\[\d+\])*[\"”’)]*(?=\s|$)|$)\s*", re.S)  # "£48.5m" is one sentence


@dataclass(frozen=True)
class Checked:
    """The answer after the judge: its citations carry ``support``; ``unsupported`` lists the cut claims;
    ``refusal`` is set when no claim was left."""

    resolved: Resolved
    unsupported: tuple[str, ...] = ()
    refusal: str | None = None
    fired: tuple[Fired, ...] = ()  # what the judge's rules did (``qa.policy``: no_invention, judge_cut, sides)


class Verifier:
    """Runs the support judge over the quotes an answer shows (see the module docstring)."""

    def __init__(self, judge: Judge, settings: Settings | None = None) -> None:
        s = settings or Settings()  # the thresholds: judge_cut_p, judge_doubt_p, judge_added_side_p
        self.judge, self.cut_p, self.doubt_p, self.added_side_p = judge, s.judge_cut_p, s.judge_doubt_p, s.judge_added_side_p

    def check(self, question: str, resolved: Resolved, evidence: Sequence[Evidence], *, cut: bool = True,
              search: bool = True) -> Checked:
        """Judge ``resolved``'s verified citations; cut unsupported claims (wh) or set the sides (yes/no).
        ``cut``: cut (and re-cite) claims (the policy's rule ``judge_cut``); ``search``: look for a missing side
        among the uncited sentences (rule ``sides``)."""
        if profile_of(question).yes_no:
            return self._sides(question, resolved, evidence, search)
        return self._claims(question, resolved, evidence, cut)

    def attach(self, question: str, citations: Sequence[Citation], answer: str = "") -> tuple[Citation, ...]:
        """Judge the citations that have no ``support`` yet (quotes compose added: the closest passage, the
        other copy of a conflicting statement) against the checked ``answer`` they are shown beside (its text
        with markers; for yes/no questions, their side of the question)."""
        todo = [c for c in citations if c.support is None]
        claim = "" if profile_of(question).yes_no else claim_text(answer)
        found = dict(zip((id(c) for c in todo), self._judge(question, [(claim, c) for c in todo])))
        return tuple(replace(c, support=found[id(c)]) if id(c) in found else c for c in citations)

    def _judge(self, question: str, pairs: Sequence[tuple[str, Citation]]) -> list[Support]:
        return [_support(j, claim) for j, (claim, _) in zip(self._judgements(question, pairs), pairs)]

    def _judgements(
        self,
        question: str,
        pairs: Sequence[tuple[str, Citation]],
        texts: Mapping[str, str] | None = None,
        together: bool = False,
    ) -> list[Judgement]:
        """Each ``(claim, citation)`` judged, in one batch; ``texts[article_id]``: the article's title and text for
        the name veto. ``together``: the quotes paired with one claim are its citations, read together by the
        number veto ("in December 2015 [1] or December 2005 [2]" takes one date from each)."""
        others = {claim: " ".join(c.quote for k, c in pairs if k == claim) for claim, _ in pairs} if together else {}
        return self.judge.judge_all(
            question,
            [(claim, c.quote, None) for claim, c in pairs],  # as calibrated: no speaker line
            [f"{dateline(c.published)} {others.get(claim, '')}".strip() for claim, c in pairs],
            [(texts or {}).get(c.article_id, "") for _, c in pairs],
        )

    def _claims(self, question: str, resolved: Resolved, evidence: Sequence[Evidence], cutting: bool) -> Checked:
        cites = {c.n: c for c in resolved.citations if c.verified}
        claims = [(s, claim_text(s), [int(n) for n in re.findall(r"\[(\d+)\]", s) if int(n) in cites])
                  for s in split_claims(resolved.text)]
        pairs = [(claim, cites[n]) for _, claim, ns in claims for n in ns]
        texts = {ev.article.id: f"{ev.article.title} {ev.article.text}" for ev in evidence}
        judged = dict(zip(((claim, c.n) for claim, c in pairs), self._judgements(question, pairs, texts, together=True)))
        cut = [claim for _, claim, ns in claims if cutting and ns and all(_surely_rejected(judged[(claim, n)], self.cut_p) for n in ns)]
        recited = self._recite(question, cut, list(cites.values()), evidence, texts)
        fired = [*_vetoes(judged.values()), *(Fired("judge_cut", "rewrote", f"re-cited {c!r} to the sentence that states it")
                                              for c in recited)]
        kept_text, unsupported, support = [], [], {}
        for sentence, claim, ns in claims:
            if claim in recited:  # the model cited the wrong sentence; the one that states the claim replaces it
                new = recited[claim]
                kept_text.append(MARKER.sub("", sentence).rstrip() + f" [{new.n}]" + sentence[len(sentence.rstrip()) :])
                support[new.n] = new.support  # type: ignore[assignment]
            elif claim in cut:
                unsupported.append(claim)
            else:
                kept_text.append(sentence)
                for n in ns:
                    v = _support(judged[(claim, n)], claim)
                    if n not in support or v.label == "supports":
                        support[n] = v
        notes = (*resolved.notes, *(f"cut, not supported by its quotes: {c!r}" for c in unsupported))
        fired += [Fired("judge_cut", "rewrote", f"cut {c!r}: the judge found no quote that supports it") for c in unsupported]
        if pairs and not support:
            reason = "none of the quotes found states it (each was checked against the answer by the support judge)"
            fired.append(Fired("judge_cut", "refused", reason))
            return Checked(Resolved("", (), tuple(notes)), tuple(unsupported), reason, tuple(fired))
        citations = (*resolved.citations, *recited.values())
        return Checked(renumber("".join(kept_text).strip(), citations, support, notes), tuple(unsupported), None, tuple(fired))

    def _recite(
        self, question: str, cut: Sequence[str], cited: Sequence[Citation], evidence: Sequence[Evidence], texts: Mapping[str, str]
    ) -> dict[str, Citation]:
        """For each cut claim, an uncited evidence sentence that states it instead, if the judge finds one
        (``RECITE_CANDIDATES`` per claim, one batch): a sentence of a cited article, or, with numbers in the
        claim, any sentence stating them all with their units. Taken when the judge says *supports*, or when
        it states every number of the claim and the model's own first choice is *supports*."""
        taken, articles = {(c.article_id, c.start) for c in cited}, {c.article_id for c in cited}
        pairs = []
        for claim in dict.fromkeys(cut):
            numbered = bool(NUMBER.search(claim))
            pool = [
                ev
                for ev in closest(evidence)
                if (ev.article.id, ev.sentence.start) not in taken
                and (numbered or ev.article.id in articles)
                and not missing_numbers(claim, ev.text)
                and units_match(claim, ev.text)
            ]
            pairs += [(claim, make_citation(0, ev)) for ev in pool[:RECITE_CANDIDATES]]
        found: dict[str, Citation] = {}
        n = max((c.n for c in cited), default=0)
        for (claim, c), j in zip(pairs, self._judgements(question, pairs, texts)):
            numbered_match = bool(NUMBER.search(claim)) and not j.vetoes and j.model == "supports"
            if claim not in found and c.verified and (j.label == "supports" or numbered_match):
                n += 1
                found[claim] = replace(c, n=n, support=_support(j, claim))
        return found

    def _sides(self, question: str, resolved: Resolved, evidence: Sequence[Evidence], search: bool) -> Checked:
        cites = [c for c in resolved.citations if c.verified]
        judgements = self._judgements(question, [("", c) for c in cites])
        cites = [_sided(c, _support(j, "")) for c, j in zip(cites, judgements)]
        fired = _vetoes(judgements)
        wanted = {"yes", "no"} - {c.stance for c in cites}
        if wanted and search:  # a side no shown quote takes: look for it among the uncited sentences
            candidates = self._side_candidates(question, cites, evidence, wanted)
            judged = sorted(zip(candidates, self._judge(question, [("", c) for c in candidates])),
                            key=lambda cs: -(cs[1].p_side or 0.0))  # the surest first (the rules' shortlist: closest first)
            floor = self.added_side_p if self.judge.cheap else 0.0  # many candidates: only a sure side is added
            for c, s in judged:
                if _STANCE[s.side or "neither"] in wanted and (s.p_side or 0.0) >= floor:
                    cites.append(replace(_sided(c, s), n=len(cites) + 1))
                    wanted.discard(_STANCE[s.side or "neither"])
                    fired.append(Fired("sides", "rewrote", f"added an uncited quote that says {s.side} [{len(cites)}]"))
        return Checked(Resolved(resolved.text, tuple(cites), resolved.notes), fired=tuple(fired))

    def _side_candidates(self, question: str, cites: Sequence[Citation], evidence: Sequence[Evidence], wanted: set[str]) -> list[Citation]:
        """The uncited sentences to judge for a missing side: every one when the judge is cheap (the checker reads
        a pair in milliseconds), else the ``OPPOSITE_CANDIDATES`` closest that the word rules put on that side."""
        if not self.judge.cheap:
            return rule_candidates(question, cites, evidence, set(wanted), OPPOSITE_CANDIDATES)
        cited = {(c.article_id, c.start) for c in cites}
        fresh = [ev for ev in closest(evidence) if (ev.article.id, ev.sentence.start) not in cited]
        return [make_citation(len(cites) + i, ev) for i, ev in enumerate(fresh, start=1)]


def split_claims(text: str) -> list[str]:
    """The answer's sentences, each with its trailing markers and spacing (joined they are ``text``).

    >>> split_claims("It opens in May [1]. It costs £48m [2][3]. Done")
    ['It opens in May [1]. ', 'It costs £48m [2][3]. ', 'Done']
    """
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0)]


def claim_text(sentence: str) -> str:
    """A claim as the judge reads it: the sentence without its ``[n]`` markers or a "sources disagree" lead.

    >>> claim_text("The sources disagree: it costs £48m [2][3].")
    'it costs £48m.'
    """
    text = re.sub(r"\s+([.,;:?!])", r"\1", re.sub(r"\s*\[\d+\]", "", sentence)).strip()
    return CLAIMS_DISAGREEMENT.sub("", text)


def renumber(text: str, citations: Sequence[Citation], support: dict[int, Support], notes: Sequence[str]) -> Resolved:
    """Keep the citations still referenced in ``text`` (with their ``support``), numbered 1, 2, … in order."""
    order = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", text)))
    new = {old: i for i, old in enumerate(order, start=1)}
    text = MARKER.sub(lambda m: "".join(f"[{new[int(n)]}]" for n in re.findall(r"\d+", m.group(0)) if int(n) in new), text)
    by_n = {c.n: c for c in citations}
    kept = tuple(replace(by_n[old], n=new[old], support=support.get(old)) for old in order if old in by_n)
    return Resolved(text, kept, tuple(notes))


def dateline(published: str | None) -> str:
    """An article's date as answers write it, for the number veto ("" when it has none).

    >>> dateline("2025-04-05")
    '5 April 2025 2025-04-05'
    """
    words = spelled_date(published)
    return f"{words} {(published or '')[:10]}" if words else ""


def doubted(p_answerable: float | None, citations: Sequence[Citation], doubt_p: float) -> str | None:
    """Why an answer cannot stand although the model wrote ``"answerable": true``: it was unsure
    (``p_answerable`` < ``doubt_p``, ``Settings.judge_doubt_p``) and the judge found no shown quote that states the answer (wh: *supports*;
    yes/no: takes a side). A sure model, or a supported quote, lets the answer stand.

    >>> doubted(0.55, [], 0.9), doubted(0.97, [], 0.9), doubted(None, [], 0.9)
    ('the model was unsure the passages answer it (p = 0.55) and the judge found no quote that states the answer', None, None)
    """
    if p_answerable is None or p_answerable >= doubt_p:
        return None
    if any(
        c.support and (c.support.label == "supports" if c.support.side is None else c.support.side != "neither")
        for c in citations
    ):
        return None
    return f"the model was unsure the passages answer it (p = {p_answerable:.2f}) and the judge found no quote that states the answer"  # noqa: E501


def units_match(claim: str, quote: str) -> bool:
    """Whether every number of ``claim`` that is followed by a word is stated in ``quote`` with a word of the same
    first letter ("85 days" is not "85 kilometers"; "£61 million" is "£61m"; "2.5 km/h" is "2.5km").

    >>> units_match("It ran 85 days.", "a border of 85 kilometers"), units_match("It cost £61 million.", "now £61m")
    (False, True)
    """
    for m in re.finditer(rf"({NUMBER.pattern})\s*([A-Za-z]+)", claim):
        if not re.search(rf"(?<![\d.,]){re.escape(m.group(1))}\s*{re.escape(m.group(2)[0])}", quote, re.I):
            return False
    return True


def _surely_rejected(j: Judgement, cut_p: float) -> bool:
    """A veto fired (a number the quote never states, a name its article never gives), or not *supports* with
    p ≥ ``cut_p`` (``Settings.judge_cut_p``) and not the model's own first choice either (the calibration's code signals misfire when the
    quote names a person or a thing by a pronoun or a short name; then the claim stays, with its label)."""
    return j.label != "supports" and (bool(j.vetoes) or (j.p >= cut_p and j.model != "supports"))


def _vetoes(judgements: Iterable[Judgement]) -> list[Fired]:
    """The judge's vetoes that fired, as trace records of the rule ``no_invention``."""
    return [Fired("no_invention", "vetoed", v) for j in judgements for v in dict.fromkeys(j.vetoes)]


def _support(j: Judgement, claim: str) -> Support:
    return Support(j.label, round(j.p, 4), j.side, None if j.p_side is None else round(j.p_side, 4), claim)


def _sided(c: Citation, s: Support) -> Citation:
    return replace(c, stance=_STANCE[s.side or "neither"], support=s)
