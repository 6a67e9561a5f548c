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

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


class Settings(BaseSettings):
    """Every tunable of briefing-qa. Components take one of these and default to ``Settings()``."""

    model_config = SettingsConfigDict(env_prefix="BRIEFQA_", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share") / "briefing-qa", description="Chroma store + BM25 index"
    )
    model_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache") / "briefing-qa",
        description="the joined, verified GGUF; the exported MiniLM ONNX files",
    )

    # indexing
    embedder: Literal["minilm", "minilm-onnx", "minilm-onnx-int8", "hash"] = Field(
        "minilm-onnx", description="minilm-onnx (onnxruntime), minilm (sentence-transformers/torch, the reference), minilm-onnx-int8, hash (tests)"
    )
    chunk_words: int = Field(110, description="words per chunk, at most")
    chunk_overlap_sentences: int = Field(1, description="sentences a chunk shares with the next")
    embed_batch_size: int = Field(32, description="sentences embedded per batch")
    bm25_merge_ratio: float = Field(
        0.10, description="BM25 is rebuilt when chunks added/removed since the last build exceed this share of it"
    )

    # retrieval
    top_chunks: int = Field(8, description="chunks retrieved per question")
    max_chunks_per_article: int = Field(4, description="chunks of one article, at most, while others are relevant")
    evidence_sentences: int = Field(8, description="evidence sentences shown to the model")
    min_evidence_score: float = Field(0.30, description="best sentence's cosine below this: refuse without asking the model")

    # generation
    generator: str = Field(
        "local", description="local (llama.cpp), extractive (no model), openai, ollama: the names in qa.generators"
    )
    llm_model: str = Field("", description="model name for the openai / ollama backends")
    llm_base_url: str = Field("", description="e.g. http://127.0.0.1:8000/v1 for an OpenAI-compatible server")
    llm_api_key: str = Field("not-needed", description="API key for the openai backend")
    llm_timeout_s: float = Field(
        120.0, description="openai backend: connecting, and each wait for the server's next bytes; past it, a one-line error"
    )
    n_threads: int = Field(0, description="threads of the local model; 0: one per core")
    n_ctx: int = Field(4096, description="context window of the local model, in tokens")
    max_answer_tokens: int = Field(220, description="tokens the model may write per answer")
    model_deadline_s: float = Field(
        300.0, description="local model: each call (an answer, a judge batch) must finish within this; a worker that misses it is killed and replaced"
    )
    draft_tokens: int = Field(0, description="prompt-lookup speculative decoding: tokens drafted per step from the prompt (0: off)")
    judge: Literal["checker", "llm", "off"] = Field(
        "llm", description="who reads every shown quote against its claim: llm (the local model's log-probabilities; "
        "other generators get word rules), checker (our trained cross-encoder, qa/checker.py, any generator; "
        "not yet as accurate: docs/checker.md), off (word rules only, no claim is cut)")
    judge_cut_p: float = Field(
        0.8, description="a claim is cut only when the judge rejects every quote of it at least this surely (and the local "
        "model's own first choice agrees)")
    judge_doubt_p: float = Field(
        0.9, description="below this p(answerable) of the local model, an answer stands only with a quote the judge says "
        "states the answer (rule unsure_model)")
    judge_added_side_p: float = Field(
        0.7, description="yes/no with the checker: every uncited sentence is read for a missing side; one is added at this "
        "p(side) or more")
    answer_order: Literal["llm_first", "quotes_first"] = Field(
        "llm_first", description="quotes_first: the checker chooses the answer's quotes before the model runs, and the model "
        "writes a short summary over those alone (qa/choose.py; shown at once); llm_first: the model reads all the evidence "
        "and cites, the judge checks after")
    quote_min_p: float = Field(
        0.5, description="quotes_first: a sentence is one of the answer's quotes when the checker says it answers (or takes "
        "a side) at least this surely")
    max_quotes: int = Field(4, description="quotes_first: the answer's quotes, at most")
    check_min_p: float = Field(
        0.5, description="briefqa check: a quote is shown for the claim when it supports or contradicts it at least this surely")
    rules_off: str = Field(
        "", description="answer rules switched off, comma-separated names from qa/policy.py (e.g. closest_passage,conflicts); "
        "for the bench and experiments: an answer's trace (ask --explain) names the rules that fired")

    @field_validator("judge", mode="before")
    @classmethod
    def _judge_flag(cls, value: object) -> object:
        """The old boolean values still work: true is the LLM judge, false is off."""
        flags = {"true": "llm", "1": "llm", "false": "off", "0": "off"}
        return flags.get(str(value).lower(), value)

    # reliability and exposure (docs/reliability.md)
    max_file_mb: float = Field(10.0, description="a larger input file is rejected, not indexed")
    chroma_url: str = Field("", description="e.g. http://127.0.0.1:8000: a Chroma server (`chroma run`) instead of the embedded store")
    chroma_timeout_s: float = Field(10.0, description="every request to the Chroma server; past it, a one-line error")
    writer_lease_s: float = Field(
        60.0, description="with a Chroma server: the writer's lease in it lasts this long unless renewed (a killed writer blocks others at most this long)"
    )
    follow_s: float = Field(2.0, description="with a Chroma server: how often each app process checks for committed changes and updates its BM25")
    max_upload_mb: float = Field(50.0, description="per file uploaded through the chat page")
    fetch_allow_private: bool = Field(
        False, description="fetch URLs on private, loopback and link-local addresses too (`--allow-private`; off: refused)"
    )
    fetch_connect_timeout_s: float = Field(5.0, description="connecting to a web server, per URL and redirect")
    fetch_read_timeout_s: float = Field(15.0, description="waiting for the next bytes of a page or feed; past it, the URL fails as a timeout")
    fetch_total_timeout_s: float = Field(60.0, description="the whole download of one page or feed (per redirect hop), however fast bytes trickle")
    fetch_max_mb: float = Field(5.0, description="a larger page or feed is refused (the download stops at the limit)")
    fetch_host_interval_s: float = Field(1.0, description="seconds between two requests to the same host")
    fetch_contact: str = Field("", description="a URL or e-mail address the User-Agent gives site operators to reach you (none by default)")
    auth: SecretStr = Field(SecretStr(""), description='"user:password"; required to serve on a non-loopback address')
    mcp_token: SecretStr = Field(SecretStr(""), description="bearer token MCP clients must send; required to serve --mcp on a non-loopback address")
    mcp_token_file: str = Field("", description="a file holding the MCP bearer token (instead of BRIEFQA_MCP_TOKEN)")

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def bm25_dir(self) -> Path:
        return self.data_dir / "bm25"
