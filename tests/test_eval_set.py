"""The eval sets are well-formed: gold quotes are verbatim spans of the briefings, and `history` follow-ups load.

Fast (load + clean only). The real-model scores are checked in tests/test_eval_real.py (slow).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from index.clean import clean
from core.errors import BriefQAError
from index.load import iter_documents
from index.records import Article
from qa.cite import normalise
from qa.evaluate import EvalItem, hit_groups, load_items, run_eval

ROOT = Path(__file__).resolve().parents[1]
BRIEFINGS = (ROOT / "briefings", ROOT / "eval" / "briefings")


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    found = [clean(d) for d in iter_documents(BRIEFINGS)]
    assert all(isinstance(a, Article) for a in found), found
    return found  # type: ignore[return-value]


def paragraphs_with(quote: str, articles: list[Article]) -> list[str]:
    needle = normalise(quote)[0]
    return [p for a in articles for p in a.text.split("\n\n") if needle in normalise(p)[0]]


def assert_gold_paragraphs_hold_the_mentions(items: Sequence[EvalItem], articles: list[Article]) -> None:
    """Answerable items: each gold quote lies within one paragraph of a cleaned article, and those paragraphs
    hold every ``must_mention`` group; unanswerable ones have neither."""
    for item in items:
        if not item.answerable:
            assert not item.gold_quotes and not item.must_mention, item.id
            continue
        assert item.gold_quotes and item.must_mention, item.id
        context = []
        for quote in item.gold_quotes:
            found = paragraphs_with(quote, articles)
            assert found, f"{item.id}: gold quote not in the briefings: {quote!r}"
            context += found
        for group in item.must_mention:
            assert hit_groups([group], " ".join(context)), f"{item.id}: {group} not in its gold paragraphs"


def test_gold_quotes_are_quotable_spans_and_support_the_required_mentions(articles: list[Article]) -> None:
    """Body text only: captions are never quoted (seed-who-ryabkov has one gold quote from a caption)."""
    assert_gold_paragraphs_hold_the_mentions(load_items(ROOT / "eval" / "news_dev.jsonl"), articles)


def test_the_news_set_covers_every_kind_of_question() -> None:
    items = load_items(ROOT / "eval" / "news_dev.jsonl")
    ids = [i.id for i in items + load_items(ROOT / "eval" / "seed_dev.jsonl")]
    assert len(items) >= 30 and len(ids) == len(set(ids))
    assert sum(not i.answerable for i in items) >= 5
    assert sum(bool(i.history) for i in items) >= 4
    assert sum(i.question.startswith(("Will ", "Is ", "Did ")) and i.answerable for i in items) >= 3  # yes/no, both sides
    assert sum(i.question.startswith(("When ", "On what date")) for i in items) >= 5


def test_the_eval_briefings_keep_the_seed_refusals_refusable(articles: list[Article]) -> None:
    """The seed set refuses Putin statements and Iran's oil exports to China: no new briefing may answer them."""
    new = [a for a in articles if "eval/briefings" in (a.path or "")]
    assert len(new) >= 10
    assert not [a.title for a in new if any(w in a.text for w in ("China", "Putin", "Syria", "Iran"))]


def test_dated_briefings_are_dated(articles: list[Article]) -> None:
    dated = {Path(a.path or "").name: a.published for a in articles if a.published}
    assert dated["harwick-barrier-cost-rises.txt"] == "2025-04-15"  # from its "Published 15 April 2025" dateline
    assert dated["harwick-barrier-northern-wire.txt"] > dated["harwick-barrier-harbour-times.txt"]  # the later syndicated copy


def test_history_turns_are_passed_to_ask(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    line = {"id": "f", "question": "What did he say?", "answerable": False, "history": [["Who is Ryabkov?", "A minister."]]}
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    (item,) = load_items(path)
    assert item == EvalItem("f", "What did he say?", False, (), (), (("Who is Ryabkov?", "A minister."),))
    seen = []
    run_eval([item], lambda q, h: seen.append((q, h)) or _refusal(q), store=None)  # type: ignore[arg-type]
    assert seen == [("What did he say?", (("Who is Ryabkov?", "A minister."),))]
    path.write_text(json.dumps({**line, "history": [["only a question"]]}) + "\n", encoding="utf-8")
    with pytest.raises(BriefQAError, match="not a valid eval line"):
        load_items(path)


def _refusal(question: str):  # noqa: ANN202
    from qa.records import Answer, Timings

    return Answer(question, "The briefings don't say.", (), "not_found", True, Timings(0, 0, 0))
