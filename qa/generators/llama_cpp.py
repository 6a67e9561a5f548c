"""The local GGUF model through llama-cpp-python (``generator="local"``)."""

from __future__ import annotations

import collections.abc as abc
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from core.errors import BriefQAError
from core.settings import Settings
from qa.generators.base import Generator, Message
from qa.generators.kv_state import SavedStates, prime_prefix, prime_system, restore, snapshot, tokens_in
from qa.model_files import EXPECTED_SHA256, MODEL_FILENAME, local_model_path

if TYPE_CHECKING:
    from llama_cpp import Llama


class LlamaCppGenerator:
    """The local GGUF model through llama-cpp-python: greedy, loaded on first use, one call at a time.

    The lock is held while a stream is being consumed, so finish (or ``close()``) one stream before
    starting another from the same thread. llama.cpp keeps the KV cache of the previous prompt and
    re-evaluates only the tokens after the longest shared prefix: put fixed text first. The reuse
    is capped at the system message, so an answer does not depend on which question came before
    (a longer accidental overlap shifts llama.cpp's batches, and greedy decoding can flip).
    """

    supports_logprobs = True  # logprobs_many / reply_logprobs: the support judge and p(answerable)
    supports_schema = True  # json_schema constrains decoding (llama.cpp grammar)

    def __init__(
        self, model_path: Path, *, n_threads: int, n_ctx: int, draft_tokens: int = 0, system: str = "", states: SavedStates | None = None
    ) -> None:
        self.name = f"local:{model_path.stem}"
        self._model_path = model_path
        self._n_threads = n_threads
        self._n_ctx = n_ctx
        self._draft_tokens = draft_tokens  # prompt-lookup speculative decoding: tokens drafted per step (0: off)
        self._system = system  # the fixed system prompt ``prime`` evaluates (or loads) ahead of the first question
        self._states = states
        self._llama: Llama | None = None
        self._lock = threading.Lock()
        self._held: dict[str, bytes] = {}  # KV snapshots of fixed prefixes: "system", and the judge's prefix
        self._current = ""  # which of them the context holds now ("" none)

    def stream(
        self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None, max_tokens: int
    ) -> Iterator[str]:
        with self._lock, closing(self._start(messages, json_schema, max_tokens)) as chunks:
            try:
                for chunk in chunks:
                    if text := chunk["choices"][0]["delta"].get("content"):
                        yield str(text)
            except ValueError as err:  # llama.cpp's only complaint a user can fix
                if "context window" not in str(err):
                    raise
                raise BriefQAError(
                    f"the prompt is too long for the model ({err})",
                    "raise BRIEFQA_N_CTX (e.g. 8192) or lower BRIEFQA_EVIDENCE_SENTENCES",
                ) from None

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's vocabulary (benchmarks compare prompt sizes)."""
        return len(self._model().tokenize(text.encode(), add_bos=False))

    def _start(
        self, messages: Sequence[Message], json_schema: Mapping[str, object] | None, max_tokens: int
    ) -> abc.Generator[Mapping[str, Any], None, None]:
        response_format = None if json_schema is None else {"type": "json_object", "schema": dict(json_schema)}
        llama = self._model()
        system = "".join(m.content for m in messages if m.role == "system")
        if system and system == self._system:
            self._hold("system", lambda: prime_system(llama, system, self._states))
        fixed = len(llama.tokenize(system.encode(), add_bos=False)) if system else 0
        llama.n_tokens = min(llama.n_tokens, fixed)  # reuse the cached system prompt, nothing after it
        chunks = llama.create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in messages],  # type: ignore[misc]
            response_format=response_format,  # type: ignore[arg-type]
            temperature=0.0,
            max_tokens=max_tokens,
            stream=True,
        )
        return cast("abc.Generator[Mapping[str, Any], None, None]", chunks)

    def prime(self) -> None:
        """Load the model and the system prompt's KV state (saved by ``qa.generators.kv_state``, else evaluated and saved)."""
        if self._system:
            with self._lock:
                llama = self._model()
                self._hold("system", lambda: prime_system(llama, self._system, self._states))

    def logprobs_many(self, prefix: str, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[float]]:
        """For each ``(text, labels)``: the log-probability (whole vocabulary) of each label's first token right
        after ``prefix + text`` — one forward pass over ``text``; ``prefix`` is loaded or evaluated once and kept.

        The labels' first tokens must differ (``qa.judge`` picks such labels)."""
        with self._lock:
            llama = self._model()
            fixed = self._hold(f"prefix:{prefix}", lambda: prime_prefix(llama, prefix, self._states))
            out = []
            for text, labels in items:
                llama.n_tokens = fixed  # eval() drops whatever followed the prefix from the KV cache
                llama.eval(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))
                logp = _next_logprobs(llama)
                out.append([float(logp[i]) for i in _first_tokens(llama, labels)])
            llama.n_tokens = fixed
            return out

    def reply_logprobs(self, marker: str, labels: Sequence[str]) -> list[float] | None:
        """For the last ``stream``'s reply: the log-probability of each label (with or without a leading space)
        as the next token right after the reply's first ``marker`` — what the model thought of the value it
        wrote there (``'"answerable":'``, ``["true", "false"]``); one token re-evaluated. ``None`` when the
        reply has no ``marker`` or the context moved on (call it right after the stream)."""
        with self._lock:
            llama = self._model()
            if self._current != "system":
                return None
            turn = llama.tokenize(b"<|im_start|>", add_bos=False, special=True)
            context = [int(t) for t in llama.input_ids[: llama.n_tokens]]
            starts = [i for i, t in enumerate(context) if t == turn[0]] if len(turn) == 1 else []
            if not starts:
                return None
            start = starts[-1] + 1  # the reply's turn: "assistant\n{...", the last in the context
            ids = context[start:]
            text = b""
            for k, token in enumerate(ids):
                text += llama.detokenize([token])
                if text.decode("utf-8", "ignore").rstrip().endswith(marker):
                    break
            else:
                return None
            llama.n_tokens = start + k
            llama.eval([token])  # the logits after the marker again
            logp = _next_logprobs(llama)
            return [float(np.logaddexp.reduce([logp[i] for i in _label_tokens(llama, label)])) for label in labels]

    def _hold(self, key: str, prime: Callable[[], object]) -> int:
        """Make the context hold the prefix ``key`` (a kept snapshot, else ``prime()``); its token count."""
        llama = self._model()
        if self._current != key:
            if key in self._held:
                restore(llama, self._held[key])
            else:
                prime()
                self._held[key] = snapshot(llama)
            self._current = key
        llama.n_tokens = tokens_in(self._held[key])
        return llama.n_tokens

    def _model(self) -> Llama:
        if self._llama is None:
            llama_cpp = import_llama_cpp()
            draft = None
            if self._draft_tokens:
                from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

                draft = LlamaPromptLookupDecoding(num_pred_tokens=self._draft_tokens)
            try:
                self._llama = llama_cpp.Llama(
                    model_path=str(self._model_path),
                    n_ctx=self._n_ctx,
                    n_threads=self._n_threads,
                    n_batch=512,
                    draft_model=draft,
                    logits_all=draft is not None,  # llama-cpp-python 0.3.36 needs it with a draft model
                    verbose=False,
                )
            except ValueError as err:
                raise BriefQAError(
                    f"cannot load the model {self._model_path}: {err}",
                    "delete the file so it is rebuilt from the parts, or set BRIEFQA_GENERATOR=extractive",
                ) from None
        return self._llama


def _first_tokens(llama: Llama, labels: Sequence[str]) -> list[int]:
    ids = [llama.tokenize(label.encode("utf-8"), add_bos=False, special=False)[0] for label in labels]
    if len(set(ids)) != len(ids):
        raise ValueError(f"labels {list(labels)} share a first token: {ids}")
    return ids


def _next_logprobs(llama: Llama) -> np.ndarray:
    """The log-probabilities (whole vocabulary) of the token after the last one evaluated."""
    logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).astype(np.float64)
    return logits - float(np.logaddexp.reduce(logits))


def _label_tokens(llama: Llama, label: str) -> set[int]:
    """The first token of ``label`` and of `` label``: how the value may start after a JSON key."""
    return {llama.tokenize(form.encode("utf-8"), add_bos=False, special=False)[0] for form in (label, f" {label}")}


def import_llama_cpp() -> ModuleType:
    """``llama_cpp``, or a BriefQAError saying how to install it."""
    try:
        import llama_cpp
    except ImportError:
        raise BriefQAError(
            "llama-cpp-python is not installed (needed by BRIEFQA_GENERATOR=local)",
            "pip install llama-cpp-python==0.3.36 (compiles, ~6 min) or set BRIEFQA_GENERATOR=extractive",
        ) from None
    return llama_cpp


def build(settings: Settings) -> Generator:
    """The bundled model that ``settings`` point to, run in a worker process (``qa.generators.worker``),
    started here so that it loads while the caller loads the embedder and the index."""
    import_llama_cpp()  # fail before starting a worker that would fail
    from qa.generators.worker import WorkerGenerator

    return WorkerGenerator("qa.generators.llama_cpp:local_engine", settings, name=f"local:{Path(MODEL_FILENAME).stem}")


def local_engine(settings: Settings) -> LlamaCppGenerator:
    """The local model as ``qa.generators.worker`` runs it: verified file, fixed system prompt primed from saved state."""
    from qa.prompt import SYSTEM

    return LlamaCppGenerator(
        local_model_path(settings),
        n_threads=settings.n_threads or os.cpu_count() or 1,
        n_ctx=settings.n_ctx,
        draft_tokens=settings.draft_tokens,
        system=SYSTEM,
        states=SavedStates(settings.model_dir / "kv", EXPECTED_SHA256),
    )
