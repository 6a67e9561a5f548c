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
    path = states.folder / f"{_key(llama, system, fixed, states.model_sha256)}.kv" if states else None
    if path is not None and path.exists():
        try:
            _load(llama, path, fixed)
            return "loaded"
        except (OSError, ValueError, RuntimeError):
            path.unlink(missing_ok=True)
    llama.reset()
    list(llama.create_chat_completion(  # the same formatting path a question takes
        messages=[{"role": "system", "content": system}, {"role": "user", "content": "."}], max_tokens=1, temperature=0.0))
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


def _save(llama: Llama, path: Path, fixed: int) -> None:
    """Write the state atomically (temp file + rename); a full disk only costs the saving."""
    import llama_cpp

    size = llama_cpp.llama_state_get_size(llama._ctx.ctx)
    buf = (llama_cpp.ctypes.c_uint8 * size)()
    n = llama_cpp.llama_state_get_data(llama._ctx.ctx, buf, size)
    ids = llama.input_ids[:fixed].astype("<i4").tobytes()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(_MAGIC + fixed.to_bytes(4, "little") + ids + bytes(buf)[:n])
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def _load(llama: Llama, path: Path, fixed: int) -> None:
    import llama_cpp
    import numpy as np

    data = path.read_bytes()
    head = len(_MAGIC) + 4
    if not data.startswith(_MAGIC) or int.from_bytes(data[len(_MAGIC) : head], "little") != fixed:
        raise ValueError("not a state file for this prompt")
    ids = np.frombuffer(data[head : head + 4 * fixed], dtype="<i4")
    state = data[head + 4 * fixed :]
    buf = (llama_cpp.ctypes.c_uint8 * len(state)).from_buffer_copy(state)
    llama.reset()
    if llama_cpp.llama_state_set_data(llama._ctx.ctx, buf, len(state)) != len(state):
        raise RuntimeError("llama.cpp refused the saved state")
    llama.input_ids[:fixed] = ids
    llama.n_tokens = fixed
