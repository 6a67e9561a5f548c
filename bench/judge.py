"""The support/stance judge (qa.judge) with the local model vs today's rules, on eval/support/triples.jsonl.

    python bench/judge.py                    # score calib + test, fit biases on calib, print the test table
    python bench/judge.py --split calib      # only score the calib split (prompt work happens here)
    python bench/judge.py --limit 40         # a quick run on the first N triples of each split
    python bench/judge.py --cached-only      # the table for the test triples scored so far (no model time)

The biases are fitted on the calib split only; the table reports the test split. Raw log-probabilities
are cached per prompt (``--cache``), so a rerun after a calibration change needs no model time.

Today's rules, as the pipeline applies them to a shown quote:
- side (yes/no questions): ``qa.stance.stance_of(question, quote)``: yes / no / neutral (= neither);
- label: for yes/no questions from that side (against the claim's side when the claim takes one); for
  other questions "supports" unless ``qa.refusal.missing_terms(question, quote)`` finds a name or number of
  the question missing from the quote (then "unrelated"); the rules never say "contradicts" there.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import inspect
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.refusal import missing_terms  # noqa: E402
from qa.judge import (  # noqa: E402
    CALIBRATION, LABELS, PREFIX, SIDES, Calibration, Judge, _claim_side, calib_lines, features, fit_calibration, fit_digest,
    fit_weights, task_text,
)
from qa.stance import is_yes_no, stance_of  # noqa: E402

SET = ROOT / "eval" / "support" / "triples.jsonl"


def rules(t: dict) -> tuple[str, str | None]:
    """Today's code: (label, side) for one triple."""
    q, claim, quote = t["question"], t["claim"], t["quote"]
    if is_yes_no(q):
        side = {"yes": "yes", "no": "no", "neutral": "neither"}[stance_of(q, quote)]
        wanted = _claim_side(q, claim)
        if wanted is None:
            return {"yes": "supports", "no": "contradicts", "neither": "unrelated"}[side], side
        return ("unrelated" if side == "neither" else "supports" if side == wanted else "contradicts"), side
    return ("unrelated" if missing_terms(q, quote) else "supports"), None


def load_engine():  # noqa: ANN201
    """The local model in this process (no worker): the judge's scorer."""
    from core.settings import Settings
    from qa.generators.llama_cpp import local_engine

    return local_engine(Settings())


def score(triples: list[dict], cache_path: Path, judge_factory) -> tuple[dict[str, dict], float]:  # noqa: ANN001
    """Raw log-probs per triple id (cached), and the mean ms per model call made in this run."""
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    todo = [t for t in triples if t["id"] not in cache]
    spent, made = 0.0, 0
    if todo:
        judge = judge_factory()
        for t in todo:
            t0 = time.perf_counter()
            cache[t["id"]] = judge.raw(t["question"], t["claim"], t["quote"])
            spent += time.perf_counter() - t0
            made += 1
            if made % 25 == 0:
                cache_path.write_text(json.dumps(cache))
                print(f"  scored {made}/{len(todo)} ({1000 * spent / made:.0f} ms each)", file=sys.stderr)
        cache_path.write_text(json.dumps(cache))
    return cache, (1000 * spent / made if made else float("nan"))


def fit(triples: list[dict], raw: dict[str, dict], mode: str = "bias", l2: float = 0.1) -> Calibration:
    """Fit on ``triples`` (calib only): "bias" = per-label biases on the model's log-probs; "lr" = a linear
    layer over qa.judge.features (model log-probs + code signals); "signals" = the same without the model."""
    yn = [t for t in triples if is_yes_no(t["question"])]
    wh = [t for t in triples if not is_yes_no(t["question"])]
    if mode == "bias":
        return Calibration(support=fit_calibration([(raw[t["id"]], t["label"]) for t in wh], list(LABELS)),
                           side=fit_calibration([(raw[t["id"]], t["side"]) for t in yn], list(SIDES)))

    def rows(ts: list[dict]) -> list[list[float]]:
        out = [features(t["question"], t["claim"], t["quote"], raw[t["id"]]) for t in ts]
        return [[0.0] * 3 + r[3:] for r in out] if mode == "signals" else out

    return Calibration(support_weights=fit_weights(rows(wh), [LABELS.index(t["label"]) for t in wh], 3, l2=l2),
                       side_weights=fit_weights(rows(yn), [SIDES.index(t["side"]) for t in yn], 3, l2=l2))


def cross_validated(triples: list[dict], raw: dict[str, dict], mode: str, l2: float, folds: int = 5) -> float:
    """Accuracy of ``fit(mode, l2)`` on calib by k-fold cross-validation (to choose l2 without the test split)."""
    right = 0
    for k in range(folds):
        train = [t for i, t in enumerate(triples) if i % folds != k]
        held = [t for i, t in enumerate(triples) if i % folds == k]
        judge = Judge(None, fit(train, raw, mode, l2))  # type: ignore[arg-type]
        right += sum(judge.decide(t["question"], t["claim"], t["quote"], raw[t["id"]]).label == t["label"] for t in held)
    return right / len(triples)


def accuracy(triples: list[dict], raw: dict[str, dict], judge: Judge) -> float:
    right = sum(judge.decide(t["question"], t["claim"], t["quote"], raw[t["id"]]).label == t["label"] for t in triples)
    return right / len(triples)


def table(triples: list[dict], raw: dict[str, dict], judge: Judge) -> str:
    rows: dict[str, list[list[int]]] = defaultdict(lambda: [[0, 0], [0, 0], [0, 0], [0, 0]])
    for t in triples:
        j = judge.decide(t["question"], t["claim"], t["quote"], raw[t["id"]])
        r_label, r_side = rules(t)
        for key in ("ALL", t["kind"], f"[{t['label']}]", "yes/no side" if t["side"] else "wh label"):
            cell = rows[key]
            cell[0][0] += j.label == t["label"]
            cell[0][1] += 1
            cell[1][0] += r_label == t["label"]
            cell[1][1] += 1
            if t["side"]:
                cell[2][0] += j.side == t["side"]
                cell[2][1] += 1
                cell[3][0] += r_side == t["side"]
                cell[3][1] += 1
    out = [f"{'slice':<16}{'n':>5}  {'judge label':>12}  {'rules label':>12}  {'judge side':>11}  {'rules side':>11}"]
    order = ["ALL", "wh label", "yes/no side", "[supports]", "[contradicts]", "[unrelated]"]
    for key in order + sorted(k for k in rows if k not in order):
        c = rows[key]
        cells = [f"{100 * a / n:5.1f}% ({a}/{n})" if n else "-" for a, n in c]
        out.append(f"{key:<16}{c[0][1]:>5}  {cells[0]:>12}  {cells[1]:>12}  {cells[2]:>11}  {cells[3]:>11}")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["calib", "test", "both"], default="both")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--no-vetoes", action="store_true")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--cached-only", action="store_true", help="report on the test triples already in the cache (no model)")
    args = ap.parse_args()
    triples = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    calib = [t for t in triples if t["split"] == "calib"]
    test = [t for t in triples if t["split"] == "test"]
    if args.limit:
        calib, test = calib[: args.limit], test[: args.limit]
    digest = hashlib.sha1((PREFIX + inspect.getsource(task_text)).encode()).hexdigest()[:10]
    cache = args.cache or Path(f"/tmp/briefqa-judge-{digest}.json")
    engine = []

    def factory() -> Judge:
        if not engine:
            engine.append(load_engine())
        return Judge(engine[0])

    raw, ms_calib = score(calib, cache, factory)
    vet = not args.no_vetoes
    print(f"prompt {digest}; everything below is fitted on calib ({len(calib)}) only")
    choices = {}
    for mode in ("lr", "signals"):
        cv = {l2: cross_validated(calib, raw, mode, l2) for l2 in (0.001, 0.003, 0.01, 0.03, 0.1)}
        choices[mode] = max(cv, key=lambda l2: (cv[l2], l2))
        print(f"  {mode}: 5-fold CV label accuracy on calib by l2: " + ", ".join(f"{k}: {100 * v:.1f}%" for k, v in cv.items()))
    cals = {"bias": fit(calib, raw, "bias"), **{m: fit(calib, raw, m, choices[m]) for m in choices}}
    out = CALIBRATION
    lines = calib_lines()[: args.limit] if args.limit else calib_lines()  # the hash the app checks it against (qa.judge.fit_check)
    out.write_text(json.dumps({"fitted_on": fit_digest(lines), "l2": choices["lr"], **dataclasses.asdict(cals["lr"])}, indent=1) + "\n")
    print(f"  lr calibration (l2={choices['lr']}) written to {out.relative_to(ROOT)}")
    if args.split == "calib":
        return 0
    if args.cached_only and cache.exists():
        done = json.loads(cache.read_text())
        test = [t for t in test if t["id"] in done]
    raw, ms_test = score(test, cache, factory)
    print(f"\nTEST split ({len(test)} triples), label accuracy of each variant:")
    names = {"bias": "model log-probs + per-label biases", "lr": "model log-probs + code signals, linear layer",
             "signals": "code signals only (no model), linear layer"}
    for mode, cal in cals.items():
        acc = accuracy(test, raw, Judge(None, cal, vetoes=vet))  # type: ignore[arg-type]
        print(f"  {mode:<8} {100 * acc:5.1f}%  {names[mode]}")
    veto = " + number veto" if vet else ""
    print(f"\nTEST table, judge = lr variant{veto}; rules = stance_of / gate.missing_terms on the quote")
    print(table(test, raw, Judge(None, cals["lr"], vetoes=vet)))  # type: ignore[arg-type]
    print(f"\nms per judgement (this run, 2 threads, CPU shared): calib {ms_calib:.0f}, test {ms_test:.0f} (nan = all cached)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
