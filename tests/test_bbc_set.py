"""The held-out BBC set (eval/bbc_heldout.jsonl over eval/bbc/) is well-formed.

Fast (load + clean only, no model): every gold quote is a verbatim span of one article's body (never
its title line), the paragraphs holding an item's gold quotes contain every ``must_mention`` group,
and the set has the promised mix of questions. The model's score is measured with ``briefqa eval``
(see eval/README.md), not here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from index.clean import clean
from index.load import iter_documents
from index.records import Article
from qa.evaluate import EvalItem, load_items
from qa.stance import is_yes_no
from tests.test_eval_set import assert_gold_paragraphs_hold_the_mentions

ROOT = Path(__file__).resolve().parents[1]
BBC = ROOT / "eval" / "bbc"
SET = ROOT / "eval" / "bbc_heldout.jsonl"


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return load_items(SET)


@pytest.fixture(scope="module")
def bodies() -> dict[str, str]:
    """File name -> the file's text after its headline line (BBC corpus files: headline, blank line, body)."""
    out = {}
    for path in sorted(BBC.glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        assert title.strip() and body.startswith("\n"), path.name
        out[path.name] = body
    return out


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    found = [clean(d) for d in iter_documents([BBC])]
    assert all(isinstance(a, Article) for a in found), found
    return found  # type: ignore[return-value]


def test_the_articles_load_with_their_headlines_as_titles(articles: list[Article]) -> None:
    assert 12 <= len(articles) <= 16
    for a in articles:
        headline = Path(a.path or "").read_text(encoding="utf-8").split("\n", 1)[0].strip()
        assert a.title == headline, a.path
        assert not a.text.startswith(headline), a.path  # the headline is not body text


def test_the_articles_are_not_used_elsewhere_in_the_project() -> None:
    """Held out: none of them is one of the dev set's briefings or the support-judge articles."""
    used = [*(ROOT / "eval" / "briefings").glob("*.txt"), *(ROOT / "eval" / "support" / "articles").glob("*.txt")]
    used_text = {" ".join(p.read_text(encoding="utf-8").split()[:30]) for p in used}
    for path in BBC.glob("*.txt"):
        assert " ".join(path.read_text(encoding="utf-8").split()[:30]) not in used_text, path.name
        stem = path.stem.split("-", 1)[1]  # <topic>-<corpus file name>
        assert not [p.name for p in used if stem in p.name], path.name


def test_gold_quotes_are_verbatim_body_spans(items: list[EvalItem], bodies: dict[str, str]) -> None:
    for item in items:
        for quote in item.gold_quotes:
            assert [n for n, body in bodies.items() if quote in body], f"{item.id}: not verbatim body text: {quote!r}"


def test_must_mention_groups_are_in_the_gold_paragraphs(items: list[EvalItem], articles: list[Article]) -> None:
    assert_gold_paragraphs_hold_the_mentions(items, articles)


def test_the_set_has_the_promised_mix(items: list[EvalItem]) -> None:
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids))
    assert len(items) >= 44
    assert sum(i.answerable for i in items) >= 30
    assert sum(not i.answerable for i in items) >= 12
    assert sum(is_yes_no(i.question) and i.answerable for i in items) >= 6
    assert all(i.question.strip() for i in items)


def test_ids_do_not_clash_with_the_other_sets(items: list[EvalItem]) -> None:
    others = {i.id for name in ("news_dev.jsonl", "seed_dev.jsonl") for i in load_items(ROOT / "eval" / name)}
    assert not others & {i.id for i in items}
