"""The ONNX MiniLM embedder against the torch (sentence-transformers) reference.

The model tests export the bundled MiniLM once per module into a temporary model dir (~5 s) and are
marked slow; they need onnxruntime and onnx (dependencies of the project).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from index.embed import make_embedder
from core.errors import BriefQAError
from index.minilm import MiniLMEmbedder
from index.onnx_minilm import OnnxMiniLMEmbedder
from core.settings import Settings

LONG = " ".join(f"Sentence {i} of a very long briefing about sanctions, oil exports and diplomacy." for i in range(60))
TEXTS = [
    "",
    "Did Russia call Iran an ally?",
    "Who is Sergei Ryabkov?",
    LONG,  # > 256 tokens: truncated like sentence-transformers does
    "“Russia and Iran are not allies in Syria,” he said — a ‘denial’.",
    'He said, "No. Never." Then he left.',
    "Zürich, São Paulo, Kraków and Malmö signed the accord.",
    "Путин и Рохани встретились в Тегеране.",
    "伊朗和俄罗斯不是盟友。",
    "Emoji aside 🙂, the talks resumed on 25 January.",
    "S-300",
    "Israel struck Iranian targets in Syria on Sunday night.",
    "The ambassador said the weakening of the Iran-Russia alliance is a myth.",
    "   leading and trailing spaces   ",
    "line one\nline two\ttabbed",
    "12,345.67 barrels per day, up 3.5% year on year",
    "Mr. Smith (of the U.S.) visited Tehran on Jan. 5.",
    "a " * 300,
    "The Kremlin declined to comment.",
    "Yes.",
]
pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return MiniLMEmbedder().embed(TEXTS)


@pytest.fixture(scope="module")
def fp32(model_dir: Path) -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder(model_dir, batch_size=8)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


@pytest.mark.slow
def test_fp32_matches_torch_and_shares_its_name(fp32: OnnxMiniLMEmbedder, reference: np.ndarray) -> None:
    vectors = fp32.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert float(np.abs(vectors - reference).max()) <= 1e-5
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert fp32.name == MiniLMEmbedder.name == "all-MiniLM-L6-v2" and fp32.dim == MiniLMEmbedder.dim


@pytest.mark.slow
def test_order_is_kept_whatever_the_batching(fp32: OnnxMiniLMEmbedder, reference: np.ndarray) -> None:
    order = [3, 0, 17, 10, 1, 19, 5, 4]  # long, empty, long, short...: sorted into other batches
    alone = np.stack([fp32.embed([TEXTS[i]])[0] for i in order])
    together = fp32.embed([TEXTS[i] for i in order])
    assert float(np.abs(together - alone).max()) <= 1e-5
    assert float(np.abs(together - reference[order]).max()) <= 1e-5
    assert fp32.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_export_is_cached_and_redone_when_the_source_changes(fp32: OnnxMiniLMEmbedder, model_dir: Path) -> None:
    fp32.embed(["warm"])
    path = model_dir / "minilm-onnx" / "model.onnx"
    assert fp32.model_path == path and path.is_file()
    before = path.stat().st_mtime_ns
    again = OnnxMiniLMEmbedder(model_dir)
    again.embed(["warm"])
    assert path.stat().st_mtime_ns == before  # loaded, not exported again
    assert not list(path.parent.glob(".*.tmp"))  # no temp file left behind
    path.with_name("model.onnx.key").write_text("stale\n")  # as if the model package had changed
    OnnxMiniLMEmbedder(model_dir).embed(["warm"])
    assert path.stat().st_mtime_ns != before


@pytest.mark.slow
def test_int8_is_close_with_its_own_name(fp32: OnnxMiniLMEmbedder, model_dir: Path, reference: np.ndarray) -> None:
    int8 = OnnxMiniLMEmbedder(model_dir, quantize=True)
    vectors = int8.embed(TEXTS)
    assert int8.name == "all-MiniLM-L6-v2-int8" != fp32.name
    assert int8.model_path.name == "model.int8.onnx" and int8.model_path.is_file()
    cos = cosines(vectors, reference)
    assert float(np.median(cos)) >= 0.98 and float(cos.min()) >= 0.95, cos
    words = np.array([len(t.split()) >= 3 for t in TEXTS])
    assert float(cos[words].min()) >= 0.98, cos  # 1-2 word texts lose most to per-tensor activation scales


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    onnx = make_embedder(Settings(data_dir=tmp_path, model_dir=tmp_path, embedder="minilm-onnx", embed_batch_size=4))
    int8 = make_embedder(Settings(data_dir=tmp_path, model_dir=tmp_path, embedder="minilm-onnx-int8"))
    assert isinstance(onnx, OnnxMiniLMEmbedder) and not onnx.quantize and onnx.batch_size == 4
    assert isinstance(int8, OnnxMiniLMEmbedder) and int8.quantize
    assert onnx.name == make_embedder(Settings(data_dir=tmp_path, embedder="minilm")).name
    assert not (tmp_path / "minilm-onnx").exists()  # nothing is exported before the first embed


def test_missing_onnxruntime_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(BriefQAError) as err:
        make_embedder(Settings(data_dir=tmp_path, model_dir=tmp_path, embedder="minilm-onnx"))
    assert "onnxruntime" in err.value.cause and "BRIEFQA_EMBEDDER=minilm" in err.value.fix
