"""Any LangChain chat model as a ``Generator``; ``build`` makes the Ollama one (the OpenAI-compatible
backend is ``qa.generators.openai_compat``).

>>> from langchain_core.language_models.fake_chat_models import FakeListChatModel
>>> gen = LangChainGenerator(FakeListChatModel(responses=["no"]))
>>> from qa.generators.base import Message
>>> "".join(gen.stream([Message("user", "Allies?")], json_schema=None, max_tokens=20))
'no'
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from core.errors import BriefQAError
from core.settings import Settings
from qa.generators.base import Message, remote_model

_ROLES = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
_START_IT = "start it or set BRIEFQA_GENERATOR=local"


class LangChainGenerator:
    """Streams ``chat_model``. A schema is asked for in the system message, and also passed as an
    OpenAI-style ``response_format`` when ``json_mode`` (ChatOpenAI, ChatOllama, ... accept one).
    ``max_tokens`` is enforced here: the stream stops after that many pieces (≈ tokens)."""

    def __init__(self, chat_model: BaseChatModel, *, endpoint: str = "", json_mode: bool = False) -> None:
        self.name = f"langchain:{type(chat_model).__name__}"
        self._model = chat_model
        self._endpoint = endpoint or "its configured address"
        self._json_mode = json_mode
        self.supports_logprobs = False
        self.supports_schema = json_mode  # passed as response_format; otherwise only asked for in the prompt

    def stream(
        self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None, max_tokens: int
    ) -> Iterator[str]:
        options: dict[str, Any] = {}
        if json_schema is not None and self._json_mode:
            schema = {"name": "answer", "schema": dict(json_schema)}
            options["response_format"] = {"type": "json_schema", "json_schema": schema}
        chunks = self._model.stream(_to_langchain(messages, json_schema), **options)
        try:
            yield from islice(filter(None, (str(chunk.text) for chunk in chunks)), max_tokens)
        except Exception as err:  # noqa: BLE001 - every server failure is one line for the user
            if _is_unreachable(err):
                raise BriefQAError(f"cannot reach the LLM server at {self._endpoint}", _START_IT) from None
            said = (str(err).strip().splitlines() or [""])[0][:200]
            raise BriefQAError(f"the LLM server at {self._endpoint} refused the request ({type(err).__name__}: {said})",
                               "check that BRIEFQA_LLM_MODEL names a model the server has (ollama pull NAME), "
                               "or set BRIEFQA_GENERATOR=local") from None


def _to_langchain(messages: Sequence[Message], json_schema: Mapping[str, object] | None) -> list[BaseMessage]:
    converted: list[BaseMessage] = [_ROLES[m.role](content=m.content) for m in messages]
    if json_schema is None:
        return converted
    ask = f"Reply with one JSON object matching this JSON schema, nothing else: {json.dumps(json_schema)}"
    if converted and isinstance(converted[0], SystemMessage):
        return [SystemMessage(content=f"{converted[0].text}\n\n{ask}"), *converted[1:]]
    return [SystemMessage(content=ask), *converted]


def _is_unreachable(err: BaseException | None) -> bool:
    """A socket error (refused, DNS, timeout) anywhere in the chain: every HTTP client wraps one."""
    return err is not None and (isinstance(err, OSError) or _is_unreachable(err.__cause__ or err.__context__))


def build(settings: Settings) -> LangChainGenerator:
    """ChatOllama for ``settings.llm_model`` at ``settings.llm_base_url`` (default: Ollama's own port)."""
    from langchain_ollama import ChatOllama

    url = settings.llm_base_url or None
    model = ChatOllama(model=remote_model(settings), base_url=url, temperature=0)
    return LangChainGenerator(model, endpoint=url or "http://127.0.0.1:11434", json_mode=True)
