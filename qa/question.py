"""What a question asks, read once: ``QuestionProfile`` (yes/no or wh, names, numbers, the asked speaker,
whether it wants the latest state, the counted noun), with one tokenizer (``core.text.tokenize``) and one
name extractor (``question_names``). Every rule reads the profile instead of re-parsing the question.

>>> p = profile_of("How many homes did Vladimir Putin say were hit in 2018?")
>>> p.yes_no, p.names, p.numbers, p.counted
(False, ('Vladimir Putin',), ('2018',), 'homes')
>>> profile_of("What did Vladimir Putin say about the strikes?").speaker
'Vladimir Putin'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.text import tokenize
from qa.retrieve import wants_latest

NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*")
_YES_NO = re.compile(r"^\s*(did|does|do|is|are|was|were|has|have|had|can|could|will|would|should)\b", re.I)
_NAME_RUN = re.compile(r"(?<![.?!]\s)(?<!^)\b([A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*)")
_QUESTION_WORDS = frozenset("who what when where why how which whom whose did does do is are was were has have had can could will would should i".split())
_SPEECH_Q = re.compile(
    r"\b(?i:what|how)\s+(?:did|does|do|has|have|had)\s+(?:the\s+)?(?P<a>[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*)\s+"
    r"(?:say|said|tell|told|think|claim|argue|describe|mean|write|announce)\b"
    r"|\b(?i:according to)\s+(?P<b>[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*)"
)
_HOW_MANY = re.compile(r"\bhow\s+many\s+([a-z]+)", re.I)


@dataclass(frozen=True)
class QuestionProfile:
    """One question as the rules read it (``profile_of`` builds it once per question text)."""

    text: str
    yes_no: bool  # "Did…", "Is…", "Has…": answered by sides, not by claims
    names: tuple[str, ...]  # runs of capitalised words after the first word ("Vladimir Putin")
    numbers: tuple[str, ...]  # digits not part of a longer number ("2018", "4")
    speaker: str | None  # "what did X say", "according to X": X
    latest: bool  # asks for the latest / current state
    counted: str | None  # "how many N": N as written
    tokens: tuple[str, ...]  # content words (``core.text.tokenize``)

    @property
    def counted_token(self) -> str | None:
        """The counted noun as a token ("homes" → "home"), or None."""
        words = tokenize(self.counted) if self.counted else []
        return words[0] if words else None


@lru_cache(maxsize=512)
def profile_of(question: str) -> QuestionProfile:
    """The profile of ``question`` (cached: every rule that asks about one question gets the same record)."""
    counted = _HOW_MANY.search(question)
    return QuestionProfile(
        question, is_yes_no(question), tuple(question_names(question)), tuple(dict.fromkeys(NUMBER.findall(question))),
        asked_speaker(question), wants_latest(question), counted.group(1) if counted else None, tuple(tokenize(question)),
    )


def is_yes_no(question: str) -> bool:
    """Whether ``question`` expects a yes/no answer ("Did…", "Is…", "Has…").

    >>> is_yes_no("Has Israel acknowledged the strikes?"), is_yes_no("How far did they move?")
    (True, False)
    """
    return bool(_YES_NO.match(question))


def question_names(question: str) -> list[str]:
    """Runs of capitalised words after the question's first word ("Vladimir Putin"), question words excluded: the
    one name extractor.

    >>> question_names("How much oil does Iran export to China?")
    ['Iran', 'China']
    """
    names = []
    for run in _NAME_RUN.findall(question.strip()):
        words = [w for w in run.split() if w.lower() not in _QUESTION_WORDS]
        if words:
            names.append(" ".join(words))
    return names


def asked_speaker(question: str) -> str | None:
    """The person whose statement the question asks about, if it asks about one.

    >>> asked_speaker("According to Ryabkov, who knows?"), asked_speaker("Did Russia call Iran an ally?")
    ('Ryabkov', None)
    """
    m = _SPEECH_Q.search(question)
    return (m.group("a") or m.group("b")) if m else None
