"""The label error rate of the training data, measured by hand on 200 sampled pairs.

    python train/audit.py sample        # → train/audit/sample.jsonl: 200 pairs, seeded, spread over the kinds
    (a person reads each pair and writes train/audit/verdicts.jsonl: {"i": 0, "ok": true, "note": ""} a line)
    python train/audit.py score         # the error rate, overall and by kind
    python train/audit.py sample written_   # only the kinds starting so → train/audit/written_-sample.jsonl (score alike)
    python train/audit.py sample written_ 9-16   # … and only from the articles of lists articles-9 … -16.txt (round 2)

>>> _spread([("a", 1), ("a", 2), ("b", 3)], 2, __import__("random").Random(0))
[('a', 2), ('b', 3)]
"""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _files(prefix: str, lists: str = "") -> tuple[Path, Path]:
    """The sample and verdict files of the pairs whose kind starts with ``prefix`` ("": all pairs), from the article
    lists ``lists`` ("9-16"; "": any)."""
    name = "".join(f"{part}-" for part in (prefix, lists) if part)
    return HERE / "audit" / f"{name}sample.jsonl", HERE / "audit" / f"{name}verdicts.jsonl"


LABELS = {"answers": ("answers", "on_topic", "unrelated"), "supports": ("supports", "contradicts", "not_stated"),
          "side": ("yes", "no", "neither")}


def _spread(items: list[tuple[str, object]], n: int, rng: random.Random) -> list[tuple[str, object]]:
    """``n`` items taken round-robin over their keys (each key's items in a seeded order)."""
    by: dict[str, list[tuple[str, object]]] = defaultdict(list)
    for item in items:
        by[item[0]].append(item)
    for group in by.values():
        rng.shuffle(group)
    out: list[tuple[str, object]] = []
    while len(out) < n and any(by.values()):
        for key in sorted(by):
            if by[key] and len(out) < n:
                out.append(by[key].pop())
    return out


def _listed(lists: str) -> set[str] | None:
    """The articles of the written lists ``"9-16"`` (None: no restriction)."""
    if not lists:
        return None
    first, _, last = lists.partition("-")
    files = [HERE / "written" / f"articles-{k}.txt" for k in range(int(first), int(last or first) + 1)]
    return {line.strip() for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()}


def sample(prefix: str = "", lists: str = "", n: int = 200, seed: int = 11) -> None:
    path, listed = _files(prefix, lists)[0], _listed(lists)
    rows = [json.loads(line) for line in (HERE / "data" / "pairs.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if r["kind"].startswith(prefix) and (listed is None or r["source"] in listed)]
    picked = _spread([(f"{r['task']}/{r['kind']}", r) for r in rows], n, random.Random(seed))
    path.parent.mkdir(exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for i, (_, r) in enumerate(picked):
            r = dict(r)  # type: ignore[call-overload]
            out.write(json.dumps({"i": i, "label_name": LABELS[r["task"]][r["label"]], **r}, ensure_ascii=False) + "\n")
    print(f"{len(picked)} pairs → {path}")


def score(prefix: str = "", lists: str = "") -> None:
    sample_file, verdict_file = _files(prefix, lists)
    rows = {r["i"]: r for r in map(json.loads, sample_file.open(encoding="utf-8"))}
    verdicts = [json.loads(line) for line in verdict_file.open(encoding="utf-8") if line.strip()]
    wrong: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for v in verdicts:
        r = rows[v["i"]]
        for key in ("ALL", f"{r['task']}/{r['kind']}"):
            wrong[key][0] += not v["ok"]
            wrong[key][1] += 1
    for key in ["ALL"] + sorted(k for k in wrong if k != "ALL"):
        bad, n = wrong[key]
        print(f"{key:<32} {bad:>3}/{n:<3} wrong ({100 * bad / n:.1f}%)")


if __name__ == "__main__":
    {"sample": sample, "score": score}[sys.argv[1] if len(sys.argv) > 1 else "score"](*sys.argv[2:4])
