"""The labelled support/stance set (eval/support/triples.jsonl): format, verbatim quotes, splits, balance."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "eval" / "support" / "triples.jsonl"
FIELDS = {"id", "split", "question", "claim", "quote", "source", "label", "side", "kind"}


@pytest.fixture(scope="module")
def triples() -> list[dict]:
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_format(triples: list[dict]) -> None:
    assert len(triples) >= 300
    for t in triples:
        assert set(t) == FIELDS, t["id"]
        assert t["split"] in {"calib", "test"}
        assert t["label"] in {"supports", "contradicts", "unrelated"}
        assert t["side"] in {"yes", "no", "neither", None}
        assert all(isinstance(t[k], str) for k in ("id", "question", "claim", "quote", "source", "kind"))
        assert t["question"].strip() and t["quote"].strip() and t["kind"]
    assert len({t["id"] for t in triples}) == len(triples)


def test_every_quote_is_verbatim_in_its_source(triples: list[dict]) -> None:
    texts: dict[str, str] = {}
    for t in triples:
        assert not t["source"].startswith(("/", "..")) and "bench" not in t["source"].split("/")
        if t["source"] not in texts:
            texts[t["source"]] = (ROOT / t["source"]).read_text(encoding="utf-8")
        assert t["quote"] in texts[t["source"]], t["id"]


def test_sides_only_for_yes_no_questions(triples: list[dict]) -> None:
    from qa.stance import is_yes_no

    follows = {"supports": "yes", "contradicts": "no", "unrelated": "neither"}
    for t in triples:
        assert is_yes_no(t["question"]) == (t["side"] is not None), t["id"]
        if t["side"] is not None and not t["claim"]:
            assert t["side"] == follows[t["label"]], t["id"]
        if t["side"] is None:
            assert t["claim"], t["id"]


def test_split_sizes_and_stratification(triples: list[dict]) -> None:
    calib = [t for t in triples if t["split"] == "calib"]
    assert 0.35 <= len(calib) / len(triples) <= 0.45
    for kind, n in Counter(t["kind"] for t in triples).items():
        k = sum(t["kind"] == kind for t in calib)
        if n >= 10:
            assert 0.25 <= k / n <= 0.55, (kind, k, n)


def test_label_balance(triples: list[dict]) -> None:
    for split in ("calib", "test"):
        counts = Counter(t["label"] for t in triples if t["split"] == split)
        total = sum(counts.values())
        assert all(counts[label] / total >= 0.15 for label in ("supports", "contradicts", "unrelated")), (split, counts)
    sides = Counter(t["side"] for t in triples if t["side"])
    assert all(sides[s] >= 20 for s in ("yes", "no", "neither")), sides


def test_hard_negative_kinds_present(triples: list[dict]) -> None:
    kinds = Counter(t["kind"] for t in triples)
    for kind in ("wrong_year", "wrong_person", "wrong_number", "wrong_place", "moved_date", "double_negation",
                 "denial", "other_speaker", "conditional", "revised"):
        assert kinds[kind] >= 8, (kind, kinds[kind])


def test_file_is_what_the_annotations_build() -> None:
    spec = importlib.util.spec_from_file_location("support_build", ROOT / "eval" / "support" / "build.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)

    assert build.problems(build.build()) == []
    expected = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in build.build())
    assert SET.read_text(encoding="utf-8") == expected
