"""The prompt for the generator and the parsing of its JSON reply.

The system message is fixed (llama.cpp reuses its KV cache across questions); the user message
lists the evidence as numbered sentences with their article's date and their speakers, then the question. The model
replies with JSON: ``answerable``, a short ``answer`` citing ``[S#]`` ids, and a ``verdict``.

>>> d = parse_draft('{"answerable": true, "answer": "No [S2].", "verdict": "no"}')
>>> d.answerable, d.answer
(True, 'No [S2].')
>>> partial_answer('{"answerable": true, "answer": "Ryabkov said \\\\"no')
'Ryabkov said "no'
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.generators.base import Message
from qa.records import Evidence

_VERDICT = {"type": "string", "enum": ["yes", "no", "mixed", "n/a"]}
# The model's verdict is not used (code decides it from the quotes' stances), but it stays in the reply:
# the model ends its answer string with the token '",' and, where a grammar forbids that token, it goes on
# listing [S#] ids instead of stopping (measured: 204 generated tokens p50 instead of 38).
SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {"answerable": {"type": "boolean"}, "answer": {"type": "string"}, "verdict": _VERDICT},
    "required": ["answerable", "answer", "verdict"],
}
_TIME = re.compile(r"\b(?:when|date|dated|day|week|month|year|since|until|before|after|latest|newest|recent(?:ly)?|current(?:ly)?|now|"
                   r"still|today|yesterday|(?:19|20)\d\d|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*", re.I)


SYSTEM = """You answer questions about news briefings using ONLY the numbered evidence sentences you are given.
Rules:
1. If no sentence answers the question, reply {"answerable": false, "answer": "", "verdict": "n/a"}. A sentence that only mentions the same people or topic is not an answer. If the question asks what a person said, only that person's own statements count.
2. Otherwise write a short answer (one to three sentences) in your own words. Right after each claim put the id of the sentence that supports it, like [S2]. Cite only sentences that say what you claim.
3. Answer exactly what was asked, from the sentence that says it. Say who said what. Only if two sentences give different answers to the question, give both sides, each with its id.
4. verdict: for a yes/no question "yes", "no" or "mixed" (sources disagree); otherwise "n/a".
5. Never add facts that are not in the evidence.

Example evidence:
[S1] (speaker: Ana Ruiz, Mayor) Mayor Ana Ruiz said the bridge will reopen in May.
[S2] (speaker: Tom Hale, Transport Minister) "The bridge stays closed this year," Hale told reporters.
[S3] The bridge was damaged by floods in March.

Question: When was the bridge damaged?
{"answerable": true, "answer": "In March, by floods [S3].", "verdict": "n/a"}

Question: Will the bridge reopen?
{"answerable": true, "answer": "The sources disagree: Mayor Ana Ruiz said it will reopen in May [S1], but Transport Minister Tom Hale said \\"The bridge stays closed this year\\" [S2].", "verdict": "mixed"}

Question: What did the governor say about the floods?
{"answerable": false, "answer": "", "verdict": "n/a"}

Question: How much did the repairs cost?
{"answerable": false, "answer": "", "verdict": "n/a"}"""


@dataclass(frozen=True)
class Draft:
    """The model's reply, not yet trusted: ``qa.cite`` checks every ``[S#]`` it cites."""

    answerable: bool
    answer: str
    verdict: str


def build_messages(question: str, evidence: Sequence[Evidence]) -> list[Message]:
    """System message (fixed) + user message (evidence sentences, then the question).

    A sentence is annotated only with what it does not say itself: its article's date when the
    evidence spans several dates or the question is about time, its speaker (and role) when the
    sentence does not name them.
    """
    dates = {ev.article.published for ev in evidence if ev.article.published}
    show_dates = len(dates) > 1 or bool(_TIME.search(question))
    lines = []
    for ev in evidence:
        text = " ".join(ev.text.split())
        notes = [ev.article.published] if show_dates and ev.article.published else []
        if ev.speaker and not _names_itself(text, ev.speaker, ev.role):
            notes.append(f"speaker: {ev.speaker}{', ' + ev.role if ev.role else ''}")
        lines.append(f"[S{ev.n}] {'(' + '; '.join(notes) + ') ' if notes else ''}{text}")
    user = "Evidence:\n" + "\n".join(lines) + f"\n\nQuestion: {question.strip()}"
    return [Message("system", SYSTEM), Message("user", user)]


def _names_itself(text: str, speaker: str, role: str | None) -> bool:
    """Whether the sentence names its speaker in full, and their role if there is one."""
    lowered = text.lower()
    return speaker.lower() in lowered and (not role or role.lower() in lowered)


def parse_draft(raw: str) -> Draft:
    """Parse the model's JSON; a truncated or malformed reply yields what can be read of it."""
    try:
        data = json.loads(raw)
        if isinstance(data, dict):
            return Draft(bool(data.get("answerable")), str(data.get("answer") or ""), str(data.get("verdict") or "n/a"))
    except json.JSONDecodeError:
        pass
    answerable = re.search(r'"answerable"\s*:\s*(true|false)', raw)
    verdict = re.search(r'"verdict"\s*:\s*"([^"]*)"', raw)
    return Draft(bool(answerable and answerable.group(1) == "true"), partial_answer(raw) or "", verdict.group(1) if verdict else "n/a")


def partial_answer(raw: str) -> str | None:
    """The (possibly unfinished) ``answer`` string of a streaming JSON reply, unescaped."""
    m = re.search(r'"answer"\s*:\s*"', raw)
    if not m:
        return None
    body = re.match(r'(?:[^"\\]|\\.)*', raw[m.end() :]).group(0)  # type: ignore[union-attr]
    if body.endswith("\\") and not body.endswith("\\\\"):
        body = body[:-1]
    try:
        return json.loads(f'"{body}"')
    except json.JSONDecodeError:
        return body.replace('\\"', '"').replace("\\n", "\n")
