"""``briefqa eval``: score the assistant on a JSONL question set (format: eval/README.md).

Per question: correct (answerable → not refused and every ``must_mention`` group hit in the
answer or its quotes; unanswerable → refused), share of citations verified against the stored
article text, whether a shown quote overlaps a gold quote, latency.

>>> hit_groups([["Ryabkov"], ["Dzhagaryan", "ambassador"]], "ryabkov and the AMBASSADOR")
True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from core.errors import BriefQAError
from index.store import Store
from qa.chat import Turn
from qa.cite import normalise, verify
from qa.records import Answer


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    answerable: bool
    must_mention: tuple[tuple[str, ...], ...]
    gold_quotes: tuple[str, ...]
    history: tuple[Turn, ...] = ()  # earlier (question, answer) turns of the chat: a follow-up


@dataclass(frozen=True)
class EvalRow:
    item: EvalItem
    answer: Answer
    correct: bool
    verified: int
    cited: int
    gold_hit: bool


@dataclass(frozen=True)
class EvalSummary:
    rows: tuple[EvalRow, ...]

    @property
    def answerable_correct(self) -> tuple[int, int]:
        rows = [r for r in self.rows if r.item.answerable]
        return sum(r.correct for r in rows), len(rows)

    @property
    def refusals_correct(self) -> tuple[int, int]:
        rows = [r for r in self.rows if not r.item.answerable]
        return sum(r.correct for r in rows), len(rows)

    @property
    def correct(self) -> int:
        return sum(r.correct for r in self.rows)

    @property
    def verified_share(self) -> float:
        cited = sum(r.cited for r in self.rows)
        return sum(r.verified for r in self.rows) / cited if cited else 1.0

    @property
    def gold_share(self) -> float:
        rows = [r for r in self.rows if r.item.answerable and r.item.gold_quotes]
        return sum(r.gold_hit for r in rows) / len(rows) if rows else 0.0

    @property
    def p50_s(self) -> float:
        return median(r.answer.timings.total_s for r in self.rows) if self.rows else 0.0


def load_items(path: Path) -> list[EvalItem]:
    """Read an eval set; a bad line is an error naming the line."""
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise BriefQAError(f"cannot read the eval file {path}: {err.strerror}", "pass an existing .jsonl file") from None
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            history = tuple((str(q), str(a)) for q, a in d.get("history", []))
            items.append(EvalItem(str(d["id"]), d["question"], bool(d["answerable"]),
                                  tuple(tuple(g) for g in d.get("must_mention", [])), tuple(d.get("gold_quotes", [])), history))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise BriefQAError(f"{path}:{no} is not a valid eval line ({err})", "see eval/README.md for the format") from None
    return items


def hit_groups(groups: Sequence[Sequence[str]], text: str) -> bool:
    """Whether every group has at least one alternative in ``text`` (case-insensitive)."""
    low = text.lower()
    return all(any(alt.lower() in low for alt in group) for group in groups)


def gold_overlap(quote: str, gold: Sequence[str]) -> bool:
    """A shown quote hits when it contains a gold quote or lies within one (normalised)."""
    q = normalise(quote)[0]
    return any((g := normalise(x)[0]) in q or q in g for x in gold)


def verified_count(answer: Answer, store: Store) -> int:
    """How many of the answer's citations are, re-checked against the stored article, verbatim spans."""
    verified = 0
    for c in answer.citations:
        entry = store.get(c.article_id)
        verified += bool(entry and c.verified and verify(entry.article, c.start, c.end, c.quote))
    return verified


def score(item: EvalItem, answer: Answer, store: Store) -> EvalRow:
    verified = verified_count(answer, store)
    shown = answer.text + " " + " ".join(c.quote for c in answer.citations)
    if item.answerable:
        correct = not answer.refused and hit_groups(item.must_mention, shown)
    else:
        correct = answer.refused
    gold_hit = any(gold_overlap(c.quote, item.gold_quotes) for c in answer.citations)
    return EvalRow(item, answer, correct, verified, len(answer.citations), gold_hit)


def run_eval(items: Sequence[EvalItem], ask: Callable[[str, Sequence[Turn]], Answer], store: Store) -> EvalSummary:
    return EvalSummary(tuple(score(item, ask(item.question, item.history), store) for item in items))


def render(summary: EvalSummary) -> str:
    """A plain-text table plus totals."""
    lines = [f"{'id':<22} {'ok':<3} {'refused':<7} {'verdict':<12} {'quotes':>6} {'gold':>4} {'secs':>6}"]
    for r in summary.rows:
        lines.append(
            f"{r.item.id:<22} {'✔' if r.correct else '✘':<3} {str(r.answer.refused).lower():<7} {r.answer.verdict:<12} "
            f"{r.verified}/{r.cited:<4} {'yes' if r.gold_hit else '-':>4} {r.answer.timings.total_s:>6.2f}"
        )
    a_ok, a_n = summary.answerable_correct
    u_ok, u_n = summary.refusals_correct
    lines += [
        "",
        f"answerable correct:   {a_ok}/{a_n}",
        f"refusals correct:     {u_ok}/{u_n}",
        f"total correct:        {summary.correct}/{len(summary.rows)}",
        f"citations verified:   {summary.verified_share:.0%}",
        f"gold quote overlap:   {summary.gold_share:.0%} of answerable questions",
        f"latency p50:          {summary.p50_s:.2f} s",
    ]
    return "\n".join(lines)
