"""The path of a question, top to bottom: retrieve → decide → generate → cite → judge → compose.

Each step is one call into its own module: ``qa.retrieve`` (evidence sentences), ``qa.refusal``
(refuse before or after the model), the generator (a JSON draft citing ``[S#]`` ids, streamed),
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
from qa import compose, refusal
from qa.chat import Turn, contextualize
from qa.cite import cited_evidence, resolve
from qa.conflict import find_conflicts
from qa.generators import Generator
from qa.prompt import SCHEMA, build_messages, parse_draft, partial_answer
from qa.records import Answer, Drafting, Evidence, Reading
from qa.retrieve import Retrieval, Retriever
from qa.verify import Checked, Verifier, doubted

MAX_QUESTION_CHARS = 2000


class Assistant:
    """Answers questions over one index with ``retriever`` and ``generator`` (None: extractive answers)."""

    def __init__(self, settings: Settings, retriever: Retriever, generator: Generator | None, verifier: Verifier | None = None) -> None:
        self.settings, self.retriever, self.generator, self.verifier = settings, retriever, generator, verifier

    def ask(self, question: str, history: Sequence[Turn] | None = None, *, filters: Filters | None = None) -> Answer:
        """The final ``Answer`` (see ``ask_stream`` for partial text)."""
        final = None
        for item in self.ask_stream(question, history, filters=filters):
            final = item
        assert isinstance(final, Answer)
        return final

    def ask_stream(
        self, question: str, history: Sequence[Turn] | None = None, *, filters: Filters | None = None
    ) -> Iterator[str | Answer]:
        """Yield the answer text as it grows (``str``), then the final ``Answer``; ``filters``: only articles inside them."""
        for item in self.events(question, history, filters=filters):
            if isinstance(item, Drafting):
                yield item.text
            elif not isinstance(item, Reading):
                yield item

    def events(
        self, question: str, history: Sequence[Turn] | None = None, *, filters: Filters | None = None
    ) -> Iterator[Reading | Drafting | Answer]:
        """``ask_stream`` preceded by a ``Reading``: the briefings retrieved, before the model starts."""
        t0 = time.perf_counter()
        standalone = contextualize(_checked(question), history)[:MAX_QUESTION_CHARS]
        retrieval = self.retriever.retrieve(standalone, filters)
        answers = compose.Answers(question.strip(), standalone if standalone != question.strip() else None, t0, time.perf_counter())
        yield Reading(standalone, tuple(dict.fromkeys(e.article for e in retrieval.evidence)), answers.t_retrieved - t0)
        evidence, min_score = retrieval.evidence, self.settings.min_evidence_score
        reason = refusal.before_model(standalone, _passages_text(retrieval), evidence, self._speakers(retrieval), min_score)
        if reason:
            yield answers.refusal(reason, evidence)
            return
        if self.generator is None:
            yield answers.extractive(standalone, evidence, min_score)
            return
        draft = parse_draft((yield from self._draft(standalone, evidence)))
        answers.p_answerable = self._p_answerable()
        reason = refusal.declined(draft)
        if reason:
            yield answers.refusal(reason, evidence)
            return
        near = self.retriever.speakers_near
        resolved = compose.own_words(standalone, resolve(compose.mark_cut(draft.answer), evidence), evidence, near)
        resolved = compose.cite_terms(standalone, resolved, evidence)
        reason = refusal.after_model(standalone, draft.answer, resolved, evidence, near)
        if reason:
            yield answers.refusal(reason, evidence, resolved.notes)
            return
        checked = self.verifier.check(standalone, resolved, evidence) if self.verifier else Checked(resolved)
        if checked.refusal:
            yield answers.refusal(checked.refusal, evidence, checked.resolved.notes, checked.unsupported)
            return
        reason = doubted(answers.p_answerable, checked.resolved.citations) if self.verifier else None
        if reason:
            yield answers.refusal(reason, evidence, checked.resolved.notes, checked.unsupported)
            return
        resolved = checked.resolved
        conflicts = find_conflicts(cited_evidence(resolved.citations, evidence), evidence, min_score)
        answer = answers.composed(standalone, resolved, evidence, conflicts, judged=self.verifier is not None)
        if self.verifier:
            cites = self.verifier.attach(standalone, answer.citations, resolved.text)
            answer = replace(answer, citations=cites, unsupported=checked.unsupported)
        yield answer

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
        scorer = getattr(self.generator, "reply_logprobs", None)
        row = scorer('"answerable":', ("true", "false")) if scorer else None
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
