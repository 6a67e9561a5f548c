"""The generator protocol: anything that streams a completion for a chat.

``stream`` yields text pieces as they are produced; joined they are the whole completion (a JSON
document when ``json_schema`` is given).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    """One chat turn; ``role`` is "system", "user" or "assistant"."""

    role: str
    content: str


class Generator(Protocol):
    """Anything that streams a completion for a chat."""

    name: str

    def stream(
        self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None, max_tokens: int
    ) -> Iterator[str]: ...
