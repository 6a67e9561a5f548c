"""The answer policy: every refusal, veto and rewrite an answer passes, as one ordered table (``STEPS``).

A question goes through five stages; at each, ``Policy.run`` applies that stage's steps in table order to a
``Case`` (what the rules read and rewrite) and stops at the first refusal. A *rule* is a name; one rule may act at
several stages ("asked_speaker" refuses before the model, rewrites the draft, refuses after it). Two rules act
inside the support judge (``qa.verify``, ``qa.judge``), which reads ``Policy.on``: their steps have no ``check``.
Each rule that fired leaves a ``qa.records.Fired`` in the answer's ``trace`` (``briefqa ask --explain``, the
``trace`` of ``ask --json``). ``Settings.rules_off`` switches rules off by name (for the bench and experiments).

>>> [r for r in RULES][:3]
['on_topic', 'question_terms', 'asked_speaker']
>>> Policy({"closest_passage"}).on("closest_passage"), len(RULES)
(False, 12)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal

from core.errors import BriefQAError
from core.settings import Settings
from qa import compose, refusal
from qa.cite import Resolved, cited_evidence, resolve
from qa.conflict import Conflict, find_conflicts
from qa.prompt import Draft
from qa.question import QuestionProfile
from qa.records import Action, Evidence, Fired
from qa.verify import Verifier, doubted

Stage = Literal["retrieved", "drafted", "cited", "judged", "composed"]


def _nobody(_: Evidence) -> list[str]:
    return []


@dataclass(frozen=True)
class Case:
    """One question on its way through the rules: what they read, the answer so far, and a refusal once one fired."""

    profile: QuestionProfile
    evidence: tuple[Evidence, ...]
    min_score: float = 0.0
    passages_text: str = ""  # the retrieved passages and their titles: what a question's names must appear in
    speakers: tuple[str, ...] = ()  # the speakers (name and role) of the retrieved passages' articles
    speakers_near: refusal.SpeakersNear = _nobody
    draft: Draft | None = None
    resolved: Resolved = Resolved("", (), ())
    judged: bool = False  # a support judge read the quotes (their stances and labels are its)
    p_answerable: float | None = None
    doubt_p: float = 0.0  # the judge's Settings.judge_doubt_p, set when it runs (rule unsure_model)
    unsupported: tuple[str, ...] = ()  # claims the judge cut
    conflicts: tuple[Conflict, ...] = ()
    refusal: str | None = None


@dataclass(frozen=True)
class Act:
    """What a step did (one line for the trace) and the case after it."""

    did: str
    case: Case


Check = Callable[[Case], Act | None]


@dataclass(frozen=True)
class Step:
    """One row of the policy: at ``stage``, rule ``rule`` may ``action`` (see ``what``); ``check`` None: it acts
    inside the support judge, which asks ``Policy.on(rule)``."""

    stage: Stage
    rule: str
    action: Action
    what: str
    check: Check | None = None


def _refuse(case: Case, reason: str | None) -> Act | None:
    return Act(reason, replace(case, refusal=reason)) if reason else None


def _rewrite(case: Case, resolved: Resolved, did: str) -> Act | None:
    return None if resolved == case.resolved else Act(did, replace(case, resolved=resolved))


def _cited(case: Case) -> list[Evidence]:
    return cited_evidence(case.resolved.citations, case.evidence)


def _mark_cut(case: Case) -> Act | None:
    assert case.draft is not None
    text = compose.mark_cut(case.draft.answer)
    return None if text == case.draft.answer else Act("the draft broke off: it ends in '…'", replace(case, draft=replace(case.draft, answer=text)))


def _own_words(case: Case) -> Act | None:
    out = compose.own_words(case.profile.text, case.resolved, case.evidence, case.speakers_near)
    return _rewrite(case, out, out.notes[-1] if out.notes else "")


def _cite_terms(case: Case) -> Act | None:
    out = compose.cite_terms(case.profile.text, case.resolved, case.evidence)
    return _rewrite(case, out, out.notes[-1] if out.notes else "")


def _sides(case: Case) -> Act | None:
    if not case.profile.yes_no:
        return None
    q, r = case.profile.text, case.resolved
    out = compose.grouped(q, r, judged=True) if case.judged else compose.both_sides(q, r, case.evidence)
    added = len(out.citations) - len([c for c in r.citations if c.verified])
    return _rewrite(case, out, "wrote the answer from the quotes' sides" + (f"; added {added} quote(s) for the missing side" if added > 0 else ""))


def _closest(case: Case) -> Act | None:
    if case.profile.yes_no:
        return None
    out = compose.with_closest(case.resolved, case.evidence)
    lead = "dropped a 'sources disagree' lead (fewer than two quotes)" if compose.CLAIMS_DISAGREEMENT.match(case.resolved.text) else ""
    shown = "showed the closest passage too" if len(out.citations) > len(case.resolved.citations) else ""
    did = "; ".join(d for d in (lead, shown) if d) or "capitalised the answer"
    return _rewrite(case, out, did)


def _find_conflicts(case: Case) -> Act | None:
    found = tuple(find_conflicts(_cited(case), case.evidence, case.min_score))
    return Act(f"found {len(found)} statement(s) that copies state differently", replace(case, conflicts=found)) if found else None


def _show_conflicts(case: Case) -> Act | None:
    return _rewrite(case, compose.with_conflicts(case.resolved, case.conflicts), "led with the values the copies disagree on")


# fmt: off
STEPS: tuple[Step, ...] = (
    Step("retrieved", "on_topic", "refused", "nothing retrieved, or the best sentence's cosine is under min_evidence_score "
         "(unless one sentence names every name of the question)",
         lambda c: _refuse(c, refusal.unretrieved(c.evidence) or refusal.off_topic(c.profile, c.evidence, c.min_score))),
    Step("retrieved", "question_terms", "refused", "a name or number of the question is in none of the passages",
         lambda c: _refuse(c, refusal.terms_absent(c.profile, c.passages_text))),
    Step("retrieved", "asked_speaker", "refused", "'what did X say' and no passage quotes X",
         lambda c: _refuse(c, refusal.speaker_absent(c.profile, c.passages_text, c.speakers))),
    Step("drafted", "model_declined", "refused", "the model wrote answerable: false, or nothing",
         lambda c: _refuse(c, refusal.declined(c.draft) if c.draft else None)),
    Step("drafted", "verbatim", "rewrote", "a broken-off draft ends in '…' (then its [S#] ids become verbatim quotes: "
         "qa.cite, whose notes the trace shows)", _mark_cut),
    Step("cited", "asked_speaker", "rewrote", "'what did X say' and the draft quotes others: X's two best statements instead", _own_words),
    Step("cited", "question_terms", "rewrote", "a question's number no cited article states: also cite the sentence that "
         "states it in the answer's words", _cite_terms),
    Step("cited", "verbatim", "refused", "no quote of the draft verifies",
         lambda c: _refuse(c, refusal.cites_nothing(c.resolved))),
    Step("cited", "question_terms", "refused", "a name or number of the question is in none of the cited articles",
         lambda c: _refuse(c, refusal.terms_uncited(c.profile, _cited(c)))),
    Step("cited", "no_invention", "refused", "the draft states a figure no evidence sentence does",
         lambda c: _refuse(c, refusal.invented(c.profile, c.draft.answer if c.draft else "", c.evidence, _cited(c)))),
    Step("cited", "counted_noun", "refused", "'how many N' and no cited sentence mentions N",
         lambda c: _refuse(c, refusal.uncounted(c.profile, _cited(c)))),
    Step("cited", "asked_speaker", "refused", "'what did X say' and no cited sentence is X's",
         lambda c: _refuse(c, refusal.speaker_uncited(c.profile, _cited(c), c.speakers_near))),
    Step("judged", "no_invention", "vetoed", "a quote that never states a number of the question or claim, or whose "
         "article never names a name of the claim, cannot support it (qa.judge)"),
    Step("judged", "judge_cut", "rewrote", "wh: a claim whose every quote the judge surely rejects is re-cited to an "
         "uncited sentence that states it, else cut; all cut: refused (qa.verify)"),
    Step("judged", "sides", "rewrote", "yes/no: a side no quote takes is looked for among the uncited sentences (qa.verify)"),
    Step("judged", "unsure_model", "refused", "the model was unsure (p(answerable) < Settings.judge_doubt_p) and no quote states the answer",
         lambda c: _refuse(c, doubted(c.p_answerable, c.resolved.citations, c.doubt_p) if c.judged else None)),
    Step("judged", "conflicts", "rewrote", "copies of a cited statement that state other values are found", _find_conflicts),
    Step("composed", "sides", "rewrote", "yes/no: the answer is written from the quotes, by side and speaker, naming the "
         "latest briefing when dated sides differ", _sides),
    Step("composed", "closest_passage", "rewrote", "wh: a 'sources disagree' lead needs two quotes; the best sentence is "
         "shown when it beats every cited one by 0.08", _closest),
    Step("composed", "conflicts", "rewrote", "the answer leads with the values the copies disagree on (verdict mixed)", _show_conflicts),
)
# fmt: on
RULES: tuple[str, ...] = tuple(dict.fromkeys(s.rule for s in STEPS))


class Policy:
    """The rules switched on for one answer, and the trace of those that fired (one ``Policy`` per answer)."""

    def __init__(self, off: Iterable[str] = ()) -> None:
        self.off = frozenset(off)
        unknown = sorted(self.off - set(RULES))
        if unknown:
            raise BriefQAError(f"unknown answer rule {', '.join(unknown)}", f"name rules from: {', '.join(RULES)}")
        self.fired: list[Fired] = []

    def on(self, rule: str) -> bool:
        """Whether ``rule`` is switched on."""
        return rule not in self.off

    def record(self, fired: Iterable[Fired]) -> None:
        """Add what a mechanism (the judge, ``qa.cite``) did under the rules it asked about."""
        self.fired.extend(fired)

    @property
    def trace(self) -> tuple[Fired, ...]:
        return tuple(self.fired)

    def run(self, stage: Stage, case: Case) -> Case:
        """Apply ``stage``'s steps in table order; stop at the first refusal."""
        for step in STEPS:
            if step.stage != stage or step.check is None or not self.on(step.rule):
                continue
            act = step.check(case)
            if act is not None:
                self.fired.append(Fired(step.rule, step.action, act.did))
                case = act.case
                if case.refusal:
                    break
        return case

    def resolved(self, case: Case) -> Case:
        """The draft's ``[S#]`` ids as verbatim quotes (``qa.cite.resolve``); its notes go to the trace as ``verbatim``."""
        assert case.draft is not None
        out = resolve(case.draft.answer, case.evidence)
        if self.on("verbatim"):
            self.fired.extend(Fired("verbatim", "rewrote", note) for note in out.notes)
        return replace(case, resolved=out)

    def judge(self, case: Case, verifier: Verifier) -> Case:
        """The support judge over the cited quotes (``qa.verify``); ``judge_cut`` and ``sides`` switch its cuts and
        its search for a missing side; what it did goes to the trace."""
        checked = verifier.check(case.profile.text, case.resolved, case.evidence, cut=self.on("judge_cut"), search=self.on("sides"))
        self.fired.extend(checked.fired)
        return replace(case, resolved=checked.resolved, unsupported=checked.unsupported, refusal=checked.refusal,
                       doubt_p=verifier.doubt_p)


def rules_off(settings: Settings) -> frozenset[str]:
    """The rule names ``settings.rules_off`` switches off (checked: an unknown name is a one-line error).

    >>> sorted(rules_off(Settings(rules_off="conflicts, sides")))
    ['conflicts', 'sides']
    """
    return Policy(n.strip() for n in settings.rules_off.split(",") if n.strip()).off
