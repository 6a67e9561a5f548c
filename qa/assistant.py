"""The path of a question, top to bottom: retrieve → decide → generate → cite → judge → compose.

Each step is one call into its own module: ``qa.retrieve`` (evidence sentences), ``qa.policy`` (every
refusal, veto and rewrite, in one ordered table, run stage by stage), the generator (a JSON draft citing ``[S#]`` ids, streamed),
``qa.cite`` (ids → verbatim spans), ``qa.verify`` (the support judge reads each quote against its claim),
``qa.conflict`` (copies that disagree) and ``qa.compose`` (the
wording). The app is built by ``qa.service``; ``ask`` and ``ask_stream`` live there too.

Example (needs an index and the local model; see tests/test_real_models.py)::

    a = ask("Did Russia call Iran an ally?")
    a.verdict                              # 'mixed'
    [c.speaker for c in a.citations]       # ['Levan Dzhagaryan', 'Sergei Ryabkov', None]
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from collections.abc import Generator as Gen, Iterator, Sequence

from core.errors import BriefQAError
from core.settings import Settings
from index.filters import Filters
from qa import compose
from qa.chat import Turn, contextualize
from qa.choose import QuoteChooser, Quoted
from qa.cite import resolve
from qa.generators import Generator
from qa.policy import Case, Policy, rules_off
from qa.prompt import SCHEMA, build_messages, parse_draft, partial_answer
from qa.question import profile_of
from qa.records import Answer, Drafting, Evidence, Reading
from qa.retrieve import Retrieval, Retriever
from qa.verify import Verifier

MAX_QUESTION_CHARS = 2000


class Assistant:
    """Answers questions over one index with ``retriever`` and ``generator`` (None: extractive answers)."""

    def __init__(self, settings: Settings, retriever: Retriever, generator: Generator | None, verifier: Verifier | None = None,
                 chooser: QuoteChooser | None = None) -> None:
        self.settings, self.retriever, self.generator, self.verifier = settings, retriever, generator, verifier
        self.chooser = chooser  # quotes first (qa.choose): the checker picks the quotes before the model runs
        self.rules_off = rules_off(settings)  # checked now: an unknown rule name fails here, not at the first question

    def ask(self, question: str, history: Sequence[Turn] | None = None, *, filters: Filters | None = None) -> Answer:
        """The final ``Answer`` (see ``ask_stream`` for partial text)."""
        final = None
        for item in self.ask_stream(question, history, filters=filters):
            final = item
        assert isinstance(final, Answer)
        return final

    def ask_stream(
        self, question: str, history: Sequence[Turn] | None = None, *, filters: Filters | None = None
    ) -> Iterator[str | Quoted | Answer]:
        """Yield the chosen quotes (``Quoted``, quotes first only) at once, the answer text as it grows (``str``), then
        the final ``Answer``; ``filters``: only articles inside them."""
        for item in self.events(question, history, filters=filters):
            if isinstance(item, Drafting):
                yield item.text
            elif not isinstance(item, Reading):
                yield item

    def events(
        self, question: str, history: Sequence[Turn] | None = None, *, filters: Filters | None = None
    ) -> Iterator[Reading | Quoted | Drafting | Answer]:
        """``ask_stream`` preceded by a ``Reading``: the briefings retrieved, before the model starts. Quotes first:
        then the ``Quoted`` (the checker's choice), and the model writes over those quotes alone. The rules the
        answer passes, and their order, are ``qa.policy.STEPS``; the answer's ``trace`` says which fired."""
        t0 = time.perf_counter()
        standalone = contextualize(_checked(question), history)[:MAX_QUESTION_CHARS]
        retrieval = self.retriever.retrieve(standalone, filters)
        answers = compose.Answers(question.strip(), standalone if standalone != question.strip() else None, t0, time.perf_counter())
        yield Reading(standalone, tuple(dict.fromkeys(e.article for e in retrieval.evidence)), answers.t_retrieved - t0)
        policy, evidence = Policy(self.rules_off), retrieval.evidence
        case = policy.run("retrieved", Case(profile_of(standalone), evidence, self.settings.min_evidence_score, _passages_text(retrieval),
                                            tuple(self._speakers(retrieval)), self.retriever.speakers_near, judged=self.verifier is not None))
        if not case.refusal and self.chooser:
            quoted = self.chooser.choose(standalone, evidence)
            yield quoted
            if quoted.refusal or self.generator is None:
                answer = answers.refusal(quoted.refusal, evidence) if quoted.refusal else answers.quoted(standalone, quoted.citations)
                yield replace(answer, trace=policy.trace)
                return
            case = replace(case, evidence=quoted.evidence)  # the model and the rules after it see the chosen quotes only
        if case.refusal or self.generator is None:
            answer = answers.refusal(case.refusal, evidence) if case.refusal else answers.extractive(standalone, evidence, case.min_score)
            yield replace(answer, trace=policy.trace)
            return
        draft = parse_draft((yield from self._draft(standalone, case.evidence)))
        answers.p_answerable = self._p_answerable()
        case = policy.run("drafted", replace(case, draft=draft, p_answerable=answers.p_answerable))
        case = case if case.refusal else policy.run("cited", policy.resolved(case))
        if not case.refusal and self.verifier:
            case = policy.judge(case, self.verifier)
        case = case if case.refusal else policy.run("judged", case)
        if case.refusal:
            yield replace(answers.refusal(case.refusal, evidence, case.resolved.notes, case.unsupported), trace=policy.trace)
            return
        checked = case.resolved.text  # what the quotes compose adds are judged against
        case = policy.run("composed", case)
        answer = answers.answer(standalone, case.resolved)
        answer = replace(answer, verdict="mixed") if case.conflicts else answer
        if self.verifier:
            cites = self.verifier.attach(standalone, answer.citations, checked)
            answer = replace(answer, citations=cites, unsupported=case.unsupported)
        yield replace(answer, trace=policy.trace)

    def _draft(self, question: str, evidence: Sequence[Evidence]) -> Gen[Drafting, None, str]:
        """Stream the model's JSON draft, yielding its answer text with checked markers (and their verbatim quotes) as it
        grows; return the raw reply."""
        assert self.generator is not None
        raw, shown = "", ""
        stream = self.generator.stream(build_messages(question, evidence), json_schema=SCHEMA, max_tokens=self.settings.max_answer_tokens)
        for piece in stream:
            raw += piece
            partial = partial_answer(raw)
            if partial:
                resolved = resolve(partial, evidence)
                if resolved.text != shown:
                    shown = resolved.text
                    yield Drafting(resolved.text, tuple(c for c in resolved.citations if c.verified))
        return raw

    def _p_answerable(self) -> float | None:
        """The model's probability that the passages answer the question: its log-probabilities of ``true`` and
        ``false`` where its reply wrote ``"answerable":`` (``None`` when the generator cannot tell)."""
        declared = getattr(self.generator, "supports_logprobs", False)  # qa.generators.base: undeclared is none
        row = self.generator.reply_logprobs('"answerable":', ("true", "false")) if declared else None  # type: ignore[union-attr]
        return None if row is None else 1.0 / (1.0 + math.exp(min(700.0, row[1] - row[0])))

    def _speakers(self, retrieval: Retrieval) -> list[str]:
        """The speakers (name and role) of every sentence of the retrieved passages' articles."""
        return [s for p in retrieval.passages for s in self.retriever.speakers(p.chunk.article_id)]


def _passages_text(retrieval: Retrieval) -> str:
    """The retrieved passages and the titles of the evidence's articles: what a question's names must appear in."""
    return " ".join([p.chunk.text for p in retrieval.passages] + [p.title for p in {e.article for e in retrieval.evidence}])


def _checked(question: str) -> str:
    question = question.strip()
    if not question.strip("?!.,;:'\" \t\n"):
        raise BriefQAError("the question is empty", "type a question, e.g. briefqa ask \"Did Russia call Iran an ally?\"")
    return question[:MAX_QUESTION_CHARS]
