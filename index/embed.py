"""The ``Embedder`` protocol, a deterministic hash embedder for tests, and the factory.

>>> e = HashEmbedder(dim=64)
>>> v = e.embed(["Russia and Iran", "Russia and Iran"])
>>> v.shape, bool(abs(float(v[0] @ v[1]) - 1.0) < 1e-6)
((2, 64), True)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from core.settings import Settings

_WORD = re.compile(r"\w+")


class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors of a fixed size."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class HashEmbedder:
    """Bag-of-words feature hashing: fast, deterministic, no model. For tests and benchmarks."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.name = f"hash-{dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 63) else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named by ``settings.embedder``: the bundled MiniLM through onnxruntime by default.

    ``minilm-onnx`` gives the vectors of ``minilm`` (torch, the reference) to ~3e-7 at ~1.8x the speed
    and shares its name, so either opens an index built by the other; ``minilm-onnx-int8`` is quantised
    (~3.5x, cosine >= 0.95 to torch) and has a name, hence an index, of its own.
    """
    if settings.embedder == "hash":
        return HashEmbedder()
    if settings.embedder in ("minilm-onnx", "minilm-onnx-int8"):
        from index.onnx_minilm import OnnxMiniLMEmbedder

        quantize = settings.embedder == "minilm-onnx-int8"
        return OnnxMiniLMEmbedder(settings.model_dir, quantize=quantize, batch_size=settings.embed_batch_size)
    from index.minilm import MiniLMEmbedder

    return MiniLMEmbedder(batch_size=settings.embed_batch_size)
