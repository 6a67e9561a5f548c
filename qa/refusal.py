"""The refusal checks: each returns why a question gets "The briefings don't say", or None.

The order they run in, and the rules they belong to, are ``qa.policy.STEPS`` (one table for every refusal, veto
and rewrite); here is what each check reads. Before the model: ``unretrieved``, ``off_topic`` (cosine under
``min_evidence_score`` unless a sentence names every name of the question), ``terms_absent`` (a name or number of
the question in no passage), ``speaker_absent`` ("what did X say" and no passage quotes X: a mention is not a
statement). After it: ``declined``, ``cites_nothing``, ``terms_uncited``, ``invented``, ``uncounted``,
``speaker_uncited``. The support judge's refusals stay with it (``qa.verify``: every claim cut; ``doubted``).

To add a refusal: a check here, and its row in ``qa.policy.STEPS``.

>>> missing_names("How much oil does Iran export to China?", "Iran said it would export oil.")
['China']
>>> missing_names("What did Vladimir Putin say?", "Putin's special representative")
[]
>>> missing_numbers("Who won Wimbledon in 2018?", "Wimbledon 2019: Serena Williams")
['2018']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from core.text import has_word, tokenize
from index.records import Article
from qa.cite import MARKER, Resolved
from qa.prompt import Draft
from qa.question import NUMBER, QuestionProfile, profile_of, question_names
from qa.records import Evidence
from qa.speaker import speech_by

SpeakersNear = Callable[[Evidence], list[str]]  # the speakers (name and role) of a sentence and its neighbours

def missing_names(question: str, context: str) -> list[str]:
    """The question's names whose last word ``context`` never mentions (prefix match: "Israeli" ~ "Israel")."""
    words = {w.lower() for w in re.findall(r"[\w’'-]+", context)}
    words |= {part for w in words if "-" in w for part in w.split("-") if part}  # "anti-Semitic" names "Semitic"
    missing = []
    for name in question_names(question):
        last = name.split()[-1].lower()
        stem = last[: max(4, len(last) - 2)]
        if not any(w.startswith(stem) or (stem.startswith(w) and len(w) >= 4) for w in words):
            missing.append(name)
    return missing


def missing_numbers(question: str, context: str) -> list[str]:
    """The question's numbers that ``context`` never states (digits not part of a longer number)."""
    return [n for n in dict.fromkeys(NUMBER.findall(question)) if not re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d]|[.,]\d)", context)]


def missing_terms(question: str, context: str) -> list[str]:
    """The question's names and numbers that ``context`` never mentions (hard constraints of a question)."""
    return missing_names(question, context) + missing_numbers(question, context)


def missing_from(question: str, articles: Iterable[Article]) -> list[str]:
    """The question's names and numbers that none of ``articles`` mentions (in its title, date or text)."""
    return missing_terms(question, " ".join(f"{a.title} {a.published or ''} {a.text}" for a in articles))


def names_all_in(question: str, evidence: Sequence[Evidence]) -> bool:
    """Whether the question names someone or something and one evidence sentence mentions every name
    ("Who is Tom Reyes?"): such a question is on topic even when the sentence is long and its cosine low."""
    names = profile_of(question).names
    return bool(names) and any(not missing_names(question, ev.text) for ev in evidence)


def speaker_found(person: str, speakers: Iterable[str]) -> bool:
    """Whether any attributed speaker (name and role) matches ``person``'s surname."""
    surname = person.split()[-1].lower()
    return any(surname in s.lower() for s in speakers)


def unretrieved(evidence: Sequence[Evidence]) -> str | None:
    """Nothing retrieved at all."""
    return None if evidence else "Nothing in the indexed briefings matches the question."


def off_topic(profile: QuestionProfile, evidence: Sequence[Evidence], min_score: float) -> str | None:
    """The best evidence sentence is only weakly similar (cosine under ``min_score``) and no sentence names every
    name of the question."""
    if evidence and max(e.cosine for e in evidence) < min_score and not names_all_in(profile.text, evidence):
        return "The closest passages are only loosely related to the question."
    return None


def terms_absent(profile: QuestionProfile, passages_text: str) -> str | None:
    """A name or number of the question is in none of the retrieved passages (``passages_text``: their text and titles)."""
    absent = missing_terms(profile.text, passages_text)
    return f"The briefings never mention {', '.join(absent)}." if absent else None


def speaker_absent(profile: QuestionProfile, passages_text: str, speakers: Iterable[str]) -> str | None:
    """The question asks what someone said and no retrieved sentence is theirs (``speakers``: of the passages' articles)."""
    person = profile.speaker
    if person and not speaker_found(person, speakers) and not speech_by(person, passages_text):
        return f"The briefings quote no statement by {person}."
    return None


def declined(draft: Draft) -> str | None:
    """Why the model's own reply is a refusal, if it is one."""
    if not draft.answerable or not draft.answer.strip():
        return "The closest passages do not answer the question."
    return None


def cites_nothing(resolved: Resolved) -> str | None:
    """No citation of the checked draft verifies."""
    return None if any(c.verified for c in resolved.citations) else "The model's draft cited nothing that could be checked."


def terms_uncited(profile: QuestionProfile, cited: Sequence[Evidence]) -> str | None:
    """A name or number of the question is in none of the cited sentences' articles (a year is a hard constraint)."""
    absent = missing_from(profile.text, {ev.article.id: ev.article for ev in cited}.values())
    return f"The passages the answer would cite never mention {', '.join(absent)}." if absent else None


def invented(profile: QuestionProfile, draft: str, evidence: Sequence[Evidence], cited: Sequence[Evidence]) -> str | None:
    """The draft states a figure that neither the question, an evidence sentence nor a cited article's title or date does."""
    articles = {ev.article.id: ev.article for ev in cited}.values()
    shown = " ".join([profile.text, *(ev.text for ev in evidence), *(f"{a.title} {a.published or ''}" for a in articles)])
    figures = missing_numbers(MARKER.sub(" ", draft), shown)
    return f"The model's draft states {', '.join(figures)}, which no evidence sentence does." if figures else None


def uncounted(profile: QuestionProfile, cited: Sequence[Evidence]) -> str | None:
    """"How many N" and no cited sentence mentions N (the judge checks a claim against its quote, not against the
    question: "How many people?" answered "3,200 homes")."""
    noun = profile.counted_token
    if noun and not has_word(noun, set(tokenize(" ".join(ev.text for ev in cited)))):
        return f"None of the sentences the answer would cite counts {profile.counted}."
    return None


def speaker_uncited(profile: QuestionProfile, cited: Sequence[Evidence], speakers_near: SpeakersNear) -> str | None:
    """"What did X say" and no cited sentence is X's or continues X's quotation."""
    person = profile.speaker
    if person and not speaker_found(person, [s for ev in cited for s in speakers_near(ev)]) and not speech_by(
            person, " ".join(ev.text for ev in cited)):
        return f"None of the sentences the answer would cite is a statement by {person}."
    return None
