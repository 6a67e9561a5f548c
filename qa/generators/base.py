"""The generator protocol: anything that streams a completion for a chat.

``stream`` yields text pieces as they are produced; joined they are the whole completion (a JSON
document when ``json_schema`` is given).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.errors import BriefQAError
from core.settings import Settings


@dataclass(frozen=True)
class Message:
    """One chat turn; ``role`` is "system", "user" or "assistant"."""

    role: str
    content: str


class Generator(Protocol):
    """Anything that streams a completion for a chat. Capabilities are declared, never probed: ``supports_logprobs``
    (it has ``logprobs_many`` and ``reply_logprobs``: the LLM support judge and p(answerable) run on it),
    ``supports_schema`` (``json_schema`` constrains its output); a generator that declares neither has neither."""

    name: str
    supports_logprobs: bool
    supports_schema: bool

    def stream(
        self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None, max_tokens: int
    ) -> Iterator[str]: ...


def remote_model(settings: Settings) -> str:
    """``settings.llm_model``, which the server backends (openai, ollama) need, or a BriefQAError.

    >>> remote_model(Settings(generator="openai", llm_model="qwen"))
    'qwen'
    """
    if not settings.llm_model:
        raise BriefQAError(
            f"BRIEFQA_LLM_MODEL is not set (needed by BRIEFQA_GENERATOR={settings.generator})",
            "set BRIEFQA_LLM_MODEL to the server's model name",
        )
    return settings.llm_model
