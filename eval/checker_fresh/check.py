"""Validate ``triples.jsonl`` of the fresh checker test set and print its counts.

    python eval/checker_fresh/check.py

Checks, for every line: the fields and their values (split "test", label, side, kind); the source is an
article copy under eval/checker_fresh/articles/ that exists (and, where the shared corpus is present, is
byte-identical to its original, one of train/holdout_articles.txt); the quote is a verbatim substring of it;
`side` is set exactly for yes/no questions (questions starting with an auxiliary verb) and, when the claim is
empty, follows the label (supports=yes, contradicts=no, unrelated=neither); ids follow
<article key>-<quote key>-<n> and are unique; no (question, claim, quote, source) triple repeats.
Exits 1 and lists the problems if any check fails.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "bbc-news" / "news"
HOLDOUT = ROOT / "train" / "holdout_articles.txt"

FIELDS = ["id", "split", "question", "claim", "quote", "source", "label", "side", "kind"]
LABELS = {"supports", "contradicts", "unrelated"}
SIDES = {"yes", "no", "neither"}
KINDS = {
    "plain", "wrong_number", "wrong_year", "moved_date", "wrong_person", "wrong_name", "wrong_place",
    "negation", "denial", "double_negation", "other_speaker", "conditional", "off_topic",
    "neighbouring_fact", "unknown",
}
YES_NO = re.compile(
    r"^\s*(is|are|was|were|do|does|did|has|have|had|will|would|can|could|should|may|might|must)\b", re.I
)
ID = re.compile(r"^[a-z0-9]+-[a-z0-9_]+-[0-9]+$")
SIDE_OF_LABEL = {"supports": "yes", "contradicts": "no", "unrelated": "neither"}


def is_yes_no(question: str) -> bool:
    return bool(YES_NO.match(question))


def problems(rows: list[dict]) -> list[str]:
    errs: list[str] = []
    texts: dict[str, str] = {}
    seen_ids: set[str] = set()
    seen_triples: set[tuple] = set()
    holdout = set()
    if HOLDOUT.exists():
        holdout = {l.strip() for l in HOLDOUT.read_text().splitlines() if l.strip() and not l.startswith("#")}
    for n, t in enumerate(rows, 1):
        where = f"line {n} ({t.get('id')})"
        if list(t) != FIELDS:
            errs.append(f"{where}: fields {list(t)} != {FIELDS}")
            continue
        if not isinstance(t["id"], str) or not ID.match(t["id"]):
            errs.append(f"{where}: malformed id")
        if t["id"] in seen_ids:
            errs.append(f"{where}: repeated id")
        seen_ids.add(t["id"])
        if t["split"] != "test":
            errs.append(f"{where}: split {t['split']!r} is not 'test'")
        for f in ("question", "claim", "quote"):
            if not isinstance(t[f], str) or t[f] != t[f].strip():
                errs.append(f"{where}: {f} is not a stripped string")
        if not t["question"] or not t["quote"]:
            errs.append(f"{where}: empty question or quote")
        if t["question"].endswith("|"):
            errs.append(f"{where}: question ends with a separator")
        if t["label"] not in LABELS:
            errs.append(f"{where}: bad label {t['label']!r}")
        if t["kind"] not in KINDS:
            errs.append(f"{where}: bad kind {t['kind']!r}")
        yn = is_yes_no(t["question"])
        if yn and t["side"] not in SIDES:
            errs.append(f"{where}: yes/no question needs side yes/no/neither, has {t['side']!r}")
        if not yn and t["side"] is not None:
            errs.append(f"{where}: side {t['side']!r} set for a non-yes/no question")
        if not yn and not t["claim"]:
            errs.append(f"{where}: empty claim for a non-yes/no question")
        if yn and not t["claim"] and t["side"] != SIDE_OF_LABEL.get(t["label"]):
            errs.append(f"{where}: empty claim, label {t['label']} but side {t['side']}")
        src = t["source"]
        if not src.startswith("eval/checker_fresh/articles/bbc-"):
            errs.append(f"{where}: source {src!r} outside eval/checker_fresh/articles/")
            continue
        if src not in texts:
            path = ROOT / src
            if not path.exists():
                errs.append(f"{where}: missing article {src}")
                texts[src] = ""
                continue
            texts[src] = path.read_text(encoding="utf-8")
            name = path.name[len("bbc-"):]
            folder, _, file = name.partition("-")
            original = f"{folder}/{file}"
            if holdout and original not in holdout:
                errs.append(f"{where}: {original} is not in train/holdout_articles.txt")
            if CORPUS.exists():
                orig = CORPUS / original
                if not orig.exists() or orig.read_bytes() != path.read_bytes():
                    errs.append(f"{where}: {src} differs from the corpus article {original}")
        if t["quote"] not in texts[src]:
            errs.append(f"{where}: quote is not a verbatim substring of {src}: {t['quote'][:80]!r}")
        key = (t["question"], t["claim"], t["quote"], src)
        if key in seen_triples:
            errs.append(f"{where}: repeated (question, claim, quote, source)")
        seen_triples.add(key)
    return errs


def main() -> int:
    lines = (HERE / "triples.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(l) for l in lines if l.strip()]
    errs = problems(rows)
    for e in errs:
        print("ERROR", e)
    labels = Counter(r["label"] for r in rows)
    print(f"{len(rows)} triples from {len({r['source'] for r in rows})} articles, {len({(r['source'], r['quote']) for r in rows})} distinct quotes")
    print("labels:", ", ".join(f"{k} {v} ({100 * v / len(rows):.0f}%)" for k, v in labels.most_common()))
    yn = [r for r in rows if r["side"] is not None]
    print(f"yes/no questions: {len(yn)} (empty claim {sum(not r['claim'] for r in yn)}); sides:",
          ", ".join(f"{k} {v}" for k, v in Counter(r["side"] for r in yn).most_common()))
    print("kinds:", ", ".join(f"{k} {v}" for k, v in Counter(r["kind"] for r in rows).most_common()))
    table = Counter((r["kind"], r["label"]) for r in rows)
    print("kind x label:")
    for kind in sorted({k for k, _ in table}):
        print(f"  {kind:18s}", "  ".join(f"{l[:4]} {table[(kind, l)]:3d}" for l in ("supports", "contradicts", "unrelated")))
    print("FAIL" if errs else "OK")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
