"""End to end with the real models on the shipped briefings: bundled MiniLM + local Qwen2.5-1.5B.

Slow (the model loads in ~1 s, each answer takes a few seconds on 2 cores); run in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings
from qa.assistant import Assistant
from qa.service import open_assistant, open_indexer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
ALLY = "Did Russia call Iran an ally?"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=tmp_path_factory.mktemp("real"))
    open_indexer(settings).add([ROOT / "briefings"])
    return settings


@pytest.fixture(scope="module")
def assistant(settings: Settings) -> Assistant:
    return open_assistant(settings)


def verbatim(assistant: Assistant, answer) -> bool:  # noqa: ANN001
    store = assistant.retriever.store
    return all(store.get(c.article_id).article.text[c.start : c.end] == c.quote for c in answer.citations)


def test_ally_question_shows_both_sides_with_speakers(assistant: Assistant) -> None:
    answer = assistant.ask(ALLY)
    assert not answer.refused
    speakers = {c.speaker for c in answer.citations if c.verified}
    assert {"Sergei Ryabkov", "Levan Dzhagaryan"} <= speakers
    assert answer.verdict == "mixed"
    assert verbatim(assistant, answer)
    # The support judge ran: every quote carries its side with the probability it was decided with.
    sides = {"yes": "yes", "no": "no", "neither": "neutral"}
    assert all(c.support is not None and c.support.side and 0.0 <= c.support.p <= 1.0 for c in answer.citations)
    assert all(sides[c.support.side] == c.stance for c in answer.citations if c.support and c.support.side)
    # The model wrote "answerable": true; its probability, read from the log-probabilities, says so too.
    assert answer.p_answerable is not None and 0.5 < answer.p_answerable <= 1.0


@pytest.mark.parametrize("question", ["How much oil does Iran export to China?", "What did Vladimir Putin say about the Israeli strikes?"])
def test_unanswerable_questions_are_refused(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.refused and answer.verdict == "not_found" and not answer.citations
    assert answer.related and verbatim(assistant, answer)


def test_cli_ask_json_with_the_local_model(settings: Settings) -> None:
    env = {**os.environ, "BRIEFQA_DATA_DIR": str(settings.data_dir)}
    proc = subprocess.run(
        [sys.executable, "-c", "from ui.cli import main; main()", "ask", "--json", ALLY],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    text = (ROOT / "briefings" / "russia-iran-not-allies-in-syria.txt").read_text()
    assert data["verdict"] == "mixed" and not data["refused"]
    assert {"Sergei Ryabkov", "Levan Dzhagaryan"} <= {c["speaker"] for c in data["citations"]}
    assert all(c["verified"] and c["quote"] in text for c in data["citations"])


def test_an_answer_does_not_depend_on_the_previous_question(assistant: Assistant) -> None:
    q1, q2 = "Who is Sergei Ryabkov?", "How far from the Israeli border has Russia moved Iranian forces?"
    first = assistant.ask(q1).text
    assistant.ask(q2)
    assert assistant.ask(q1).text == first
