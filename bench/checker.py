"""Our checker (qa/checker.py) beside the 1.5B judge and today's word rules, on hand-labelled triples.

    python bench/checker.py                 # eval/support test split + eval/checker_fresh, checker and rules
    python bench/checker.py --llm           # also the 1.5B judge (its fitted calibration; raw scores cached in /tmp)
    python bench/checker.py --speed         # also ms per pair (8 pairs judged at a time, each row run alone) and the model's load time
    python bench/checker.py --fit           # first fit the label biases on the calib split (qa/checker_model/calibration.json)
    python bench/checker.py --fit --model /tmp/v3   # a candidate model folder (train_checker.py --out), fitted there
    python bench/checker.py --sets calib --model /tmp/v8   # compare candidates on calib (raw column), not on test

Sets: ``eval/support/triples.jsonl`` split ``test`` (279; the ``calib`` split is never used to train the checker)
and ``eval/checker_fresh/triples.jsonl`` (written by a helper from 30+ BBC articles the training never saw).
Label accuracy counts the label towards the claim; side accuracy the yes/no side; "quotes first's choice" whether
the checker would choose the quote as an answer to the question (``qa.choose``). "checker" is the product's judge
(label biases fitted on the calib split, code vetoes); "checker, raw" the model's argmax with the vetoes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.judge import load_engine, rules, score  # noqa: E402
from qa.checker import CALIBRATION_FILE, LABEL_NAMES, MODEL_DIR, Checker, CheckerJudge  # noqa: E402
from qa.stance import is_yes_no  # noqa: E402
from qa.judge import DEFAULT_CALIBRATION, LABELS, SIDES, Calibration, Judge, fit_calibration, load_calibration  # noqa: E402

SETS = {"support-test": (ROOT / "eval" / "support" / "triples.jsonl", "test"),
        "fresh": (ROOT / "eval" / "checker_fresh" / "triples.jsonl", None),
        "calib": (ROOT / "eval" / "support" / "triples.jsonl", "calib")}
Decide = Callable[[dict], tuple[str, str | None]]


def load(name: str) -> list[dict]:
    path, split = SETS[name]
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]


def checker_system(folder: Path = MODEL_DIR, calibration: Calibration | None = None) -> Decide:
    judge = CheckerJudge(Checker.load(folder), calibration)

    def decide(t: dict) -> tuple[str, str | None]:
        j = judge.judge(t["question"].rstrip(" |"), t["claim"], t["quote"])
        return j.label, j.side

    return decide


def fit(folder: Path = MODEL_DIR) -> None:
    """Per-label biases on the checker's log-probabilities, fitted on the calib split of eval/support only (each task's
    kept only where cross-validation inside calib shows they help: ``kept_biases``), written beside the model with the
    sha256 of the model file and of the triples they were fitted on."""
    path = ROOT / "eval" / "support" / "triples.jsonl"
    calib = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    calib = [t for t in calib if t["split"] == "calib"]
    checker = Checker.load(folder)
    judge = CheckerJudge(checker, DEFAULT_CALIBRATION)
    raw = {t["id"]: judge.raw(t["question"].rstrip(" |"), t["claim"], t["quote"]) for t in calib}
    wh = [(raw[t["id"]], t["label"]) for t in calib if not t["side"]]
    yn = [(raw[t["id"]], t["side"]) for t in calib if t["side"]]
    fitted = {"model_sha256": checker.sha256, "fitted_on": "eval/support/triples.jsonl split calib",
              "fitted_on_sha256": hashlib.sha256(json.dumps(calib, sort_keys=True).encode()).hexdigest(),
              "support": kept_biases(wh, list(LABELS)), "side": kept_biases(yn, list(SIDES)),
              "answers": kept_biases(_answers_raw(checker, [t for t in calib if not t["side"]]), list(LABEL_NAMES["answers"]))}
    (folder / CALIBRATION_FILE).write_text(json.dumps(fitted, indent=1) + "\n", encoding="utf-8")
    print(f"fitted on {len(calib)} calib triples: support {fitted['support']}, side {fitted['side']}, answers {fitted['answers']}")


def kept_biases(items: list[tuple[dict[str, float], str]], labels: list[str], rounds: int = 5) -> dict[str, float]:
    """The biases fitted on all ``items``, kept only when they help beyond them: 2-fold cross-validation inside
    ``items`` (``rounds`` shuffles) must score more right with biases fitted on one half than with none on the other;
    otherwise zeros (the raw argmax).

    >>> kept_biases([({"a": 0.0, "b": -1.0}, "a")] * 4, ["a", "b"])
    {'a': 0.0, 'b': 0.0}
    """
    gain = 0
    for seed in range(rounds):
        shuffled = items[:]
        random.Random(seed).shuffle(shuffled)
        for fit_on, test_on in ((shuffled[::2], shuffled[1::2]), (shuffled[1::2], shuffled[::2])):
            gain += _right(test_on, fit_calibration(fit_on, labels), labels) - _right(test_on, {}, labels)
    return fit_calibration(items, labels) if gain > 0 else {label: 0.0 for label in labels}


def _right(items: list[tuple[dict[str, float], str]], bias: dict[str, float], labels: list[str]) -> int:
    return sum(max(labels, key=lambda n: raw[n] + bias.get(n, 0.0)) == gold for raw, gold in items)


def _answers_raw(checker: Checker, triples: list[dict]) -> list[tuple[dict[str, float], str]]:
    """The answers task's log-probabilities and gold label of each (question, quote) the wh-triples give
    (``train.make_data.written_answers``)."""
    from train.make_data import written_answers

    pairs = written_answers(triples)
    probs = checker.probs([("answers", p.question, "", p.quote) for p in pairs])
    names = LABEL_NAMES["answers"]
    return [({n: math.log(max(float(x), 1e-9)) for n, x in zip(names, row)}, names[p.label]) for p, row in zip(pairs, probs)]


def llm_system(triples: list[dict]) -> Decide:
    """The 1.5B judge as shipped (fitted calibration, vetoes), its raw log-probs cached per triple."""
    engine: list[object] = []

    def factory() -> Judge:
        engine.append(engine[0] if engine else load_engine())
        return Judge(engine[0])  # type: ignore[arg-type]

    raw, _ = score(triples, Path("/tmp/briefqa-bench-checker-llm.json"), factory)
    judge = Judge(None, load_calibration())  # type: ignore[arg-type]

    def decide(t: dict) -> tuple[str, str | None]:
        j = judge.decide(t["question"], t["claim"], t["quote"], raw[t["id"]])
        return j.label, j.side

    return decide


def table(triples: list[dict], systems: dict[str, Decide]) -> str:
    """Label and side accuracy by slice (all, wh, yes/no, each gold label, each kind), one column per system."""
    cells: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for t in triples:
        for name, decide in systems.items():
            label, side = decide(t)
            for key in ("ALL", "wh label" if not t["side"] else "yes/no label", f"[{t['label']}]", t["kind"]):
                cells[key][name][0] += label == t["label"]
                cells[key][name][1] += 1
            if t["side"]:
                cells["yes/no SIDE"][name][0] += side == t["side"]
                cells["yes/no SIDE"][name][1] += 1
    head = f"{'slice':<20}{'n':>5}" + "".join(f"{n:>20}" for n in systems)
    order = ["ALL", "wh label", "yes/no label", "yes/no SIDE", "[supports]", "[contradicts]", "[unrelated]"]
    lines = [head]
    for key in order + sorted(k for k in cells if k not in order):
        row = cells[key]
        n = next(iter(row.values()))[1] if row else 0
        lines.append(f"{key:<20}{n:>5}" + "".join(f"{f'{100 * a / m:.1f}% ({a}/{m})':>20}" for a, m in (row[s] for s in systems)))
    return "\n".join(lines)


def chooser_table(triples: list[dict], folder: Path = MODEL_DIR, min_p: float = 0.5) -> str:
    """Quotes first's choice (``qa.choose``) on the triples: does the quote answer the question? Gold derived as for
    the written training triples (``train.make_data.written_answers``: it states the claim, another value of the fact,
    a yes or a no); chosen: wh p(answers) ≥ ``min_p``, yes/no a side at p ≥ ``min_p`` (the Settings.quote_min_p default)."""
    from train.make_data import written_answers

    judge = CheckerJudge(Checker.load(folder))
    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pair in written_answers(triples):
        yes_no = is_yes_no(pair.question)
        if yes_no:
            j = judge.judge(pair.question, "", pair.quote)
            chosen = j.side in ("yes", "no") and (j.p_side or 0.0) >= min_p
        else:
            chosen = judge.answers(pair.question, [pair.quote])[0] >= min_p
        for key in ("ALL", "yes/no" if yes_no else "wh", "[answers]" if pair.label == 0 else "[does not answer]"):
            cells[key][0] += chosen == (pair.label == 0)
            cells[key][1] += 1
    return "\n".join([f"{'quote chosen right':<20}{'n':>5}{'checker':>20}"] +
                     [f"{k:<20}{m:>5}{f'{100 * a / m:.1f}% ({a}/{m})':>20}" for k, (a, m) in cells.items()])


def speed(folder: Path = MODEL_DIR) -> str:
    t0 = time.perf_counter()
    checker = Checker(folder)  # a fresh session: the load a new process pays
    load_s = time.perf_counter() - t0
    rows = [t for name in SETS for t in load(name)][:400]
    pairs = [("side" if t["side"] else "supports", t["question"], t["claim"], t["quote"]) for t in rows]
    per = []
    for lo in range(0, len(pairs) - 8, 8):
        t1 = time.perf_counter()
        checker.probs(pairs[lo : lo + 8])
        per.append((time.perf_counter() - t1) / 8 * 1000)
    return (f"model load {load_s:.2f} s; ms per pair, 8 at a time: median {statistics.median(per):.1f}, "
            f"p90 {sorted(per)[int(0.9 * len(per))]:.1f} (n={len(per)} batches)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llm", action="store_true", help="also the 1.5B judge (minutes of model time on first run)")
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--fit", action="store_true", help="fit the checker's label biases on the calib split first")
    ap.add_argument("--model", type=Path, default=MODEL_DIR, help="the model folder (a candidate from train_checker.py --out)")
    ap.add_argument("--sets", default="support-test,fresh", help="comma-separated, of: " + ", ".join(SETS)
                    + " (calib: where candidates are compared, raw column only — the fitted one was fitted there)")
    args = ap.parse_args()
    if args.fit:
        fit(args.model)
    meta = Checker.load(args.model).meta
    print(f"checker: {meta.get('command', '?')} (data sha256 {str(meta.get('data_sha256', '?'))[:12]}, {meta.get('steps', '?')} steps)")
    for name in args.sets.split(","):
        triples = load(name)
        if not triples:
            print(f"\n{name}: no triples found")
            continue
        systems: dict[str, Decide] = {"checker": checker_system(args.model),
                                     "checker, raw": checker_system(args.model, DEFAULT_CALIBRATION)}
        if args.llm:
            systems["1.5B judge"] = llm_system(triples)
        systems["rules"] = rules
        print(f"\n{name} ({len(triples)} triples)\n{table(triples, systems)}")
        print(f"\n{name}: quotes first's choice\n{chooser_table(triples, args.model)}")
    if args.speed:
        print("\n" + speed(args.model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
