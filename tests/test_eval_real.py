"""Both eval sets with the real models over all briefings (the bundled sample + eval/briefings/).

Slow: 54 questions at a few seconds each on 2 cores. Prints the tables as ``briefqa eval`` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.service import open_indexer
from core.settings import Settings
from qa.service import open_assistant
from qa.evaluate import EvalSummary, load_items, render, run_eval

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    settings = Settings(data_dir=tmp_path_factory.mktemp("eval"))
    results = open_indexer(settings).add([ROOT / "briefings", ROOT / "eval" / "briefings"])
    assert [r for r in results if r.status != "added"] == []
    return open_assistant(settings)


def test_seed_set_stays_seven_of_seven_with_every_briefing_indexed(assistant: Assistant) -> None:
    summary = run_eval(load_items(ROOT / "eval" / "seed_dev.jsonl"), assistant.ask, assistant.retriever.store)
    print(render(summary))
    assert summary.correct == 7, render(summary)
    assert summary.verified_share == 1.0


@pytest.fixture(scope="module")
def news(assistant: Assistant) -> EvalSummary:
    summary = run_eval(load_items(ROOT / "eval" / "news_dev.jsonl"), assistant.ask, assistant.retriever.store)
    print(render(summary))
    return summary


def test_news_set_reaches_ninety_percent_with_every_quote_verified(news: EvalSummary) -> None:
    """The issue's target; 43/47 when last measured (the misses are listed in eval/README.md)."""
    assert news.correct >= 0.9 * len(news.rows), render(news)
    assert news.verified_share == 1.0
