"""Test doubles shared by the tests.

>>> gen = ScriptedGenerator(['{"answer": "no"}'])
>>> "".join(gen.stream([Message("user", "Allies?")], json_schema={"type": "object"}, max_tokens=50))
'{"answer": "no"}'
>>> gen.calls[0][0].content
'Allies?'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

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
