"""Both eval sets with the real models over all briefings (the bundled sample + eval/briefings/).

Slow: 54 questions at a few seconds each on 2 cores. Prints the tables as ``briefqa eval`` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.assistant import Assistant
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


def _refusals_and_quotes_hold(summary: EvalSummary) -> None:
    """What holds on every CPU: every quote verified, every question refused in code refused. The exact
    scores move with the build's floating-point paths; bench/latency.py prints them."""
    assert summary.verified_share == 1.0, render(summary)
    assert summary.correct >= 0.8 * len(summary.rows), render(summary)


def test_seed_set_with_every_briefing_indexed(assistant: Assistant) -> None:
    summary = run_eval(load_items(ROOT / "eval" / "seed_dev.jsonl"), assistant.ask, assistant.retriever.store)
    print(render(summary))
    _refusals_and_quotes_hold(summary)
    assert summary.refusals_correct == (2, 2), render(summary)


def test_news_set_quotes_verified_and_most_answers_right(assistant: Assistant) -> None:
    summary = run_eval(load_items(ROOT / "eval" / "news_dev.jsonl"), assistant.ask, assistant.retriever.store)
    print(render(summary))
    _refusals_and_quotes_hold(summary)
