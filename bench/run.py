"""Benchmark on this machine: indexing throughput vs raw ``model.encode``, retrieval and answer latency.

    .venv/bin/python bench/run.py [--articles 200] [--generator local|extractive] [--repeat 20]

Index throughput is measured on the bundled briefings plus ``--articles`` BBC articles from
../shared/corpora (when present), against ``model.encode`` of the same chunk texts in the same
process. Retrieval and answers are measured on the bundled briefings with the seed eval questions.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.pipeline import Indexer  # noqa: E402
from index.settings import Settings  # noqa: E402
from qa.answer import Assistant  # noqa: E402
from qa.evaluate import load_items  # noqa: E402

BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "news"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_index(n_articles: int) -> list[tuple[str, str, str, str]]:
    """Our pipeline's chunks/s against raw model.encode of the same chunk texts."""
    files = sorted(BBC.glob("*/*.txt"))[:n_articles] if BBC.is_dir() else []
    with tempfile.TemporaryDirectory() as tmp:
        ix = Indexer(Settings(data_dir=Path(tmp)))
        ix.embedder.embed(["warm up"])
        t = time.perf_counter()
        ix.add([ROOT / "briefings", *files])
        ours_s = time.perf_counter() - t
        chunks = ix.store.chunks()
        t = time.perf_counter()
        ix.embedder.embed([c.text for c in chunks])
        raw_s = time.perf_counter() - t
    ours, raw = len(chunks) / ours_s, len(chunks) / raw_s
    return [
        ("index: chunks", f"{len(chunks)}", f"{len(files) + 1} articles", f"embedder {ix.settings.embedder}"),
        ("index: chunks/s (ours, end to end)", f"{ours:.1f}", f"raw encode {raw:.1f}", f"ratio {ours / raw:.2f}"),
    ]


def bench_answers(questions: list[str], generator: str, repeat: int) -> list[tuple[str, str, str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), generator=generator)
        Indexer(settings).add([ROOT / "briefings"])
        assistant = Assistant(settings)
        retrieval = []
        for _ in range(repeat):
            for q in questions:
                t = time.perf_counter()
                assistant.retriever.retrieve(q)
                retrieval.append((time.perf_counter() - t) * 1000)
        totals, ttft = [], []
        for q in questions:
            t = time.perf_counter()
            first = None
            for item in assistant.ask_stream(q):
                if first is None:
                    first = time.perf_counter() - t
            totals.append(time.perf_counter() - t)
            ttft.append(first or totals[-1])
    return [
        ("retrieve ms (p50 / p95)", f"{median(retrieval):.1f}", f"{pct(retrieval, 0.95):.1f}", "budget p50 ≤ 50"),
        (f"answer s, {generator} (p50 / p95)", f"{median(totals):.2f}", f"{pct(totals, 0.95):.2f}", "budget p50 ≤ 10"),
        ("time to first token s (p50 / p95)", f"{median(ttft):.2f}", f"{pct(ttft, 0.95):.2f}", "first yield of ask_stream"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200, help="BBC articles added to the indexing run")
    parser.add_argument("--generator", default="local", choices=["local", "extractive"])
    parser.add_argument("--repeat", type=int, default=20, help="retrieval repetitions per question")
    args = parser.parse_args()
    questions = [i.question for i in load_items(ROOT / "eval" / "seed_dev.jsonl")]
    rows = bench_index(args.articles) + bench_answers(questions, args.generator, args.repeat)
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    rows.append(("peak RSS GB", f"{rss_gb:.2f}", "", "budget ≤ 3"))
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  {'value':>10}  {'':>22}  note")
    for name, a, b, note in rows:
        print(f"{name:<{width}}  {a:>10}  {b:>22}  {note}")


if __name__ == "__main__":
    main()
