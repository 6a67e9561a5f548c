"""Our own checker: a MiniLM-L6 cross-encoder trained here (``train/``) that judges a quote in milliseconds.

One input format for three tasks (``pair_text``): the task name, the question, the claim (if any), then the quote
as the second segment. Each task has three labels (``LABELS``):

- ``answers`` (question, sentence): answers / on_topic (does not answer) / unrelated — ranks evidence;
- ``supports`` (claim, quote; the question as context): supports / contradicts / unrelated;
- ``side`` (yes/no question, quote): yes / no / neither.

The model is an int8 ONNX file shipped in the package (``qa/checker_model/``, with the command, seed and data
hash that made it in ``meta.json``) and run with onnxruntime; the tokenizer is ``tokenizer.json`` beside it.
``CheckerJudge`` plugs it into ``qa.judge.Judge`` (same ``Judgement`` records, same code vetoes: a number the
quote never states, a name the article never gives), so the verifier works with any generator.

Example (loads in well under a second; ~5 ms a pair in a batch of 8 on 2 cores)::

    checker = Checker.load()
    checker.probs([("side", "Did Russia call Iran an ally?", "", "Russia and Iran are not allies, Ryabkov said.")])
    # array([[0.02, 0.95, 0.03]], dtype=float32)   yes / no / neither

>>> pair_text("supports", "When did Raskin join Apple?", "Raskin joined Apple in 1978.")
'supports: When did Raskin join Apple? | Raskin joined Apple in 1978.'
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from core.errors import BriefQAError
from qa.judge import DEFAULT_CALIBRATION, LABELS, SIDES, Calibration, Judge
from qa.stance import is_yes_no

Task = Literal["answers", "supports", "side"]
TASKS: tuple[Task, ...] = ("answers", "supports", "side")
LABEL_NAMES: dict[Task, tuple[str, str, str]] = {
    "answers": ("answers", "on_topic", "unrelated"),
    "supports": LABELS,  # type: ignore[dict-item]
    "side": SIDES,  # type: ignore[dict-item]
}
MODEL_DIR = Path(__file__).with_name("checker_model")
MODEL_FILE = "checker.int8.onnx"
CALIBRATION_FILE = "calibration.json"
MAX_LENGTH = 160  # tokens of (task, question, claim) + quote; longer quotes are cut from their end


def pair_text(task: Task, question: str, claim: str = "") -> str:
    """The first segment of a checker input; the quote is the second."""
    text = f"{task}: {question.strip()}".rstrip()
    return f"{text} | {claim.strip()}" if claim.strip() else text


@dataclass(frozen=True)
class Row:
    """One pair to judge."""

    task: Task
    question: str
    claim: str
    quote: str


class Checker:
    """The cross-encoder through onnxruntime; thread-safe, loaded once (``Checker.load``)."""

    _cache: dict[Path, Checker] = {}
    _cache_lock = threading.Lock()

    def __init__(self, folder: Path = MODEL_DIR, threads: int = 0) -> None:
        ort, tokenizers = _require("onnxruntime"), _require("tokenizers")
        model = folder / MODEL_FILE
        if not model.is_file():
            raise BriefQAError(f"the checker model {model} is missing", "reinstall briefing-qa (pip install -e .), "
                               "or run python train/train_checker.py, or set BRIEFQA_JUDGE=llm")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_LENGTH, strategy="longest_first")
        self.meta: dict[str, str] = json.loads((folder / "meta.json").read_text(encoding="utf-8")) if (folder / "meta.json").is_file() else {}
        self._lock = threading.Lock()
        self.folder, self._sha256 = folder, ""

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> Checker:
        """The shared instance for ``folder`` (one session per process)."""
        with cls._cache_lock:
            if folder not in cls._cache:
                cls._cache[folder] = cls(folder)
            return cls._cache[folder]

    def probs(self, rows: Sequence[tuple[Task, str, str, str] | Row]) -> np.ndarray:
        """Label probabilities, one row of three per ``(task, question, claim, quote)`` (order of ``LABEL_NAMES``).

        Each row runs alone: the int8 model quantises activations with one scale per tensor, taken over the whole
        batch (and its padding), so in a batch a row's probabilities would depend on its batch-mates (measured on v7:
        up to 0.33 apart, 2 labels of 200 changed); alone they are its own, at the same cost per row."""
        out = np.zeros((len(rows), 3), dtype=np.float32)
        items = [r if isinstance(r, Row) else Row(*r) for r in rows]
        for i, r in enumerate(items):
            e = self._tokenizer.encode(pair_text(r.task, r.question, r.claim), r.quote)
            feeds = {"input_ids": np.array([e.ids], dtype=np.int64), "attention_mask": np.array([e.attention_mask], dtype=np.int64),
                     "token_type_ids": np.array([e.type_ids], dtype=np.int64)}
            with self._lock:
                logits = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
            z = logits[0] - logits[0].max()
            out[i] = np.exp(z) / np.exp(z).sum()
        return out

    def calibration(self) -> Calibration:
        """Per-label biases fitted on the calib split of ``eval/support`` (``bench/checker.py --fit``), used only
        when ``calibration.json`` records the sha256 of this very model file; otherwise none (the raw argmax)."""
        path = self.folder / CALIBRATION_FILE
        if not path.is_file():
            return DEFAULT_CALIBRATION
        fitted = json.loads(path.read_text(encoding="utf-8"))
        if fitted.get("model_sha256") != self.sha256:
            return DEFAULT_CALIBRATION  # fitted on another model: its biases would mislead this one
        return Calibration(support=fitted["support"], side=fitted["side"], answers=fitted.get("answers", {}))

    @property
    def sha256(self) -> str:
        """The model file's sha256 (what a calibration is tied to)."""
        if not self._sha256:
            self._sha256 = hashlib.sha256((self.folder / MODEL_FILE).read_bytes()).hexdigest()
        return self._sha256


class CheckerJudge(Judge):
    """``qa.judge.Judge`` with the checker's probabilities instead of the local model's log-probabilities.

    wh-questions: the ``supports`` task (question, claim, quote); yes/no questions: the ``side`` task
    (question, quote). The code vetoes and the claim-side comparison are the judge's own."""

    cheap = True

    def __init__(self, checker: Checker, calibration: Calibration | None = None, *, vetoes: bool = True) -> None:
        super().__init__(checker, calibration or checker.calibration(), vetoes=vetoes)  # type: ignore[arg-type]
        self.checker = checker

    def answers(self, question: str, sentences: Sequence[str]) -> list[float]:
        """p(the sentence answers the question) for each sentence: the ``answers`` task with its fitted biases."""
        if not sentences:
            return []
        bias = np.array([self.calibration.answers.get(n, 0.0) for n in LABEL_NAMES["answers"]])
        logits = np.log(np.maximum(self.checker.probs([("answers", question, "", s) for s in sentences]), 1e-9)) + bias
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (z[:, 0] / z.sum(axis=1)).tolist()

    def raw_many(self, question: str, shown: Sequence[tuple[str, str, str | None]]) -> list[dict[str, float]]:
        yes_no = is_yes_no(question)
        task: Task = "side" if yes_no else "supports"
        names = SIDES if yes_no else LABELS
        rows = [(task, question, "" if yes_no else claim, quote) for claim, quote, _ in shown]
        probs = self.checker.probs(rows) if rows else np.zeros((0, 3))
        return [{n: math.log(max(float(p), 1e-9)) for n, p in zip(names, row)} for row in probs]


def _require(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise BriefQAError(f"the checker needs the Python package {module!r}, which is not installed",
                           "pip install onnxruntime tokenizers (or ./scripts/setup.sh), or set BRIEFQA_JUDGE=llm") from None
