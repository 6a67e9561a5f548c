"""Refusal checks made in code before the model is asked.

1. Nothing retrieved, or the best evidence sentence is only weakly similar to the question.
2. A name in the question (a capitalised word such as "China") appears in none of the retrieved passages.
3. A number in the question ("2018", "season 4") appears in none of the retrieved passages; after
   generation the same two checks run on the cited articles alone (a year is a hard constraint).
4. The question asks what someone said ("What did Putin say …", "according to Putin") and no
   retrieved sentence is attributed to that person: a mention is not a statement.

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
from collections.abc import Iterable, Sequence

from qa.records import Evidence

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
    missing = []
    for name in question_names(question):
        last = name.split()[-1].lower()
        stem = last[: max(4, len(last) - 2)]
        if not any(w.startswith(stem) or (stem.startswith(w) and len(w) >= 4) for w in words):
            missing.append(name)
    return missing


_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*")


def missing_numbers(question: str, context: str) -> list[str]:
    """The question's numbers that ``context`` never states (digits not part of a longer number)."""
    return [n for n in dict.fromkeys(_NUMBER.findall(question)) if not re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d]|[.,]\d)", context)]


def missing_terms(question: str, context: str) -> list[str]:
    """The question's names and numbers that ``context`` never mentions (hard constraints of a question)."""
    return missing_names(question, context) + missing_numbers(question, context)


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
