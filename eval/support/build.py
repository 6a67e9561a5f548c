"""Build and validate ``triples.jsonl`` from the hand labels in ``annotations.txt``.

    python eval/support/build.py           # writes eval/support/triples.jsonl, prints the counts
    python eval/support/build.py --check   # fails if triples.jsonl is not what annotations.txt gives

Every quote must be a verbatim substring of its source article (paths relative to the repository
root). The split is deterministic: within each (kind, label) stratum, triples sorted by a hash of
their id, the first 40% (rounded) go to ``calib``, the rest to ``test``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LABELS = {"S": "supports", "C": "contradicts", "U": "unrelated"}
SIDES = {"y": "yes", "n": "no", "x": "neither", "-": None}
CALIB_SHARE = 0.4


def parse(text: str) -> list[dict]:
    """The triples of an annotations file, in file order, without split."""
    out: list[dict] = []
    key = source = None
    quotes: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        tag, _, rest = line.partition(" ")
        if tag == "@":
            key, source = rest.split(" ", 1)
            quotes = {}
        elif tag == "=":
            qkey, _, quote = rest.partition(" | ")
            if qkey in quotes:
                raise ValueError(f"line {n}: quote key {qkey} repeated")
            quotes[qkey] = quote
        elif tag == "t":
            parts = [p.strip() for p in rest.split(" | ")]
            if len(parts) == 5:
                parts.append("")
            qkey, label, side, kind, question, claim = parts
            if qkey not in quotes or label not in LABELS or side not in SIDES:
                raise ValueError(f"line {n}: bad triple {line!r}")
            seq = sum(1 for t in out if t["id"].startswith(f"{key.lower()}-{qkey}-"))
            out.append({
                "id": f"{key.lower()}-{qkey}-{seq + 1}", "question": question, "claim": claim,
                "quote": quotes[qkey], "source": source, "label": LABELS[label], "side": SIDES[side], "kind": kind,
            })
        else:
            raise ValueError(f"line {n}: unknown line {line!r}")
    return out


def assign_splits(triples: list[dict]) -> list[dict]:
    """Add ``split``: 40% calib within each (kind, label) stratum, by a hash of the id."""
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for t in triples:
        strata[(t["kind"], t["label"])].append(t)
    calib: set[str] = set()
    for members in strata.values():
        ranked = sorted(members, key=lambda t: hashlib.sha1(t["id"].encode()).hexdigest())
        calib.update(t["id"] for t in ranked[: round(CALIB_SHARE * len(ranked))])
    return [{"id": t["id"], "split": "calib" if t["id"] in calib else "test", **{k: v for k, v in t.items() if k != "id"}} for t in triples]


def problems(triples: list[dict]) -> list[str]:
    """Everything wrong with a list of triples (empty when valid)."""
    from qa.stance import is_yes_no

    errs = []
    texts: dict[str, str] = {}
    for t in triples:
        path = ROOT / t["source"]
        if t["source"] not in texts:
            texts[t["source"]] = path.read_text(encoding="utf-8") if path.exists() else ""
        if t["quote"] not in texts[t["source"]]:
            errs.append(f"{t['id']}: quote is not in {t['source']}")
        if is_yes_no(t["question"]) != (t["side"] is not None):
            errs.append(f"{t['id']}: side must be set exactly for yes/no questions")
        if t["side"] is not None and not t["claim"]:
            want = {"supports": "yes", "contradicts": "no", "unrelated": "neither"}[t["label"]]
            if t["side"] != want:
                errs.append(f"{t['id']}: with no claim the side must follow the label ({want})")
        if not t["claim"] and t["side"] is None:
            errs.append(f"{t['id']}: a wh-question needs a claim")
    ids = Counter(t["id"] for t in triples)
    errs += [f"{i}: id repeated" for i, c in ids.items() if c > 1]
    keys = Counter((t["question"], t["claim"], t["quote"]) for t in triples)
    errs += [f"triple repeated: {k[0]!r} / {k[2][:40]!r}" for k, c in keys.items() if c > 1]
    return errs


def build() -> list[dict]:
    return assign_splits(parse((HERE / "annotations.txt").read_text(encoding="utf-8")))


def summary(triples: list[dict]) -> str:
    lines = [f"{len(triples)} triples"]
    for field in ("split", "label", "side", "kind"):
        lines.append(f"{field}: " + ", ".join(f"{k}={v}" for k, v in sorted(Counter(str(t[field]) for t in triples).items())))
    for split in ("calib", "test"):
        sub = [t for t in triples if t["split"] == split]
        lines.append(f"{split} labels: " + ", ".join(f"{k}={v}" for k, v in sorted(Counter(t["label"] for t in sub).items())))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    triples = build()
    errs = problems(triples)
    if errs:
        print("\n".join(errs))
        return 1
    out = HERE / "triples.jsonl"
    text = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in triples)
    if "--check" in argv:
        same = out.exists() and out.read_text(encoding="utf-8") == text
        print("triples.jsonl is up to date" if same else "triples.jsonl differs from annotations.txt: rebuild")
        return 0 if same else 1
    out.write_text(text, encoding="utf-8")
    print(summary(triples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
