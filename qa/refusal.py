"""The refusal policy: every check that turns a question into "The briefings don't say", in one place.

Before the model (``before_model``):
1. Nothing retrieved, or the best evidence sentence is only weakly similar to the question (its cosine
   is under ``min_evidence_score``), unless one sentence mentions every name of the question.
2. A name in the question (a capitalised word such as "China") appears in none of the retrieved passages.
3. A number in the question ("2018", "season 4") appears in none of the retrieved passages.
4. The question asks what someone said ("What did Putin say …", "according to Putin") and no
   retrieved sentence is attributed to that person: a mention is not a statement.

After the model (``declined``, ``after_model``): the model said the evidence does not answer; its draft
cites nothing that verifies; a name or number of the question is in none of the cited articles (a year is
a hard constraint); the draft states a figure no evidence sentence does; "how many N" and no cited sentence
mentions N (kept beside the judge, which checks a claim against its quote, not against the question:
"How many people?" answered "3,200 homes"); "what did X say" and no cited sentence is X's or continues X's quotation.

To add a rule: a check here returning the reason, called from one of these three functions.

>>> missing_names("How much oil does Iran export to China?", "Iran said it would export oil.")
['China']
>>> missing_names("What did Vladimir Putin say?", "Putin's special representative")
[]
>>> missing_numbers("Who won Wimbledon in 2018?", "Wimbledon 2019: Serena Williams")
['2018']
>>> asked_speaker("What did Vladimir Putin say about the strikes?")
'Vladimir Putin'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from core.text import has_word, tokenize
from index.records import Article
from qa.cite import MARKER, Resolved, cited_evidence
from qa.prompt import Draft
from qa.records import Evidence
from qa.speaker import speech_by

SpeakersNear = Callable[[Evidence], list[str]]  # the speakers (name and role) of a sentence and its neighbours

_NAME_RUN = re.compile(r"(?<![.?!]\s)(?<!^)\b([A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*)")
_QUESTION_WORDS = frozenset("who what when where why how which whom whose did does do is are was were has have had can could will would should i".split())
_SPEECH_Q = re.compile(
    r"\b(?i:what|how)\s+(?:did|does|do|has|have|had)\s+(?:the\s+)?(?P<a>[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*)\s+"
    r"(?:say|said|tell|told|think|claim|argue|describe|mean|write|announce)\b"
    r"|\b(?i:according to)\s+(?P<b>[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*)"
)


def question_names(question: str) -> list[str]:
    """Runs of capitalised words after the question's first word ("Vladimir Putin"), question words excluded."""
    names = []
    for run in _NAME_RUN.findall(question.strip()):
        words = [w for w in run.split() if w.lower() not in _QUESTION_WORDS]
        if words:
            names.append(" ".join(words))
    return names


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


NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*")


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
    names = question_names(question)
    return bool(names) and any(not missing_names(question, ev.text) for ev in evidence)


def asked_speaker(question: str) -> str | None:
    """The person whose statement the question asks about, if it asks about one."""
    m = _SPEECH_Q.search(question)
    return (m.group("a") or m.group("b")) if m else None


def speaker_found(person: str, speakers: Iterable[str]) -> bool:
    """Whether any attributed speaker (name and role) matches ``person``'s surname."""
    surname = person.split()[-1].lower()
    return any(surname in s.lower() for s in speakers)


def before_model(question: str, passages_text: str, evidence: Sequence[Evidence], speakers: Iterable[str], min_score: float) -> str | None:
    """Why to refuse without asking the model, if so: ``passages_text`` is the retrieved passages' text and
    titles, ``speakers`` the speakers (name and role) of their articles."""
    if not evidence:
        return "Nothing in the indexed briefings matches the question."
    if max(e.cosine for e in evidence) < min_score and not names_all_in(question, evidence):
        return "The closest passages are only loosely related to the question."
    absent = missing_terms(question, passages_text)
    if absent:
        return f"The briefings never mention {', '.join(absent)}."
    person = asked_speaker(question)
    if person and not speaker_found(person, speakers) and not speech_by(person, passages_text):
        return f"The briefings quote no statement by {person}."
    return None


def declined(draft: Draft) -> str | None:
    """Why the model's own reply is a refusal, if it is one."""
    if not draft.answerable or not draft.answer.strip():
        return "The closest passages do not answer the question."
    return None


def after_model(question: str, draft: str, resolved: Resolved, evidence: Sequence[Evidence], speakers_near: SpeakersNear) -> str | None:
    """Why the checked draft cannot stand, if it cannot: nothing in it verifies, or the cited sentences cannot
    carry it (see the module's list)."""
    if not any(c.verified for c in resolved.citations):
        return "The model's draft cited nothing that could be checked."
    cited = cited_evidence(resolved.citations, evidence)
    articles = {ev.article.id: ev.article for ev in cited}.values()
    absent = missing_from(question, articles)
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
    if person and not speaker_found(person, [s for ev in cited for s in speakers_near(ev)]) and not speech_by(
            person, " ".join(ev.text for ev in cited)):
        return f"None of the sentences the answer would cite is a statement by {person}."
    return None


_HOW_MANY = re.compile(r"\bhow\s+many\s+([a-z]+)", re.I)
