"""Any OpenAI-compatible chat server (OpenAI, vLLM, llama-cpp-python's server, LM Studio, Ollama's /v1)
as a ``Generator``: ``POST {base}/chat/completions`` with ``stream: true``, read as server-sent events.

Servers differ in the ``response_format`` they take, so it is negotiated: ``json_schema`` first; a
400/422/500 whose body names the response format steps down to ``json_object`` with the schema beside
it (llama-cpp-python's server turns that ``schema`` into a grammar), then to no ``response_format`` at
all. The schema is in the system message every time, and the reply is cut to its one JSON object
(code fences and prose around it dropped), which ``qa.prompt.parse_draft`` then reads strictly. The
format a base URL took is remembered for the process. Every failure is one ``BriefQAError`` line.

>>> [f.name for f in FORMATS]
['json_schema', 'json_object', 'text']
>>> FORMATS[1].body({"type": "object"})
{'type': 'json_object', 'schema': {'type': 'object'}}
>>> "".join(json_only(['Sure! ```json\\n{"answer": "a } b"', '} ``` hope this helps']))
'{"answer": "a } b"}'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import httpx

from core.errors import BriefQAError
from core.settings import Settings
from qa.generators.base import Message, remote_model

_LOCAL = "or set BRIEFQA_GENERATOR=local"
_NAMES_FORMAT = re.compile(r"response_format|json_schema|json_object", re.I)
_NEGOTIABLE = {400, 422, 500}


@dataclass(frozen=True)
class ResponseFormat:
    """One way of asking a server for JSON: ``body`` is the request's ``response_format`` (None: none sent)."""

    name: str

    def body(self, schema: Mapping[str, object]) -> dict[str, object] | None:
        if self.name == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "answer", "schema": dict(schema)}}
        if self.name == "json_object":
            return {"type": "json_object", "schema": dict(schema)}
        return None


FORMATS = (ResponseFormat("json_schema"), ResponseFormat("json_object"), ResponseFormat("text"))
_ACCEPTED: dict[str, int] = {}  # base URL -> index in FORMATS of the format that server took, for this process


def negotiated(base_url: str) -> str | None:
    """The name of the response format the server at ``base_url`` took in this process (None: not asked yet)."""
    index = _ACCEPTED.get(base_url.rstrip("/"))
    return None if index is None else FORMATS[index].name


class _StreamCut(Exception):
    """The event stream ended before the server said the answer was finished."""


class OpenAICompatGenerator:
    """Streams a chat completion from the server at ``base_url`` (ending in ``/v1``).

    ``timeout_s`` bounds the connection and every wait for the next bytes.
    """

    supports_logprobs = False  # no label log-probabilities: no LLM support judge (word rules, or the checker)
    supports_schema = True  # asked of the server (json_schema, then json_object, then the prompt: negotiated)

    def __init__(self, base_url: str, model: str, *, api_key: str = "", timeout_s: float = 120.0) -> None:
        self.name = f"openai:{model}"
        self.base_url = base_url.rstrip("/")
        self._model = model
        self._timeout_s = timeout_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def stream(
        self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None, max_tokens: int
    ) -> Iterator[str]:
        """The completion's text pieces as they arrive; with ``json_schema``, only its JSON object."""
        body = {"model": self._model, "messages": _with_schema(messages, json_schema), "stream": True,
                "max_tokens": max_tokens, "temperature": 0}  # fmt: skip
        received = 0
        try:
            with closing(self._negotiated(body, json_schema)) as pieces:
                for piece in json_only(pieces) if json_schema is not None else pieces:
                    received += len(piece)
                    yield piece
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise BriefQAError(f"cannot reach the LLM server at {self.base_url}", f"start it {_LOCAL}") from None
        except httpx.TimeoutException:
            where = "mid-answer" if received else "before answering"
            raise BriefQAError(f"the LLM server at {self.base_url} sent nothing for {self._timeout_s:g} s {where}",
                               f"check the server is running and not overloaded, raise BRIEFQA_LLM_TIMEOUT_S, {_LOCAL}") from None
        except (httpx.TransportError, _StreamCut):
            raise BriefQAError(f"the LLM server at {self.base_url} dropped the stream mid-answer (after {received} characters)",
                               f"see the server's log (a crash or out of memory?) and ask again, {_LOCAL}") from None

    def close(self) -> None:
        self._client.close()

    def _negotiated(self, body: dict[str, object], schema: Mapping[str, object] | None) -> Iterator[str]:
        """Send ``body`` with the best response format this server takes; yield the reply's text."""
        first = _ACCEPTED.get(self.base_url, 0) if schema is not None else len(FORMATS) - 1
        for index in range(first, len(FORMATS)):
            response_format = FORMATS[index].body(schema) if schema is not None else None
            request = {**body, "response_format": response_format} if response_format else body
            with self._client.stream("POST", "/chat/completions", json=request) as response:
                if response.status_code >= 400:
                    text = response.read().decode("utf-8", "replace")
                    if response.status_code in _NEGOTIABLE and response_format and _NAMES_FORMAT.search(text):
                        continue
                    raise _rejected(self.base_url, response.status_code, text)
                if schema is not None:
                    _ACCEPTED[self.base_url] = index
                yield from _texts(response, self.base_url)
                return


def _texts(response: httpx.Response, base_url: str) -> Iterator[str]:
    """The content deltas of an event stream (or the message of a server that answered in one piece)."""
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        reply = _parsed(response.read().decode("utf-8", "replace"), base_url)
        yield from (str((c.get("message") or {}).get("content") or "") for c in reply.get("choices") or [])
        return
    finished = False
    for line in response.iter_lines():
        data = line.removeprefix("data:").strip()
        if not line.startswith("data:") or not data:
            continue
        if data == "[DONE]":
            return
        event = _parsed(data, base_url)
        if "error" in event:
            raise BriefQAError(f"the LLM server at {base_url} failed mid-answer: {_message(data)}",
                               f"see the server's log and ask again, {_LOCAL}")  # fmt: skip
        for choice in event.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if content:
                yield str(content)
            finished = finished or bool(choice.get("finish_reason"))
    if not finished:
        raise _StreamCut


def _parsed(data: str, base_url: str) -> dict[str, Any]:
    """``data`` as a JSON object holding ``choices`` (a list) or ``error``; else a BriefQAError: no chat completion."""
    try:
        event: Any = json.loads(data)
    except ValueError:
        event = None
    if isinstance(event, dict) and ("error" in event or isinstance(event.get("choices"), list)):
        return event
    raise BriefQAError(f"the LLM server at {base_url} sent something that is not a chat completion: {data[:80]!r}",
                       "point BRIEFQA_LLM_BASE_URL at an OpenAI-compatible API (it usually ends in /v1)")


def json_only(pieces: Iterator[str] | Sequence[str]) -> Iterator[str]:
    """The part of a streamed reply from its first ``{`` to the brace that closes it (strings respected)."""
    depth, in_string, escaped, seen = 0, False, False, ""
    for piece in pieces:
        start = 0 if depth else piece.find("{")
        if start < 0:
            seen += piece
            continue
        for end in range(start, len(piece)):
            ch = piece[end]
            if in_string:
                escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
            elif ch == '"':
                in_string = True
            elif ch in "{}":
                depth += 1 if ch == "{" else -1
                if depth == 0:
                    yield piece[start : end + 1]
                    return
        yield piece[start:]
    if not depth and seen.strip():
        raise BriefQAError(f"the LLM server's model replied without a JSON object: {' '.join(seen.split())[:120]!r}",
                           f"use an instruction-following model in BRIEFQA_LLM_MODEL {_LOCAL}")  # fmt: skip


def _with_schema(messages: Sequence[Message], schema: Mapping[str, object] | None) -> list[dict[str, str]]:
    """The chat as the API takes it, the schema asked for at the end of the system message."""
    chat = [{"role": m.role, "content": m.content} for m in messages]
    if schema is None:
        return chat
    ask = f"Reply with one JSON object matching this JSON schema, nothing else: {json.dumps(schema)}"
    if chat and chat[0]["role"] == "system":
        return [{"role": "system", "content": f"{chat[0]['content']}\n\n{ask}"}, *chat[1:]]
    return [{"role": "system", "content": ask}, *chat]


def _rejected(base_url: str, status: int, text: str) -> BriefQAError:
    if status in (401, 403):
        fix = "set BRIEFQA_LLM_API_KEY to a key this server accepts"
    elif status == 404:
        fix = f"check BRIEFQA_LLM_BASE_URL (it usually ends in /v1) and BRIEFQA_LLM_MODEL ({base_url}/models lists the names)"
    elif status == 429:
        fix = "the server is rate-limiting: wait and ask again"
    elif status < 500:
        fix = f"change what the message names (the model name, the server's context size) {_LOCAL}"
    else:
        fix = f"see the server's log and restart it {_LOCAL}"
    return BriefQAError(f"the LLM server at {base_url} rejected the request: HTTP {status}: {_message(text)}", fix)


def _message(text: str) -> str:
    """The error message of an OpenAI-style error body (or the body itself), as one short line."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = text
    if isinstance(data, dict):
        inner = data.get("error", data.get("detail", data.get("message", data)))
        data = inner.get("message", inner) if isinstance(inner, dict) else inner
    first = str(data).split("\n\n")[0]
    return " ".join(first.split())[:200] or "(no message)"


def build(settings: Settings) -> OpenAICompatGenerator:
    """The generator for ``settings.llm_base_url`` (default: OpenAI's own API) and ``settings.llm_model``."""
    url = settings.llm_base_url or "https://api.openai.com/v1"
    return OpenAICompatGenerator(url, remote_model(settings), api_key=settings.llm_api_key, timeout_s=settings.llm_timeout_s)
