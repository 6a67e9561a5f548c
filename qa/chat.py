"""Follow-up questions: make a question standalone using the chat history.

A follow-up that leans on the previous turn (a pronoun, "the ambassador", or a very short
question) gets the previous question attached, so retrieval and the model see the topic.

>>> contextualize("What did the ambassador say?", [("Did Russia call Iran an ally?", "Not consistently.")])
'What did the ambassador say? (follow-up to: Did Russia call Iran an ally?)'
>>> contextualize("Who is Sergei Ryabkov?", [("Did Russia call Iran an ally?", "…")])
'Who is Sergei Ryabkov?'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Turn = tuple[str, str]  # (user question, assistant answer)

_LEANS_ON_CONTEXT = re.compile(
    r"\b(?:he|she|they|him|her|them|his|hers|their|its|it|that|this|those|these|there|then)\b"
    r"|\bthe\s+(?:ambassador|minister|diplomat|official|president|spokes\w+|country|government|report|article|interview)\b",
    re.I,
)


def contextualize(question: str, history: Sequence[Turn] | None) -> str:
    """``question`` unchanged, or with the last user question attached when it is a follow-up."""
    question = question.strip()
    if not history:
        return question
    previous = history[-1][0].strip()
    if previous and (_LEANS_ON_CONTEXT.search(question) or len(question.split()) <= 3):
        return f"{question} (follow-up to: {previous})"
    return question
