"""One settings object for the whole app, overridable from the environment (prefix ``BRIEFQA_``).

>>> s = Settings(data_dir="/tmp/x", embedder="hash")
>>> s.embedder
'hash'

Environment: ``BRIEFQA_DATA_DIR=/srv/briefings briefqa index list``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


class Settings(BaseSettings):
    """Every tunable of briefing-qa. Components take one of these and default to ``Settings()``."""

    model_config = SettingsConfigDict(env_prefix="BRIEFQA_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share") / "briefing-qa")
    model_dir: Path = Field(default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache") / "briefing-qa")

    # indexing
    embedder: Literal["minilm", "minilm-onnx", "minilm-onnx-int8", "hash"] = "minilm-onnx"  # minilm: torch, the reference
    chunk_words: int = 110
    chunk_overlap_sentences: int = 1
    embed_batch_size: int = 32
    bm25_merge_ratio: float = 0.10  # BM25 is rebuilt when chunks added/removed since the last build exceed this share of it

    # retrieval
    top_chunks: int = 8
    max_chunks_per_article: int = 4
    evidence_sentences: int = 8
    min_evidence_score: float = 0.30  # best sentence's cosine below this: refuse without asking the model

    # generation
    generator: Literal["local", "extractive", "openai", "ollama"] = "local"
    llm_model: str = ""  # model name for the openai / ollama backends
    llm_base_url: str = ""  # e.g. http://127.0.0.1:8000/v1 for an OpenAI-compatible server
    llm_api_key: str = "not-needed"
    n_threads: int = 0  # 0: one per core
    n_ctx: int = 4096
    max_answer_tokens: int = 220
    draft_tokens: int = 0  # prompt-lookup speculative decoding: tokens drafted per step from the prompt (0: off)

    # reliability and exposure (docs/reliability.md)
    max_file_mb: float = 10.0  # a larger input file is rejected, not indexed (a briefing is rarely over 1 MB)
    chroma_url: str = ""  # e.g. http://127.0.0.1:8000: a Chroma server (`chroma run`) instead of the embedded store
    chroma_timeout_s: float = 10.0  # every request to the Chroma server; past it, a one-line error
    max_upload_mb: float = 50.0  # per file uploaded through the chat page
    auth: SecretStr = SecretStr("")  # "user:password"; required to serve on a non-loopback address

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def bm25_dir(self) -> Path:
        return self.data_dir / "bm25"
