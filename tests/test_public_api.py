"""The Python query functions and the JSON shape are a product surface: these imports and keys stay."""

from __future__ import annotations

import inspect
from pathlib import Path

from core.settings import Settings
from qa.records import Answer, answer_json
from qa.service import open_indexer

ROOT = Path(__file__).resolve().parents[1]
ANSWER_KEYS = ["question", "answer", "verdict", "refused", "citations", "timings", "related", "standalone_question", "notes", "unsupported",
               "p_answerable", "trace"]
CITATION_KEYS = ["n", "quote", "article_id", "title", "source", "published", "path", "start", "end", "speaker", "verified", "role",
                 "stance", "speech", "support"]


def test_ask_and_ask_stream_import_from_qa_and_from_qa_answer() -> None:
    import qa
    import qa.answer

    from qa import ask, ask_stream
    from qa.answer import FROM_SETTINGS, Assistant  # noqa: F401 - existing users import these too

    assert ask is qa.answer.ask and ask_stream is qa.answer.ask_stream and qa.ask is ask
    assert list(inspect.signature(ask).parameters) == ["question", "history", "settings", "filters"]
    assert list(inspect.signature(ask_stream).parameters) == ["question", "history", "settings", "filters"]


def test_ask_returns_an_answer_with_the_stable_json_shape(tmp_path: Path) -> None:
    from qa import ask, ask_stream

    settings = Settings(data_dir=tmp_path / "data", embedder="hash", generator="extractive", min_evidence_score=0.0)
    open_indexer(settings).add([ROOT / "briefings"])
    answer = ask("Did Russia call Iran an ally?", settings=settings)
    assert isinstance(answer, Answer) and answer.citations
    data = answer_json(answer)
    assert list(data) == ANSWER_KEYS
    assert list(data["citations"][0]) == CITATION_KEYS  # type: ignore[index]
    assert list(data["timings"]) == ["retrieve_s", "generate_s", "total_s"]  # type: ignore[arg-type]
    assert isinstance(list(ask_stream("Did Russia call Iran an ally?", settings=settings))[-1], Answer)
