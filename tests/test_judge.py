"""qa.judge: the scorer protocol, the local engine's prefix reuse (``LlamaCppGenerator.logprobs_many``),
calibration and vetoes (fast, with fakes), plus one slow test with the real local model on clear calib cases."""

from __future__ import annotations

import ctypes
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from qa.judge import (
    LABELS, PREFIX, SIDES, Calibration, Judge, LabelScorer, features, fit_calibration, fit_weights,
    load_calibration,
    read_calibration,
)

ROOT = Path(__file__).resolve().parents[1]


class FakeScorer:
    """Returns fixed log-probs per label (label → value) and records every call."""

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []

    def logprobs_many(self, prefix: str, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[float]]:
        self.calls.extend((prefix, text, tuple(labels)) for text, labels in items)
        return [[self.values[label.strip()] for label in labels] for _, labels in items]


def _fake(**values: float) -> FakeScorer:
    return FakeScorer({k: values.get(k, -5.0) for k in (*LABELS, *SIDES)})


def test_fake_scorer_satisfies_the_protocol_and_prefix_is_fixed() -> None:
    scorer: LabelScorer = _fake(supports=-0.1)
    judge = Judge(scorer)
    judge.judge("Who is building the barrier?", "Dunmore Engineering.", "The barrier, built by Dunmore Engineering, will cost £48 million.")
    judge.judge("Will the barrier open in June?", "", "There is no way this barrier opens in June.")
    (p1, t1, l1), (p2, t2, l2) = scorer.calls  # type: ignore[attr-defined]
    assert p1 == p2 == PREFIX  # one cached prefix for both tasks
    assert l1 == (" supports", " contradicts", " unrelated") and l2 == (" yes", " no", " neither")
    assert "Dunmore Engineering." in t1 and "Answer:" in t1 and "Answer:" not in t2
    assert t1.endswith("<|im_start|>assistant\nLabel:") and "no way this barrier" in t2


def test_wh_label_is_the_argmax_with_probability() -> None:
    j = Judge(_fake(supports=-2.0, contradicts=-0.5, unrelated=-3.0)).judge("How much will it cost?", "£48 million.", "It will cost £48 million.")
    assert j.label == "contradicts" and j.side is None and j.p_side is None
    assert 0.5 < j.p < 1 and j.vetoes == ()


def test_yes_no_side_gives_label_and_claim_side_is_compared() -> None:
    q, quote = "Will the barrier open in June?", "The barrier will not open in June."
    bare = Judge(_fake(no=-0.2)).judge(q, "", quote)
    assert (bare.side, bare.label) == ("no", "contradicts") and bare.p == bare.p_side
    agreeing = Judge(_fake(no=-0.2)).judge(q, "No, it will not open in June.", quote)
    assert (agreeing.side, agreeing.label) == ("no", "supports")
    neither = Judge(_fake(neither=-0.2)).judge(q, "No, it will not open in June.", quote)
    assert (neither.side, neither.label) == ("neither", "unrelated")


def test_number_veto_rules_out_supports_and_yes() -> None:
    wh = Judge(_fake(supports=-0.1, contradicts=-3.0, unrelated=-4.0)).judge(
        "What is the latest cost estimate?", "£61 million.", "The barrier will cost £48 million.")
    assert wh.label == "contradicts" and wh.vetoes
    yn = Judge(_fake(yes=-0.1, no=-3.0, neither=-2.0)).judge("Did Raskin leave Apple in 1981?", "", "In 1982, Mr Raskin left Apple entirely.")
    assert yn.side == "neither" and yn.label == "unrelated" and yn.vetoes
    off = Judge(_fake(supports=-0.1), vetoes=False).judge("What is the latest cost estimate?", "£61 million.", "It will cost £48 million.")
    assert off.label == "supports" and off.vetoes == ()


def test_bias_calibration_shifts_the_decision() -> None:
    raw = {"supports": -0.3, "contradicts": -1.5, "unrelated": -2.0}
    q, claim, quote = "How much will it cost?", "£48 million.", "It will cost £48 million."
    assert Judge(None, Calibration()).decide(q, claim, quote, raw).label == "supports"  # type: ignore[arg-type]
    shifted = Calibration(support={"contradicts": 2.0})
    assert Judge(None, shifted).decide(q, claim, quote, raw).label == "contradicts"  # type: ignore[arg-type]


def test_fit_calibration_recovers_a_systematic_offset() -> None:
    rng = np.random.default_rng(0)
    items = []
    for i in range(90):
        gold = LABELS[i % 3]
        raw = {label: float(rng.normal(-2.0, 0.2)) for label in LABELS}
        raw[gold] += 1.0
        raw["supports"] += 1.5  # the model over-says "supports"
        items.append((raw, gold))
    before = sum(max(r, key=r.__getitem__) == g for r, g in items) / len(items)
    bias = fit_calibration(items, list(LABELS))
    after = sum(max(r, key=lambda k: r[k] + bias[k]) == g for r, g in items) / len(items)
    assert bias["supports"] == 0.0 and bias["contradicts"] > 0.5 and bias["unrelated"] > 0.5
    assert before < 0.5 and after > 0.9


def test_fit_weights_learns_a_separable_problem_and_round_trips_through_json(tmp_path: Path) -> None:
    rows = [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]] * 20
    w = fit_weights(rows, [0, 1] * 20, 2, l2=0.01)
    assert all((np.array(w) @ np.array(r)).argmax() == g for r, g in zip(rows, [0, 1] * 20))
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"support": {}, "side": {"no": 0.5}, "support_weights": [list(r) for r in w], "side_weights": None}))
    cal = read_calibration(path)
    assert cal.support_weights == w and cal.side == {"no": 0.5} and cal.side_weights is None


def test_features_carry_the_model_scores_and_code_signals() -> None:
    raw = {"supports": -0.5, "contradicts": -2.0, "unrelated": -3.0}
    f = features("What did Sophos say?", "Sophos said the viruses do no damage.", "F-Secure said the viruses do no damage.", raw)
    assert math.isclose(sum(math.exp(v) for v in f[:3]), 1.0) and f[-1] == 1.0
    assert f[6] == 1.0  # the asked speaker (Sophos) is not in the quote
    weights = tuple(tuple([0.0] * 6 + [-5.0 if label == "supports" else 0.0] + [0.0] * 6) for label in LABELS)
    j = Judge(None, Calibration(support_weights=weights)).decide("What did Sophos say?", "Sophos said x.", "F-Secure said x.", raw)  # type: ignore[arg-type]
    assert j.label != "supports"


class _FakeLlama:
    """Just enough of llama_cpp.Llama: a KV cache of evaluated tokens and last-position logits."""

    def __init__(self) -> None:
        self.n_tokens = 0
        self.input_ids = np.zeros(4096, dtype=np.intc)
        self.evaluated: list[int] = []
        self._buf = (ctypes.c_float * 8)()
        self._ctx = self

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return [hash(w) % 1000 + 8 for w in text.decode().split()] if len(text.split()) > 1 else [int(text.strip() or 0) % 8]

    def reset(self) -> None:
        self.n_tokens = 0

    def eval(self, tokens: Sequence[int]) -> None:
        self.input_ids[self.n_tokens : self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)
        self.evaluated.extend(tokens)
        for i in range(8):
            self._buf[i] = float(i == len(tokens) % 8)

    def get_logits(self):  # noqa: ANN201
        return ctypes.cast(self._buf, ctypes.POINTER(ctypes.c_float))

    def n_vocab(self) -> int:
        return 8


def _engine(monkeypatch: pytest.MonkeyPatch) -> tuple[object, _FakeLlama]:
    """A LlamaCppGenerator over the fake llama; KV snapshots kept as (ids, n_tokens) instead of llama.cpp's bytes."""
    from qa.generators import llama_cpp as engine_module

    def snap(llama: _FakeLlama) -> bytes:
        return json.dumps([llama.input_ids[: llama.n_tokens].tolist(), llama.n_tokens]).encode()

    def back(llama: _FakeLlama, data: bytes, fixed: int | None = None) -> None:
        ids, n = json.loads(data)
        llama.input_ids[:n], llama.n_tokens = ids, n

    def prime(llama: _FakeLlama, prefix: str, states: object) -> str:
        llama.reset()
        llama.eval(llama.tokenize(prefix.encode(), special=True))
        return "evaluated"

    monkeypatch.setattr(engine_module, "snapshot", snap)
    monkeypatch.setattr(engine_module, "restore", back)
    monkeypatch.setattr(engine_module, "tokens_in", lambda data: json.loads(data)[1])
    monkeypatch.setattr(engine_module, "prime_prefix", prime)
    gen = engine_module.LlamaCppGenerator(Path("model.gguf"), n_threads=1, n_ctx=64)
    llm = _FakeLlama()
    gen._llama = llm  # type: ignore[assignment]
    return gen, llm


def test_engine_evaluates_the_prefix_once_and_only_each_text_after(monkeypatch: pytest.MonkeyPatch) -> None:
    gen, llm = _engine(monkeypatch)
    prefix = "a fixed instruction prefix of seven words"
    first = gen.logprobs_many(prefix, [("one two three", ["1", "2", "3"])])  # type: ignore[attr-defined]
    n_after_first = len(llm.evaluated)
    batch = gen.logprobs_many(prefix, [("four five six", ["1", "2", "3"]), ("seven eight nine", ["1", "2", "3"])])  # type: ignore[attr-defined]
    assert len(llm.evaluated) - n_after_first == 6  # the two texts only: the prefix stayed in the cache
    assert llm.n_tokens == 7  # back at the prefix: nothing of a judged text stays
    assert batch == [first[0], first[0]]
    (probs,) = gen.logprobs_many(prefix, [("x y z", [str(i) for i in range(8)])])  # type: ignore[attr-defined]
    assert math.isclose(sum(math.exp(v) for v in probs), 1.0)
    gen.logprobs_many("another prefix", [("x y", ["1", "2"])])  # type: ignore[attr-defined]
    assert llm.n_tokens == 2  # a different prefix is evaluated afresh
    n = len(llm.evaluated)
    gen.logprobs_many(prefix, [("x y", ["1", "2"])])  # type: ignore[attr-defined]
    assert len(llm.evaluated) - n == 2  # the first prefix comes back from its snapshot, not evaluated again


def test_engine_rejects_labels_sharing_a_first_token(monkeypatch: pytest.MonkeyPatch) -> None:
    gen, _ = _engine(monkeypatch)
    with pytest.raises(ValueError):
        gen.logprobs_many("p q", [("x y", ["1", "9"])])  # type: ignore[attr-defined]  # 9 % 8 == 1


@pytest.mark.slow
def test_real_model_on_clear_calib_cases() -> None:
    """On 20 clear calib cases (plain supports / plain yes-no), the real judge is right on most; probabilities are sane."""
    pytest.importorskip("llama_cpp")
    from core.settings import Settings
    from qa.generators.llama_cpp import local_engine

    triples = [json.loads(line) for line in (ROOT / "eval" / "support" / "triples.jsonl").read_text(encoding="utf-8").splitlines()]
    clear = [t for t in triples if t["split"] == "calib" and t["kind"] == "plain" and t["label"] == "supports"][:20]
    judge = Judge(local_engine(Settings()), load_calibration())
    results = [judge.judge(t["question"], t["claim"], t["quote"]) for t in clear]
    assert all(0.0 <= r.p <= 1.0 and (r.side is None) == (t["side"] is None) for r, t in zip(results, clear))
    assert sum(r.label == t["label"] for r, t in zip(results, clear)) >= 12
    again = judge.raw(clear[0]["question"], clear[0]["claim"], clear[0]["quote"])
    assert again == pytest.approx(judge.raw(clear[0]["question"], clear[0]["claim"], clear[0]["quote"]), abs=1e-3)
