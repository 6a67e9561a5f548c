"""Stance of a quoted sentence towards a yes/no question, from negation cues in code.

The local model mislabels denials (see DESIGN.md), so the verdict is computed here from the
verified quotes. A sentence's clauses (split at commas) that mention the question's predicate ("ally" for
"Did Russia call Iran an ally?") are read for negators ("not", "wouldn't", "denial", "myth"); a
diminisher ("weakening of the alliance") flips once more, so "the weakening of the alliance is
a myth" affirms the alliance. Clauses that disagree make the sentence count for both sides.

>>> q = "Did Russia call Iran an ally?"
>>> stance_of(q, "Russia and Iran are not allies in Syria.")
'no'
>>> stance_of(q, "the weakening of the Iran-Russia alliance is a myth.")
'yes'
>>> verdict_of(q, ["no", "yes"])
'mixed'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.text import STOPWORDS
from qa.question import is_yes_no, profile_of
from qa.records import Stance, Verdict

__all__ = ["clause_stances", "is_yes_no", "predicate_terms", "stance_of", "verdict_of"]  # is_yes_no: qa.question's, re-exported

_WORD = re.compile(r"[\w’']+")
_NEGATORS = frozenset(
    """not no never none nobody neither nor without deny denies denied denying denial denials myth myths false
    untrue rejected rejects reject refused refuses dismissed dismisses refuted rules ruled""".split()
)
_DIMINISHERS = frozenset("weakening weakened decline erosion collapse end breakdown rupture".split())
_CLAUSE = re.compile(r"[,;:]\s+|\s[-–—]\s")
_ASKED = re.compile(r"\basked (?:him |her |them )?(?:if|whether)\b", re.I)


def predicate_terms(question: str) -> set[str]:
    """The question's content words other than its capitalised names, as comparison keys."""
    names = {w.lower() for name in profile_of(question).names for w in name.split()}
    words = [w.lower() for w in _WORD.findall(question)]
    keep = [w for w in words[1:] if w not in STOPWORDS and w not in names and w not in {"call", "called", "calls"}]
    return {_key(w) for w in keep}


def stance_of(question: str, sentence: str) -> Stance:
    """The stance of the sentence's first clause on the question's predicate ("neutral": none)."""
    stances = clause_stances(question, sentence)
    return stances[0] if stances else "neutral"


def clause_stances(question: str, sentence: str) -> list[Stance]:
    """The stances of the clauses of ``sentence`` that mention the question's predicate, in order."""
    terms = predicate_terms(question)
    clauses = _CLAUSE.split(sentence)
    found: list[Stance] = []
    for i, clause in enumerate(clauses):
        words = _words(clause)
        if not terms & {_key(w) for w in words}:
            continue
        if _ASKED.search(clause):  # "when asked if X was an ally, he answered ...": read the reply
            reply = [w for c in clauses[i + 1 : i + 3] for w in _words(c)]
            found.append("no" if _negations(reply) else "yes")
        else:
            found.append("no" if _negations(words) % 2 else "yes")
    return found


def verdict_of(question: str, stances: Iterable[Stance], *, refused: bool = False) -> Verdict:
    """The answer's verdict from the stances of its verified quotes."""
    if refused:
        return "not_found"
    seen = set(stances)
    if not profile_of(question).yes_no:
        return "supported"
    if {"yes", "no"} <= seen:
        return "mixed"
    if "no" in seen:
        return "contradicted"
    return "supported"


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _negations(words: list[str]) -> int:
    """Negators and diminishers among ``words`` (each one flips the polarity)."""
    return sum(w in _NEGATORS or w in _DIMINISHERS or w.endswith(("n't", "n’t")) for w in words)


def _key(word: str) -> str:
    """A crude stem: "ally", "allies", "alliance" and "allied" share the key "alli"."""
    word = word.lower().replace("’", "'")
    if word.endswith("y"):
        word = word[:-1] + "i"
    return word[:4] if len(word) >= 4 else word
