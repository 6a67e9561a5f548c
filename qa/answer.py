"""``ask`` and ``ask_stream``: retrieve → (refuse?) → generate → cite → verdict.

Example (needs an index and the local model; see tests/test_real_models.py)::

    a = ask("Did Russia call Iran an ally?")
    a.verdict                              # 'mixed'
    [c.speaker for c in a.citations]       # ['Levan Dzhagaryan', 'Sergei Ryabkov', None]
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from core.text import has_word, tokenize
from index.bm25 import BM25Index
from index.embed import Embedder, make_embedder
from core.errors import BriefQAError
from index.pipeline import load_bm25, open_store
from core.settings import Settings
from index.store import Store
from qa.chat import Turn, contextualize
from qa.cite import MARKER, Resolved, make_citation, resolve
from qa.conflict import Conflict, find_conflicts
from qa.gate import asked_speaker, missing_numbers, missing_terms, names_all_in, speaker_found
from qa.generators import Generator, make_generator
from qa.prompt import SCHEMA, build_messages, parse_draft, partial_answer
from qa.records import Answer, Citation, Evidence, Timings, closest
from qa.retrieve import Retrieval, Retriever
from qa.stance import is_yes_no, stance_of, verdict_of

MAX_QUESTION_CHARS = 2000
NOT_FOUND = "The briefings don't say."
FROM_SETTINGS = object()  # sentinel: build the generator that settings name


class Assistant:
    """Answers questions over one index. Components default to what ``settings`` names."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: Store | None = None,
        embedder: Embedder | None = None,
        bm25: BM25Index | Callable[[], BM25Index] | None = None,
        generator: Generator | None | object = FROM_SETTINGS,
    ) -> None:
        self.settings = s = settings or Settings()
        embedder = embedder or make_embedder(s)
        store = store or open_store(s, embedder, create=False)
        bm25 = bm25 or load_bm25(s, store)
        self.retriever = Retriever(
            store, embedder, bm25, top_chunks=s.top_chunks, per_article=s.max_chunks_per_article, evidence=s.evidence_sentences
        )
        self.generator: Generator | None = make_generator(s) if generator is FROM_SETTINGS else generator  # type: ignore[assignment]

    def ask(self, question: str, history: Sequence[Turn] | None = None) -> Answer:
        """The final ``Answer`` (see ``ask_stream`` for partial text)."""
        final = None
        for item in self.ask_stream(question, history):
            final = item
        assert isinstance(final, Answer)
        return final

    def ask_stream(self, question: str, history: Sequence[Turn] | None = None) -> Iterator[str | Answer]:
        """Yield the answer text as it grows (``str``), then the final ``Answer``."""
        t0 = time.perf_counter()
        standalone = contextualize(_checked(question), history)[:MAX_QUESTION_CHARS]
        retrieval = self.retriever.retrieve(standalone)
        t_retrieved = time.perf_counter()
        base = _Base(question.strip(), standalone if standalone != question.strip() else None, t0, t_retrieved)
        reason = self._refusal_reason(standalone, retrieval)
        if reason:
            yield base.refusal(reason, retrieval.evidence)
        elif self.generator is None:
            yield base.extractive(standalone, retrieval.evidence, self.settings.min_evidence_score)
        else:
            yield from self._generate(base, standalone, retrieval.evidence)

    def _refusal_reason(self, question: str, retrieval: Retrieval) -> str | None:
        if not retrieval.evidence:
            return "Nothing in the indexed briefings matches the question."
        context = " ".join([p.chunk.text for p in retrieval.passages] + [p.title for p in {e.article for e in retrieval.evidence}])
        if retrieval.best_cosine < self.settings.min_evidence_score and not names_all_in(question, retrieval.evidence):
            return "The closest passages are only loosely related to the question."
        absent = missing_terms(question, context)
        if absent:
            return f"The briefings never mention {', '.join(absent)}."
        person = asked_speaker(question)
        if person:
            speakers = [f"{s.name} {s.role or ''}" for p in retrieval.passages for s in self.retriever.article(p.chunk.article_id)[1] if s]
            if not speaker_found(person, speakers):
                return f"The briefings quote no statement by {person}."
        return None

    def _nearby_speakers(self, ev: Evidence) -> list[str]:
        """Speakers (name and role) of ``ev``'s sentence and the sentences either side of it."""
        _, speakers = self.retriever.article(ev.article.id)
        near = speakers[max(0, ev.sentence.idx - 1) : ev.sentence.idx + 2]
        return [f"{s.name} {s.role or ''}" for s in near if s]

    def _own_words(self, question: str, resolved: Resolved, evidence: Sequence[Evidence]) -> Resolved:
        """For "what did X say": when the draft cites none of X's sentences but the evidence holds some,
        answer with X's best two statements instead (the small model sometimes quotes a bystander)."""
        person = asked_speaker(question)
        cited = _cited_evidence(resolved.citations, evidence)
        if not person or speaker_found(person, [s for ev in cited for s in self._nearby_speakers(ev)]):
            return resolved
        own = [ev for ev in closest(evidence) if ev.speaker and speaker_found(person, [ev.speaker])][:2]
        if not own:
            return resolved
        cites = tuple(make_citation(i, ev) for i, ev in enumerate(own, start=1))
        who = f"{own[0].speaker} ({own[0].role})" if own[0].role else own[0].speaker
        note = f"the draft quoted other speakers; shown instead: {own[0].speaker}'s own statements"
        return Resolved(f"{who} said: " + " ".join(f"[{c.n}]" for c in cites) + ".", cites, (*resolved.notes, note))

    def _generate(self, base: _Base, question: str, evidence: Sequence[Evidence]) -> Iterator[str | Answer]:
        assert self.generator is not None
        raw, shown = "", ""
        stream = self.generator.stream(build_messages(question, evidence), json_schema=SCHEMA, max_tokens=self.settings.max_answer_tokens)
        for piece in stream:
            raw += piece
            partial = partial_answer(raw)
            if partial:
                text = resolve(partial, evidence).text
                if text != shown:
                    shown = text
                    yield text
        draft = parse_draft(raw)
        if not draft.answerable or not draft.answer.strip():
            yield base.refusal("The closest passages do not answer the question.", evidence)
            return
        resolved = self._own_words(question, resolve(_mark_cut(draft.answer), evidence), evidence)
        if not any(c.verified for c in resolved.citations):
            yield base.refusal("The model's draft cited nothing that could be checked.", evidence, resolved.notes)
            return
        cited = _cited_evidence(resolved.citations, evidence)
        reason = _unsupported(question, draft.answer, cited, evidence, self._nearby_speakers)
        if reason:
            yield base.refusal(reason, evidence, resolved.notes)
            return
        conflicts = find_conflicts(cited, evidence, self.settings.min_evidence_score)
        resolved = _both_sides(question, resolved, evidence) if is_yes_no(question) else _with_closest(resolved, evidence)
        answer = base.answer(question, _with_conflicts(resolved, conflicts))
        yield replace(answer, verdict="mixed") if conflicts else answer


class _Base:
    """Builds ``Answer`` records for one question (timings, refusals, extractive answers)."""

    def __init__(self, question: str, standalone: str | None, t0: float, t_retrieved: float) -> None:
        self.question, self.standalone, self.t0, self.t_retrieved = question, standalone, t0, t_retrieved

    def timings(self) -> Timings:
        now = time.perf_counter()
        return Timings(round(self.t_retrieved - self.t0, 4), round(now - self.t_retrieved, 4), round(now - self.t0, 4))

    def refusal(self, reason: str, evidence: Sequence[Evidence], notes: Sequence[str] = ()) -> Answer:
        best = closest(evidence)[:3]
        related = tuple(make_citation(i, ev) for i, ev in enumerate(best, start=1))
        return Answer(self.question, f"{NOT_FOUND} {reason}", (), "not_found", True, self.timings(), related, self.standalone, tuple(notes))

    def answer(self, question: str, resolved: Resolved) -> Answer:
        cites = tuple(c for c in resolved.citations if c.verified)
        verdict = verdict_of(question, [c.stance for c in cites])
        return Answer(self.question, resolved.text, cites, verdict, False, self.timings(), (), self.standalone, resolved.notes)

    def extractive(self, question: str, evidence: Sequence[Evidence], min_score: float) -> Answer:
        """No generator: the best sentences themselves, each with its speaker and stance."""
        best = [e for e in closest(evidence) if e.cosine >= min_score][:3]
        yes_no = is_yes_no(question)
        cites = tuple(make_citation(i, ev, stance=stance_of(question, ev.text) if yes_no else "neutral") for i, ev in enumerate(best, 1))
        lines = [f"{c.speaker or _outlet(c)}: [{c.n}]" for c in cites]
        text = "Closest statements in the briefings — " + "; ".join(lines) + "."
        return self.answer(question, Resolved(text, cites, ()))


def _both_sides(question: str, resolved: Resolved, evidence: Sequence[Evidence]) -> Resolved:
    """For a yes/no question: label each quote's stance, add the strongest uncited opposite view,
    and write the answer from the quotes (grouped by side and speaker) instead of model prose —
    the local model misstates who denied what (see DESIGN.md)."""
    cites = [_with_stance(question, c) for c in resolved.citations if c.verified]
    sides = {c.stance for c in cites} - {"neutral"}
    if len(sides) == 1:
        wanted = "no" if "yes" in sides else "yes"
        cited = {(c.article_id, c.start) for c in cites}
        for ev in closest(evidence):
            if (ev.article.id, ev.sentence.start) not in cited and stance_of(question, ev.text) == wanted:
                cites.append(make_citation(len(cites) + 1, ev, stance=wanted))
                break
    if not sides:  # no quote takes a side: keep the model's wording
        return Resolved(resolved.text, tuple(cites), resolved.notes)
    order = {"yes": 0, "no": 1, "neutral": 2}
    cites = [replace(c, n=i) for i, c in enumerate(sorted(cites, key=lambda c: order[c.stance]), start=1)]
    return Resolved(_side_by_side(question, cites), tuple(cites), resolved.notes)


def _within(c: Citation, ev: Evidence) -> bool:
    """Whether citation ``c`` points into evidence sentence ``ev``."""
    return ev.article.id == c.article_id and ev.sentence.start <= c.start < ev.sentence.end


def _cited_evidence(citations: Sequence[Citation], evidence: Sequence[Evidence]) -> list[Evidence]:
    """The evidence sentences the verified citations point into, in citation order."""
    out: list[Evidence] = []
    for c in citations:
        for ev in evidence:
            if c.verified and _within(c, ev) and ev not in out:
                out.append(ev)
    return out


def _unsupported(
    question: str, draft: str, cited: Sequence[Evidence], evidence: Sequence[Evidence], speakers_near: Callable[[Evidence], list[str]]
) -> str | None:
    """Why the cited sentences cannot carry the draft, if they cannot: a name or number of the question
    that no cited article mentions; a figure in the draft that no evidence sentence states (an invented
    number); "how many N" when no cited sentence mentions N; a "what did X say" question none of whose
    cited sentences is X's or continues X's quotation (``speakers_near``: the speakers of a sentence
    and its neighbours)."""
    articles = {ev.article.id: ev.article for ev in cited}.values()
    context = " ".join(f"{a.title} {a.published or ''} {a.text}" for a in articles)
    absent = missing_terms(question, context)
    if absent:
        return f"The passages the answer would cite never mention {', '.join(absent)}."
    shown = " ".join([question, *(ev.text for ev in evidence), *(f"{a.title} {a.published or ''}" for a in articles)])
    invented = missing_numbers(MARKER.sub(" ", draft), shown)
    if invented:
        return f"The model's draft states {', '.join(invented)}, which no evidence sentence does."
    counted = _HOW_MANY.search(question)
    noun = tokenize(counted.group(1)) if counted else []
    if noun and not has_word(noun[0], set(tokenize(" ".join(ev.text for ev in cited)))):
        return f"None of the sentences the answer would cite counts {counted.group(1)}."
    person = asked_speaker(question)
    if person and not speaker_found(person, [s for ev in cited for s in speakers_near(ev)]):
        return f"None of the sentences the answer would cite is a statement by {person}."
    return None


_HOW_MANY = re.compile(r"\bhow\s+many\s+([a-z]+)", re.I)


def _with_conflicts(resolved: Resolved, conflicts: Sequence[Conflict]) -> Resolved:
    """Lead with the values that copies of one statement state differently, each quoted verbatim:
    "The briefings disagree: “Facebook” [1] or “Apple” [3]." (the quoted sentences become citations)."""
    if not conflicts:
        return resolved
    cites = list(resolved.citations)
    pairs = []
    for conflict in conflicts:
        n_first = next((c.n for c in cites if _within(c, conflict.first)), None)
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
_CLAIMS_DISAGREEMENT = re.compile(r"^(?:the\s+)?sources\s+(?:disagree|contradict each other)\s*[:;,.]?\s*", re.I)


def _with_closest(resolved: Resolved, evidence: Sequence[Evidence]) -> Resolved:
    """For a wh-question: if the best-scoring evidence sentence beats every cited one by a clear
    margin, show it too (the small model sometimes answers from a weaker sentence); and drop a
    "sources disagree" lead when fewer than two sentences are cited."""
    cites = list(resolved.citations)
    text = resolved.text
    if len({(c.article_id, c.start) for c in cites}) < 2:
        text = _CLAIMS_DISAGREEMENT.sub("", text)
        text = text[:1].upper() + text[1:]
    cited = [e.cosine for e in evidence if any(_within(c, e) for c in cites)]
    best = max(evidence, key=lambda e: e.cosine, default=None)
    if best is not None and cited and best.cosine - max(cited) >= CLOSEST_MARGIN:
        extra = make_citation(len(cites) + 1, best)
        cites.append(extra)
        text += f" Closest passage: {best.speaker or _outlet(extra)} [{extra.n}]."
    return Resolved(text, tuple(cites), resolved.notes)


def _side_by_side(question: str, cites: Sequence[Citation]) -> str:
    """"The briefings disagree. Yes: Levan Dzhagaryan (ambassador to Tehran) [3]. No: …"."""
    lead = {"mixed": "The briefings disagree.", "contradicted": "No, according to the briefings.",
            "supported": "Yes, according to the briefings."}[verdict_of(question, [c.stance for c in cites])]
    parts = [lead]
    for stance, label in (("yes", "Yes"), ("no", "No"), ("neutral", "See also")):
        speakers: dict[str, list[int]] = {}
        for c in cites:
            if c.stance == stance:
                who = f"{c.speaker} ({c.role})" if c.speaker and c.role else (c.speaker or _outlet(c))
                speakers.setdefault(who, []).append(c.n)
        if speakers:
            parts.append(f"{label}: " + "; ".join(f"{who} {''.join(f'[{n}]' for n in ns)}" for who, ns in speakers.items()) + ".")
    return " ".join(parts)


def _outlet(c: Citation) -> str:
    """Who states a sentence the article says in its own voice: its outlet, when known."""
    return c.source or "the article"


def _with_stance(question: str, c: Citation) -> Citation:
    return replace(c, stance=stance_of(question, c.quote))


def _mark_cut(text: str) -> str:
    """An answer the model broke off (e.g. before a quotation it could not escape) ends in "…"."""
    text = text.rstrip()
    return text if re.search(r"[.?!\]\"”’)…]$", text) else text.rstrip(",;:") + " …"


def _checked(question: str) -> str:
    question = question.strip()
    if not question.strip("?!.,;:'\" \t\n"):
        raise BriefQAError("the question is empty", "type a question, e.g. briefqa ask \"Did Russia call Iran an ally?\"")
    return question[:MAX_QUESTION_CHARS]


_assistants: dict[str, Assistant] = {}
_assistants_lock = threading.Lock()


def _assistant(settings: Settings | None) -> Assistant:
    settings = settings or Settings()
    key = settings.model_dump_json()
    with _assistants_lock:
        if key not in _assistants:
            _assistants[key] = Assistant(settings)
        return _assistants[key]


def ask(question: str, history: Sequence[Turn] | None = None, settings: Settings | None = None) -> Answer:
    """Answer ``question`` over the index named by ``settings`` (default: ``Settings()``)."""
    return _assistant(settings).ask(question, history)


def ask_stream(question: str, history: Sequence[Turn] | None = None, settings: Settings | None = None) -> Iterator[str | Answer]:
    """Yield the answer text as it grows, then the final ``Answer``."""
    return _assistant(settings).ask_stream(question, history)
