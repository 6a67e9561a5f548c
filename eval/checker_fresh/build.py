"""Build ``triples.jsonl`` (and the article copies) from the hand labels in ``annotations.txt``.

    python eval/checker_fresh/build.py            # copies missing articles, writes triples.jsonl
    python eval/checker_fresh/build.py --check    # fails if triples.jsonl is not what annotations.txt gives

Articles are copied unchanged from ../shared/corpora/bbc-news/news/<folder>/<file> to
articles/bbc-<folder>-<file>. Every triple has split "test". Validation is in check.py.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "bbc-news" / "news"
LABELS = {"S": "supports", "C": "contradicts", "U": "unrelated"}
SIDES = {"y": "yes", "n": "no", "x": "neither", "-": None}


def article_name(corpus_path: str) -> str:
    folder, name = corpus_path.split("/")
    return f"bbc-{folder}-{name}"


def parse(text: str) -> tuple[list[dict], dict[str, str]]:
    """The triples of an annotations file, in file order, and {article copy name: corpus path}."""
    out: list[dict] = []
    articles: dict[str, str] = {}
    key = source = None
    quotes: dict[str, str] = {}
    counts: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        tag, _, rest = line.partition(" ")
        if tag == "@":
            key, corpus_path = rest.split(" ", 1)
            corpus_path = corpus_path.strip()
            name = article_name(corpus_path)
            if name in articles:
                raise ValueError(f"line {n}: article {corpus_path} listed twice")
            articles[name] = corpus_path
            source = f"eval/checker_fresh/articles/{name}"
            quotes = {}
        elif tag == "=":
            qkey, sep, quote = rest.partition(" | ")
            if not sep or qkey in quotes:
                raise ValueError(f"line {n}: bad or repeated quote key {qkey!r}")
            quotes[qkey] = quote
        elif tag == "t":
            body = rest.rstrip()
            if body.endswith(" |"):  # empty claim written as a trailing separator
                body = body[:-2]
            parts = [p.strip() for p in body.split(" | ")]
            if len(parts) == 5:
                parts.append("")
            if len(parts) != 6:
                raise ValueError(f"line {n}: expected 6 fields, got {len(parts)}: {line!r}")
            qkey, label, side, kind, question, claim = parts
            if key is None or qkey not in quotes or label not in LABELS or side not in SIDES:
                raise ValueError(f"line {n}: bad triple {line!r}")
            stem = f"{key.lower()}-{qkey}-"
            counts[stem] = counts.get(stem, 0) + 1
            out.append({
                "id": f"{stem}{counts[stem]}", "split": "test", "question": question, "claim": claim,
                "quote": quotes[qkey], "source": source, "label": LABELS[label], "side": SIDES[side], "kind": kind,
            })
        else:
            raise ValueError(f"line {n}: unknown line {line!r}")
    return out, articles


def render(triples: list[dict]) -> str:
    return "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in triples)


def main(argv: list[str]) -> int:
    triples, articles = parse((HERE / "annotations.txt").read_text(encoding="utf-8"))
    target = HERE / "triples.jsonl"
    if "--check" in argv:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != render(triples):
            print("triples.jsonl is not current: run python eval/checker_fresh/build.py")
            return 1
        print(f"triples.jsonl is current ({len(triples)} triples)")
        return 0
    (HERE / "articles").mkdir(exist_ok=True)
    for name, corpus_path in articles.items():
        dest = HERE / "articles" / name
        if not dest.exists():
            shutil.copyfile(CORPUS / corpus_path, dest)
    target.write_text(render(triples), encoding="utf-8")
    print(f"wrote {len(triples)} triples from {len(articles)} articles to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
