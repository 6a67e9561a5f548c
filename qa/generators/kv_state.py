"""The fixed system prompt's KV state, saved once in the model dir and loaded by each new process.

Evaluating the ~420-token system prompt costs seconds on 2 cores; loading its saved state takes
milliseconds. A state file is keyed by everything that changes the bytes: the model's sha256, the
prompt's hash, llama-cpp-python's version, the build's CPU features and the context settings, so a
state from another model, prompt or build is never loaded. A file that fails to load is deleted and
the prompt evaluated again.

Example (needs the local model)::

    prime_system(llama, SYSTEM, SavedStates(model_dir / "kv", EXPECTED_SHA256))   # 'loaded' or 'evaluated'
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llama_cpp import Llama

_MAGIC = b"BQKV1\n"


@dataclass(frozen=True)
class SavedStates:
    """Where states are kept, and the sha256 of the model they belong to."""

    folder: Path
    model_sha256: str


def prime_system(llama: Llama, system: str, states: SavedStates | None) -> str:
    """Leave ``llama`` holding exactly the KV state of the chat-formatted ``system`` prefix.

    The prefix is the first ``len(tokenize(system))`` tokens of a chat prompt (what
    ``LlamaCppGenerator`` reuses between questions). Returns "loaded" or "evaluated".
    """
    fixed = len(llama.tokenize(system.encode(), add_bos=False))

    def evaluate() -> None:
        list(llama.create_chat_completion(  # the same formatting path a question takes
            messages=[{"role": "system", "content": system}, {"role": "user", "content": "."}], max_tokens=1, temperature=0.0))

    return _prime(llama, system, fixed, states, evaluate)


def prime_prefix(llama: Llama, prefix: str, states: SavedStates | None) -> str:
    """Leave ``llama`` holding exactly the KV state of the raw text ``prefix`` (special tokens parsed), e.g.
    the support judge's fixed instructions. Returns "loaded" or "evaluated"."""
    tokens = llama.tokenize(prefix.encode(), add_bos=False, special=True)
    return _prime(llama, "raw\n" + prefix, len(tokens), states, lambda: llama.eval(tokens))


def _prime(llama: Llama, text: str, fixed: int, states: SavedStates | None, evaluate: Callable[[], None]) -> str:
    path = states.folder / f"{_key(llama, text, fixed, states.model_sha256)}.kv" if states else None
    if path is not None and path.exists():
        try:
            _load(llama, path, fixed)
            return "loaded"
        except (OSError, ValueError, RuntimeError):
            path.unlink(missing_ok=True)
    llama.reset()
    evaluate()
    llama.n_tokens = fixed
    llama._ctx.kv_cache_seq_rm(-1, fixed, -1)
    if path is not None:
        _save(llama, path, fixed)
    return "evaluated"


def _key(llama: Llama, system: str, fixed: int, model_sha256: str) -> str:
    import llama_cpp

    parts = [model_sha256, hashlib.sha256(system.encode()).hexdigest(), llama_cpp.__version__,
             llama_cpp.llama_print_system_info().decode(), str(llama.n_ctx()), str(llama.context_params.n_batch),
             str(llama._logits_all), str(fixed)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def snapshot(llama: Llama) -> bytes:
    """The KV state of ``llama``'s current ``n_tokens`` tokens, with those token ids (``restore`` takes it back)."""
    import llama_cpp

    size = llama_cpp.llama_state_get_size(llama._ctx.ctx)
    buf = (llama_cpp.ctypes.c_uint8 * size)()
    n = llama_cpp.llama_state_get_data(llama._ctx.ctx, buf, size)
    fixed = llama.n_tokens
    return _MAGIC + fixed.to_bytes(4, "little") + llama.input_ids[:fixed].astype("<i4").tobytes() + bytes(buf)[:n]


def tokens_in(data: bytes) -> int:
    """How many tokens a ``snapshot`` holds."""
    return int.from_bytes(data[len(_MAGIC) : len(_MAGIC) + 4], "little")


def restore(llama: Llama, data: bytes, fixed: int | None = None) -> None:
    """Put back a ``snapshot`` (ValueError / RuntimeError when it is not one, or not of ``fixed`` tokens)."""
    import llama_cpp
    import numpy as np

    head = len(_MAGIC) + 4
    n = tokens_in(data)
    if not data.startswith(_MAGIC) or (fixed is not None and n != fixed):
        raise ValueError("not a state file for this prompt")
    ids = np.frombuffer(data[head : head + 4 * n], dtype="<i4")
    state = data[head + 4 * n :]
    buf = (llama_cpp.ctypes.c_uint8 * len(state)).from_buffer_copy(state)
    llama.reset()
    if llama_cpp.llama_state_set_data(llama._ctx.ctx, buf, len(state)) != len(state):
        raise RuntimeError("llama.cpp refused the saved state")
    llama.input_ids[:n] = ids
    llama.n_tokens = n


def _save(llama: Llama, path: Path, fixed: int) -> None:
    """Write the state atomically (temp file + rename); a full disk only costs the saving."""
    assert llama.n_tokens == fixed
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(snapshot(llama))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def _load(llama: Llama, path: Path, fixed: int) -> None:
    restore(llama, path.read_bytes(), fixed)
