"""The ``openai`` backend against a fake OpenAI-compatible server on loopback: response_format
negotiation (json_schema → json_object → text), rejected requests, dropped and hung streams, and a
whole answer through it with verified quotes; every failure one BriefQAError line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from core.errors import BriefQAError
from core.settings import Settings
from qa.generators import Message, make_generator, openai_compat
from qa.generators.openai_compat import OpenAICompatGenerator, negotiated
from qa.prompt import SCHEMA as ANSWER_SCHEMA, parse_draft
from qa.service import open_assistant, open_indexer
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
# what llama-cpp-python's server (0.3.x) answers to {"type": "json_schema"}: its pydantic error, as a 500
LLAMA_CPP_500 = {"error": {"message": "1 validation error:\n  {'type': 'literal_error', "
                           "'loc': ('body', 'response_format', 'type'), "
                           "'msg': \"Input should be 'text' or 'json_object'\"}\n\n  File \"app.py\", line 376",
                           "type": "internal_server_error", "param": None, "code": None}}  # fmt: skip
LM_STUDIO_400 = {"error": "'response_format.type' must be 'json_schema' or 'text'"}


@dataclass
class Script:
    """What the fake server does with each POST: the formats it rejects (and how), then the reply."""

    rejects: dict[str, tuple[int, object]] = field(default_factory=dict)  # format name -> (status, body)
    pieces: tuple[str, ...] = ('{"answer": ', '"no"}')
    status: tuple[int, object] | None = None  # reject every request like this
    cut_after: int | None = None  # close the connection after this many pieces, no finish_reason, no [DONE]
    chunked: bool = True  # HTTP/1.1 chunked (a cut is an incomplete body) or HTTP/1.0 (a cut is a clean close)
    error_event: bool = False  # an {"error": ...} event after the pieces
    hang: threading.Event | None = None  # wait on this before answering
    content_type: str = "text/event-stream"
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def formats(self) -> list[str]:
        return [(b.get("response_format") or {"type": "text"})["type"] for b in self.bodies]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        script = self.server.script
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        script.bodies.append(body)
        if script.hang is not None:
            script.hang.wait()
        rejected = script.status or script.rejects.get((body.get("response_format") or {"type": "text"})["type"])
        if rejected:
            self._send(rejected[0], "application/json", json.dumps(rejected[1]).encode())
            return
        if not script.content_type.startswith("text/event-stream"):
            self._send(200, script.content_type, "".join(script.pieces).encode())
            return
        self._events(script)

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _events(self, script: Script) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding" if script.chunked else "Connection", "chunked" if script.chunked else "close")
        self.end_headers()
        delta = [{"index": 0, "delta": {"role": "assistant", "content": p}, "finish_reason": None} for p in script.pieces]
        events: list[dict[str, object]] = [{"choices": [d]} for d in delta]
        if script.error_event:
            events.append({"error": {"message": "llama_decode returned -3", "type": "internal_server_error"}})
        events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        lines = [f"data: {json.dumps(e)}\r\n\r\n" for e in events] + ["data: [DONE]\r\n\r\n"]
        if script.cut_after is not None:
            lines = lines[: script.cut_after]
        for line in lines:
            self._write(line.encode(), script.chunked)
        if script.cut_after is None and script.chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.close_connection = script.cut_after is not None or not script.chunked

    def _write(self, data: bytes, chunked: bool) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    script: Script


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``serve(Script(...))`` -> the base URL (…/v1) of a fake OpenAI-compatible server on loopback.

    No format is remembered from an earlier test's server that had the same port."""
    monkeypatch.setattr(openai_compat, "_ACCEPTED", {})
    servers: list[_Server] = []

    def start(script: Script) -> str:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.script = script
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/v1"

    yield start
    for server in servers:
        if server.script.hang is not None:
            server.script.hang.set()
        server.shutdown()
        server.server_close()


def ask(url: str, schema: dict[str, object] | None = SCHEMA, **kwargs: Any) -> list[str]:
    gen = OpenAICompatGenerator(url, "m", **kwargs)
    try:
        return list(gen.stream([Message("system", "Answer."), Message("user", "q")], json_schema=schema, max_tokens=50))
    finally:
        gen.close()


# --- negotiation ---------------------------------------------------------------------------------------


def test_a_server_that_takes_json_schema_gets_it_and_streams_piece_by_piece(serve: Any) -> None:
    script = Script()
    url = serve(script)
    gen = make_generator(Settings(generator="openai", llm_model="m", llm_base_url=url))
    assert isinstance(gen, OpenAICompatGenerator) and gen.name == "openai:m"

    pieces = list(gen.stream([Message("system", "Answer."), Message("user", "q")], json_schema=SCHEMA, max_tokens=50))

    assert pieces == ['{"answer": ', '"no"}']
    body = script.bodies[-1]
    assert body["response_format"] == {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA}}
    assert body["temperature"] == 0 and body["model"] == "m" and body["stream"] is True and body["max_tokens"] == 50
    assert body["messages"][0]["role"] == "system" and json.dumps(SCHEMA) in body["messages"][0]["content"]


def test_llama_cpp_servers_500_falls_back_to_json_object_with_the_schema_and_is_remembered(serve: Any) -> None:
    script = Script(rejects={"json_schema": (500, LLAMA_CPP_500)})
    url = serve(script)

    assert "".join(ask(url)) == '{"answer": "no"}'
    assert script.formats() == ["json_schema", "json_object"]
    assert script.bodies[1]["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert "".join(ask(url)) == '{"answer": "no"}'  # a new generator, same URL: no second try of json_schema
    assert script.formats() == ["json_schema", "json_object", "json_object"] and negotiated(url) == "json_object"


def test_a_server_taking_neither_gets_the_schema_in_the_prompt_and_its_json_is_cut_out(serve: Any) -> None:
    reply = ("Sure! Here it is:\n```json\n", '{"answerable": true, "answer": "No, \\"not allies\\" ',
             '{sic} [S1].", "verdict": "no"}', "\n```\nAnything else?")
    script = Script(rejects={"json_schema": (400, LM_STUDIO_400), "json_object": (422, LM_STUDIO_400)}, pieces=reply)
    url = serve(script)

    raw = "".join(ask(url, ANSWER_SCHEMA))

    assert script.formats() == ["json_schema", "json_object", "text"] and "response_format" not in script.bodies[2]
    assert json.dumps(ANSWER_SCHEMA) in script.bodies[2]["messages"][0]["content"]
    assert raw == '{"answerable": true, "answer": "No, \\"not allies\\" {sic} [S1].", "verdict": "no"}'
    draft = parse_draft(raw)
    assert draft.answerable and draft.answer == 'No, "not allies" {sic} [S1].'


def test_without_a_schema_no_response_format_is_sent_and_the_text_is_kept(serve: Any) -> None:
    script = Script(pieces=("OK", "."))
    assert ask(serve(script), None) == ["OK", "."]
    assert "response_format" not in script.bodies[0]


def test_a_reply_without_any_json_object_is_one_line(serve: Any) -> None:
    rejects = {"json_schema": (500, LLAMA_CPP_500), "json_object": (500, LLAMA_CPP_500)}
    url = serve(Script(rejects=rejects, pieces=("I cannot", " help.")))
    with pytest.raises(BriefQAError, match="replied without a JSON object: 'I cannot help.'"):
        ask(url)


# --- rejected requests, unreachable, hung, dropped -----------------------------------------------------


def test_a_500_that_is_not_about_the_format_is_one_line_and_not_retried(serve: Any) -> None:
    script = Script(status=(500, {"error": {"message": "llama_decode returned -1\n\nTraceback ...", "type": "server_error"}}))
    url = serve(script)

    with pytest.raises(BriefQAError) as err:
        ask(url)

    assert str(err.value) == (f"the LLM server at {url} rejected the request: HTTP 500: llama_decode returned -1. "
                              "Fix: see the server's log and restart it or set BRIEFQA_GENERATOR=local")  # fmt: skip
    assert script.formats() == ["json_schema"]


@pytest.mark.parametrize(
    ("status", "body", "fix"),
    [
        (401, {"error": {"message": "Incorrect API key provided"}}, "BRIEFQA_LLM_API_KEY"),
        (404, {"detail": "Not Found"}, "BRIEFQA_LLM_BASE_URL"),
        (400, {"error": {"message": "This model's maximum context length is 4096 tokens"}}, "context size"),
    ],
)
def test_rejected_requests_name_the_status_the_message_and_a_fix(serve: Any, status: int, body: object, fix: str) -> None:
    with pytest.raises(BriefQAError) as err:
        ask(serve(Script(status=(status, body))))
    assert f"rejected the request: HTTP {status}: " in err.value.cause and fix in err.value.fix
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("chunked", [True, False], ids=["incomplete-chunked-body", "clean-close-without-finish"])
def test_a_stream_dropped_mid_answer_is_one_line_after_the_pieces_already_shown(serve: Any, chunked: bool) -> None:
    url = serve(Script(pieces=('{"answer": ', '"Russia and', " Iran are"), cut_after=2, chunked=chunked))
    gen = OpenAICompatGenerator(url, "m")
    shown: list[str] = []

    with pytest.raises(BriefQAError) as err:
        shown.extend(gen.stream([Message("user", "q")], json_schema=SCHEMA, max_tokens=50))

    assert shown == ['{"answer": ', '"Russia and']
    assert str(err.value).startswith(f"the LLM server at {url} dropped the stream mid-answer (after 22 characters). Fix: ")


def test_an_error_event_mid_stream_is_one_line(serve: Any) -> None:
    with pytest.raises(BriefQAError, match="failed mid-answer: llama_decode returned -3"):
        ask(serve(Script(pieces=('{"answer": "Russia',), error_event=True)))


def test_an_unreachable_server_is_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(BriefQAError) as err:
        ask(url)
    assert str(err.value) == f"cannot reach the LLM server at {url}. Fix: start it or set BRIEFQA_GENERATOR=local"


def test_a_server_that_never_answers_times_out_in_one_line(serve: Any) -> None:
    url = serve(Script(hang=threading.Event()))
    with pytest.raises(BriefQAError, match=r"sent nothing for 0.2 s before answering. Fix: .*BRIEFQA_LLM_TIMEOUT_S"):
        ask(url, timeout_s=0.2)


def test_something_that_is_not_a_chat_completion_is_one_line(serve: Any) -> None:
    with pytest.raises(BriefQAError, match="not a chat completion: '<html>"):
        ask(serve(Script(content_type="text/html", pieces=("<html>hello</html>",))))


def test_a_server_that_does_not_stream_still_answers(serve: Any) -> None:
    message = {"role": "assistant", "content": '{"answer": "no"}'}
    whole = json.dumps({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
    assert "".join(ask(serve(Script(content_type="application/json", pieces=(whole,))))) == '{"answer": "no"}'


# --- a whole answer through the backend, and the CLI ----------------------------------------------------

DRAFT = ('{"answerable": true, "answer": "No: Ryabkov said Russia and Iran are not allies [S1].", "verdict": "no"}',)


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0,
                    generator="openai", llm_model="m", llm_base_url=url)  # fmt: skip


def test_an_answer_through_a_llama_cpp_like_server_streams_and_every_quote_is_verified(serve: Any, tmp_path: Path) -> None:
    pieces = tuple(DRAFT[0][i : i + 7] for i in range(0, len(DRAFT[0]), 7))
    script = Script(rejects={"json_schema": (500, LLAMA_CPP_500)}, pieces=pieces)
    settings = _settings(tmp_path, serve(script))
    open_indexer(settings).add([ROOT / "briefings"])

    items = list(open_assistant(settings).ask_stream("Did Russia call Iran an ally?"))

    partial, answer = items[:-1], items[-1]
    assert len(partial) > 1 and all(isinstance(p, str) for p in partial)
    assert not isinstance(answer, str) and not answer.refused and answer.citations
    assert all(c.verified for c in answer.citations)
    assert script.formats() == ["json_schema", "json_object"]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (Script(status=(500, {"error": {"message": "model crashed"}})), "rejected the request: HTTP 500: model crashed"),
        (Script(pieces=(DRAFT[0][:30], DRAFT[0][30:]), cut_after=1), "dropped the stream mid-answer"),
    ],
    ids=["500", "dropped"],
)
def test_the_cli_prints_one_line_not_a_traceback(serve: Any, tmp_path: Path, script: Script, message: str) -> None:
    settings = _settings(tmp_path, serve(script))
    open_indexer(settings).add([ROOT / "briefings"])
    env = {"BRIEFQA_DATA_DIR": str(settings.data_dir), "BRIEFQA_EMBEDDER": "hash", "BRIEFQA_MIN_EVIDENCE_SCORE": "0.0",
           "BRIEFQA_GENERATOR": "openai", "BRIEFQA_LLM_MODEL": "m", "BRIEFQA_LLM_BASE_URL": settings.llm_base_url}  # fmt: skip
    cmd = [sys.executable, "-c", "from ui.cli import main; main()", "ask", "--json", "Did Russia call Iran an ally?"]

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BRIEFQA_")}, **env}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)

    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: the LLM server at {settings.llm_base_url} {message}")
