"""Validate helper-written training triples (``train/written/triples-*.jsonl``) and print their counts.

    python3 train/written/check.py train/written/triples-3.jsonl      # one file
    python3 train/written/check.py                                     # every file

Each line: question, claim, quote, source (path under the corpus's ``news/``), label, side, kind. Checked: the
fields and values, the source is one of the training articles listed in ``articles-*.txt``, the quote is a
verbatim substring of the article, ``side`` is set exactly for yes/no questions and follows the label when the
claim is empty, no triple repeats. Exit 1 and one line per problem when anything fails.

>>> yes_no("Did Russia call Iran an ally?"), yes_no("What did Ryabkov say?")
(True, False)
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from train.corpus import CORPUS  # noqa: E402

LABELS = ("supports", "contradicts", "unrelated")
SIDES = {"yes": "supports", "no": "contradicts", "neither": "unrelated"}
KINDS = {"plain", "paraphrase", "speaker_said", "wrong_number", "wrong_year", "moved_date", "wrong_person",
         "wrong_name", "wrong_place", "negation", "opposite", "denial", "double_negation", "revised", "other_speaker",
         "conditional", "off_topic", "neighbouring_fact", "unknown"}
_AUX = r"(is|are|was|were|do|does|did|has|have|had|will|would|can|could|should|may|might|must|shall)"


def yes_no(question: str) -> bool:
    """A question a yes or a no answers (starts with an auxiliary verb)."""
    return re.match(rf"\s*{_AUX}\b", question, re.I) is not None


def allowed_articles(folder: Path = HERE) -> set[str]:
    """The training articles the helpers were given (every ``articles-*.txt`` of ``folder``)."""
    return {line.strip() for f in folder.glob("articles-*.txt") for line in f.read_text().splitlines() if line.strip()}


@lru_cache(maxsize=64)
def _article(source: str) -> str:
    return (CORPUS / "news" / source).read_text(encoding="utf-8", errors="replace")


def problems(row: dict, allowed: set[str], seen: set[tuple]) -> list[str]:
    """What is wrong with one triple (empty when it is valid)."""
    need = ("question", "claim", "quote", "source", "label", "side", "kind")
    if any(k not in row for k in need):
        return [f"missing fields {[k for k in need if k not in row]}"]
    out = []
    if row["source"] not in allowed:
        out.append(f"source {row['source']!r} is not in an articles-*.txt list")
    elif row["quote"] not in _article(row["source"]):
        out.append(f"quote is not verbatim in {row['source']}: {row['quote'][:60]!r}")
    if row["label"] not in LABELS:
        out.append(f"label {row['label']!r}")
    if row["kind"] not in KINDS:
        out.append(f"kind {row['kind']!r}")
    if yes_no(row["question"]) != (row["side"] is not None):
        out.append("side must be set exactly for yes/no questions")
    elif row["side"] is not None and row["side"] not in SIDES:
        out.append(f"side {row['side']!r}")
    elif row["side"] is not None and not row["claim"].strip() and SIDES[row["side"]] != row["label"]:
        out.append("with an empty claim the label must follow the side (yes/supports, no/contradicts, neither/unrelated)")
    if not row["side"] and not row["claim"].strip():
        out.append("a wh-question needs a claim")
    key = (row["question"], row["claim"], row["quote"], row["source"])
    if key in seen:
        out.append("repeated triple")
    seen.add(key)
    return out


def main(files: list[Path]) -> int:
    allowed = allowed_articles()
    bad, rows, seen = 0, [], set()
    for file in files:
        for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"{file.name}:{n}: not JSON ({e})")
                bad += 1
                continue
            for p in problems(row, allowed, seen):
                print(f"{file.name}:{n}: {p}")
                bad += 1
            rows.append(row)
    print(f"{len(rows)} triples from {len({r.get('source') for r in rows})} articles, {bad} problems")
    print("labels", dict(Counter(r.get("label") for r in rows)), "sides", dict(Counter(r.get("side") for r in rows)))
    print("kinds", dict(Counter(r.get("kind") for r in rows).most_common()))
    return 1 if bad else 0


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or sorted(HERE.glob("triples-*.jsonl"))
    raise SystemExit(main(args))
