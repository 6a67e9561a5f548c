"""The answer's wording, from checked citations: refusals with the closest passages, the extractive
answer, both sides of a yes/no question, the values copies disagree on, the closest passage a draft
missed, and a draft the model broke off.
"""

from __future__ import annotations

import re
import time
from datetime import date
from collections.abc import Sequence
from dataclasses import replace

from core.text import has_word, tokenize
from qa.cite import MARKER, Resolved, cited_evidence, make_citation, support, within
from qa.conflict import Conflict
from qa.records import Answer, Citation, Evidence, Timings, closest
from qa.question import NUMBER, profile_of
from qa.refusal import SpeakersNear, missing_from, missing_numbers, speaker_found
from qa.stance import stance_of, verdict_of

NOT_FOUND = "The briefings don't say."


class Answers:
    """Builds the ``Answer`` records of one question: refusals, the extractive answer, the composed answer."""

    def __init__(self, question: str, standalone: str | None, t0: float, t_retrieved: float) -> None:
        self.question, self.standalone, self.t0, self.t_retrieved = question, standalone, t0, t_retrieved
        self.p_answerable: float | None = None  # set once the model has replied

    def timings(self) -> Timings:
        now = time.perf_counter()
        return Timings(round(self.t_retrieved - self.t0, 4), round(now - self.t_retrieved, 4), round(now - self.t0, 4))

    def refusal(self, reason: str, evidence: Sequence[Evidence], notes: Sequence[str] = (), unsupported: Sequence[str] = ()) -> Answer:
        best = closest(evidence)[:3]
        related = tuple(make_citation(i, ev) for i, ev in enumerate(best, start=1))
        return Answer(self.question, f"{NOT_FOUND} {reason}", (), "not_found", True, self.timings(), related, self.standalone,
                      tuple(notes), tuple(unsupported), self.p_answerable)

    def answer(self, question: str, resolved: Resolved) -> Answer:
        cites = tuple(c for c in resolved.citations if c.verified)
        verdict = verdict_of(question, [c.stance for c in cites])
        return Answer(self.question, resolved.text, cites, verdict, False, self.timings(), (), self.standalone, resolved.notes,
                      p_answerable=self.p_answerable)

    def quoted(self, question: str, cites: Sequence[Citation]) -> Answer:
        """Quotes first with no summary: the chosen quotes are the answer, by side for a yes/no question."""
        text = side_by_side(question, cites, with_latest=True) if profile_of(question).yes_no else according(cites)
        return self.answer(question, Resolved(text, tuple(cites), ()))

    def extractive(self, question: str, evidence: Sequence[Evidence], min_score: float) -> Answer:
        """No generator: the best sentences themselves, each with its speaker and stance."""
        best = [e for e in closest(evidence) if e.cosine >= min_score][:3]
        yes_no = profile_of(question).yes_no
        cites = tuple(make_citation(i, ev, stance=stance_of(question, ev.text) if yes_no else "neutral") for i, ev in enumerate(best, 1))
        return self.answer(question, Resolved(statements(cites), cites, ()))


def both_sides(question: str, resolved: Resolved, evidence: Sequence[Evidence]) -> Resolved:
    """For a yes/no question: label each quote's stance, add the strongest uncited opposite view,
    and write the answer from the quotes (grouped by side and speaker) instead of model prose —
    the local model misstates who denied what (see DESIGN.md)."""
    cites = [_with_stance(question, c) for c in resolved.citations if c.verified]
    sides = {c.stance for c in cites} - {"neutral"}
    if len(sides) == 1:
        cites += rule_candidates(question, cites, evidence, {"no" if "yes" in sides else "yes"}, 1)
    return grouped(question, Resolved(resolved.text, tuple(cites), resolved.notes))


def rule_candidates(
    question: str, cites: Sequence[Citation], evidence: Sequence[Evidence], wanted: set[str], limit: int
) -> list[Citation]:
    """Uncited evidence sentences that the word rules put on a ``wanted`` side ("yes", "no"), closest first, at
    most ``limit``, numbered after ``cites``: the opposite views to show (rules) or to judge (``qa.verify``)."""
    cited = {(c.article_id, c.start) for c in cites}
    found: list[Citation] = []
    for ev in closest(evidence):
        if len(found) == limit:
            break
        if (ev.article.id, ev.sentence.start) in cited:
            continue
        stance = stance_of(question, ev.text)
        if stance in wanted:
            found.append(make_citation(len(cites) + len(found) + 1, ev, stance=stance))
    return found


def grouped(question: str, resolved: Resolved, *, judged: bool = False) -> Resolved:
    """The answer to a yes/no question from quotes whose stances are set: grouped by side and speaker (the
    model's wording is kept when no quote takes a side). Only ``judged`` stances (the support judge's) are
    trusted to say which dated statement is the latest and what it replaces."""
    cites = [c for c in resolved.citations if c.verified]
    if not {c.stance for c in cites} - {"neutral"}:
        return Resolved(resolved.text, tuple(cites), resolved.notes)
    order = {"yes": 0, "no": 1, "neutral": 2}
    cites = [replace(c, n=i) for i, c in enumerate(sorted(cites, key=lambda c: order[c.stance]), start=1)]
    return Resolved(side_by_side(question, cites, with_latest=judged), tuple(cites), resolved.notes)


def with_conflicts(resolved: Resolved, conflicts: Sequence[Conflict]) -> Resolved:
    """Lead with the values that copies of one statement state differently, each quoted verbatim:
    "The briefings disagree: “Facebook” [1] or “Apple” [3]." (the quoted sentences become citations)."""
    if not conflicts:
        return resolved
    cites = list(resolved.citations)
    pairs = []
    for conflict in conflicts:
        n_first = next((c.n for c in cites if within(c, conflict.first)), None)
        if n_first is None:
            continue
        second = make_citation(len(cites) + 1, conflict.second)
        cites.append(second)
        text_a, text_b = conflict.first.article.text, conflict.second.article.text
        values = [(text_a[a0:a1], text_b[b0:b1]) for (a0, a1), (b0, b1) in conflict.spans]
        pairs.append(" and ".join(f"“{a}”" for a, _ in values) + f" [{n_first}] or "
                     + " and ".join(f"“{b}”" for _, b in values) + f" [{second.n}]")
    lead = "The briefings disagree: " + "; ".join(pairs) + "."
    return Resolved(f"{lead} {resolved.text}", tuple(cites), resolved.notes)


CLOSEST_MARGIN = 0.08
CLAIMS_DISAGREEMENT = re.compile(r"^(?:the\s+)?sources\s+(?:disagree|contradict each other)\s*[:;,.]?\s*", re.I)


def with_closest(resolved: Resolved, evidence: Sequence[Evidence]) -> Resolved:
    """For a wh-question: if the best-scoring evidence sentence beats every cited one by a clear
    margin, show it too (the small model sometimes answers from a weaker sentence); and drop a
    "sources disagree" lead when fewer than two sentences are cited."""
    cites = list(resolved.citations)
    text = resolved.text
    if len({(c.article_id, c.start) for c in cites}) < 2:
        text = CLAIMS_DISAGREEMENT.sub("", text)
        text = text[:1].upper() + text[1:]
    cited = [e.cosine for e in evidence if any(within(c, e) for c in cites)]
    best = max(evidence, key=lambda e: e.cosine, default=None)
    if best is not None and cited and best.cosine - max(cited) >= CLOSEST_MARGIN:
        extra = make_citation(len(cites) + 1, best)
        cites.append(extra)
        text += f" Closest passage: {best.speaker or _outlet(extra)} [{extra.n}]."
    return Resolved(text, tuple(cites), resolved.notes)


def side_by_side(question: str, cites: Sequence[Citation], *, with_latest: bool = False) -> str:
    """"The briefings disagree. Yes: Levan Dzhagaryan (ambassador to Tehran) [3]. No: …"."""
    verdict = verdict_of(question, [c.stance for c in cites])
    lead = {"mixed": "The briefings disagree.", "contradicted": "No, according to the briefings.",
            "supported": "Yes, according to the briefings."}[verdict]
    lead_latest = latest(cites) if with_latest and verdict == "mixed" else ""
    parts = [lead, lead_latest] if lead_latest else [lead]
    for stance, label in (("yes", "Yes"), ("no", "No"), ("neutral", "See also")):
        speakers: dict[str, list[int]] = {}
        for c in cites:
            if c.stance == stance:
                who = f"{c.speaker} ({c.role})" if c.speaker and c.role else (c.speaker or _outlet(c))
                speakers.setdefault(who, []).append(c.n)
        if speakers:
            parts.append(f"{label}: " + "; ".join(f"{who} {''.join(f'[{n}]' for n in ns)}" for who, ns in speakers.items()) + ".")
    return " ".join(parts)


def statements(cites: Sequence[Citation]) -> str:
    """The briefings' own sentences as the answer, each with who states it:
    "Closest statements in the briefings — Sergei Ryabkov: [1]; BBC News: [2]." """
    return "Closest statements in the briefings — " + "; ".join(f"{c.speaker or _outlet(c)}: [{c.n}]" for c in cites) + "."


def according(cites: Sequence[Citation]) -> str:
    """The chosen quotes as the answer, each with who states it and when: "According to the briefings — Sergei
    Ryabkov (28 January 2019): [1]." """
    return "According to the briefings — " + "; ".join(
        f"{c.speaker or _outlet(c)}{f' ({spelled_date(c.published) or c.published})' if c.published else ''}: [{c.n}]"
        for c in cites) + "."


def spelled_date(published: str | None) -> str:
    """An ISO date as answers write it: "2019-01-28" → "28 January 2019" ("" when it is not one).

    >>> spelled_date("2019-01-28"), spelled_date("spring 2019")
    ('28 January 2019', '')
    """
    try:
        d = date.fromisoformat((published or "")[:10])
    except ValueError:
        return ""
    return f"{d.day} {d.strftime('%B')} {d.year}"


def latest(cites: Sequence[Citation]) -> str:
    """When the sides come from briefings of different dates, which is the most recent and what it revises:
    "The latest briefing (2026-04-15) says no [3]; it replaces the statements of 2026-03-03 [1]." ("" if none)."""
    dated = [c for c in cites if c.published and c.stance != "neutral"]
    if len({c.stance for c in dated}) < 2:
        return ""
    newest = max(c.published for c in dated if c.published)
    now = [c for c in dated if c.published == newest]
    if len({c.stance for c in now}) != 1:
        return ""
    side = now[0].stance
    older = [c for c in dated if c.stance != side and c.published and c.published < newest]
    if not older:
        return ""
    dates = sorted({c.published for c in older if c.published})
    return (f"The latest briefing ({newest}) says {side} {''.join(f'[{c.n}]' for c in now)}; it replaces the "
            f"statement{'s' if len(older) > 1 else ''} of {', '.join(dates)} {''.join(f'[{c.n}]' for c in older)}.")


def _outlet(c: Citation) -> str:
    """Who states a sentence the article says in its own voice: its outlet, when known."""
    return c.source or "the article"


def _with_stance(question: str, c: Citation) -> Citation:
    return replace(c, stance=stance_of(question, c.quote))


def mark_cut(text: str) -> str:
    """An answer the model broke off (e.g. before a quotation it could not escape) ends in "…"."""
    text = text.rstrip()
    return text if re.search(r"[.?!\]\"”’)…]$", text) else text.rstrip(",;:") + " …"


def own_words(question: str, resolved: Resolved, evidence: Sequence[Evidence], speakers_near: SpeakersNear) -> Resolved:
    """For "what did X say": when the draft cites none of X's sentences but the evidence holds some,
    answer with X's best two statements instead (the small model sometimes quotes a bystander)."""
    person = profile_of(question).speaker
    cited = cited_evidence(resolved.citations, evidence)
    if not person or speaker_found(person, [s for ev in cited for s in speakers_near(ev)]):
        return resolved
    own = [ev for ev in closest(evidence) if ev.speaker and speaker_found(person, [ev.speaker])][:2]
    if not own:
        return resolved
    cites = tuple(make_citation(i, ev) for i, ev in enumerate(own, start=1))
    who = f"{own[0].speaker} ({own[0].role})" if own[0].role else own[0].speaker
    note = f"the draft quoted other speakers; shown instead: {own[0].speaker}'s own statements"
    return Resolved(f"{who} said: " + " ".join(f"[{c.n}]" for c in cites) + ".", cites, (*resolved.notes, note))


TERM_SUPPORT = 0.5  # share of the answer's words a sentence must hold to be cited for a question's term


def cite_terms(question: str, resolved: Resolved, evidence: Sequence[Evidence]) -> Resolved:
    """When no cited article states a number of the question ("2018"), also cite the closest uncited
    sentence that does and that states the answer in the same words (half its words, and a word of the
    answer the question does not give): the small model often cites a passage that drops the year another
    passage gives. The judge then reads the added quote like any other. A name no cited article gives
    stays a refusal (``qa.refusal.after_model``).

    >>> cite_terms("Who won in 2018?", Resolved("", (), ()), []).text
    ''
    """
    cited = cited_evidence(resolved.citations, evidence)
    articles = [ev.article for ev in cited]
    absent = missing_from(question, articles) if cited else []
    if not absent or any(not NUMBER.fullmatch(term) for term in absent):  # a name is missing too
        return resolved
    claim = MARKER.sub(" ", resolved.text)
    own = set(tokenize(claim)) - set(tokenize(question))
    for ev in closest(evidence):
        words = set(tokenize(ev.text))
        if (ev not in cited and not missing_numbers(question, ev.text) and support(claim, ev) >= TERM_SUPPORT
                and any(has_word(w, words) for w in own)):
            extra = make_citation(max(c.n for c in resolved.citations) + 1, ev)
            last = list(MARKER.finditer(resolved.text))[-1]
            text = f"{resolved.text[: last.end()]}[{extra.n}]{resolved.text[last.end() :]}"
            note = f"also cited {extra.title or 'a passage'!r}: it states the question's {', '.join(absent)}"
            return Resolved(text, (*resolved.citations, extra), (*resolved.notes, note))
    return resolved
