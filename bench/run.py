"""Benchmark on this machine: indexing throughput vs raw ``model.encode``, retrieval and answer latency,
and ours side by side with a naive LangChain RAG on the eval questions.

    .venv/bin/python bench/run.py [--articles 200] [--generator local|extractive] [--repeat 20] [--skip-index]

Index throughput is measured on the bundled briefings plus ``--articles`` BBC articles from
../shared/corpora (when present), against ``model.encode`` of the same chunk texts in the same
process. Retrieval, answers and the side-by-side run on the bundled and the eval briefings with the questions
of every ``eval/*.jsonl`` set (follow-ups left out). Side by side (same embedder, same local model, same process): share of the
answerable questions' gold quotes found in what each system passes to the model, prompt tokens per
question (ours: the fixed system prompt is evaluated once and reused from llama.cpp's KV cache, so the
tokens evaluated per question are the user message; both columns shown), time to first text, total.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.pipeline import Indexer  # noqa: E402
from qa.assistant import Assistant  # noqa: E402
from core.settings import Settings  # noqa: E402
from qa.service import open_assistant, open_indexer  # noqa: E402
from bench.naive_rag import NaiveRag  # noqa: E402
from qa.cite import normalise  # noqa: E402
from qa.evaluate import EvalItem, load_items  # noqa: E402
from qa.prompt import build_messages  # noqa: E402

BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "news"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_index(n_articles: int) -> list[tuple[str, str, str, str]]:
    """Our pipeline's chunks/s against raw model.encode of the same chunk texts."""
    files = sorted(BBC.glob("*/*.txt"))[:n_articles] if BBC.is_dir() else []
    with tempfile.TemporaryDirectory() as tmp:
        ix = open_indexer(Settings(data_dir=Path(tmp)), "bench/run.py")
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


def gold_found(gold: Sequence[str], context: Sequence[str]) -> int:
    """How many gold quotes lie inside one of the context texts (whitespace, quotes, case normalised)."""
    texts = [normalise(t)[0] for t in context]
    return sum(any(normalise(g)[0] in t for t in texts) for g in gold)


def bench_side_by_side(
    items: Sequence[EvalItem], assistant: Assistant, ix: Indexer, ours_s: list[float], ours_first: list[float]
) -> list[tuple[str, str, str, str]]:
    """Ours (timed by ``bench_answers``) vs the naive LangChain RAG on the eval questions, same embedder and model."""
    gen = assistant.generator
    count = getattr(gen, "count_tokens", lambda text: len(text.split()))
    naive = NaiveRag(ix.embedder, gen, count_tokens=count)
    naive.index([e.article for e in ix.store.articles()])
    evidence = [assistant.retriever.retrieve(item.question).evidence for item in items]
    runs = [naive.ask(item.question) for item in items]
    gold = [(i, ev, run) for i, ev, run in zip(items, evidence, runs) if i.answerable and i.gold_quotes]
    n_gold = sum(len(i.gold_quotes) for i, _, _ in gold)
    ours_found = sum(gold_found(i.gold_quotes, [e.text for e in ev]) for i, ev, _ in gold)
    naive_found = sum(gold_found(i.gold_quotes, run.context) for i, _, run in gold)
    ours_user, ours_all = [], []
    for item, ev in zip(items, evidence):
        messages = build_messages(item.question, ev)
        ours_user.append(count(messages[1].content))
        ours_all.append(sum(count(m.content) for m in messages))
    naive_tokens = [r.prompt_tokens for r in runs]
    naive_s, naive_first = [r.seconds for r in runs], [r.first_token_s for r in runs]

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}×" if b else "-"

    return [
        (f"side by side ({len(items)} eval questions)", "ours", "naive LangChain", "ours ÷ naive"),
        ("gold quotes in the model's context", f"{ours_found}/{n_gold}", f"{naive_found}/{n_gold}", ratio(ours_found, naive_found)),
        ("prompt tokens evaluated p50 (user msg)", f"{median(ours_user):.0f}", f"{median(naive_tokens):.0f}",
         ratio(median(ours_user), median(naive_tokens))),
        ("prompt tokens incl. cached system p50", f"{median(ours_all):.0f}", f"{median(naive_tokens):.0f}",
         ratio(median(ours_all), median(naive_tokens))),
        ("time to first text s p50", f"{median(ours_first):.2f}", f"{median(naive_first):.2f}", ratio(median(ours_first), median(naive_first))),
        ("answer s p50 / p95", f"{median(ours_s):.2f} / {pct(ours_s, 0.95):.2f}",
         f"{median(naive_s):.2f} / {pct(naive_s, 0.95):.2f}", ratio(median(ours_s), median(naive_s))),
    ]


def bench_answers(items: Sequence[EvalItem], generator: str, repeat: int) -> list[tuple[str, str, str, str]]:
    questions = [i.question for i in items]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), generator=generator)
        ix = open_indexer(settings, "bench/run.py")
        ix.add([p for p in (ROOT / "briefings", ROOT / "eval" / "briefings") if p.is_dir()])
        assistant = open_assistant(settings, store=ix.store, embedder=ix.embedder, bm25=ix.bm25)
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
        side = bench_side_by_side(items, assistant, ix, totals, ttft) if assistant.generator is not None else []
    return [
        ("retrieve ms (p50 / p95)", f"{median(retrieval):.1f}", f"{pct(retrieval, 0.95):.1f}", "budget p50 ≤ 50"),
        (f"answer s, {generator} (p50 / p95)", f"{median(totals):.2f}", f"{pct(totals, 0.95):.2f}", "budget p50 ≤ 10"),
        ("time to first token s (p50 / p95)", f"{median(ttft):.2f}", f"{pct(ttft, 0.95):.2f}", "first yield of ask_stream"),
        *side,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200, help="BBC articles added to the indexing run")
    parser.add_argument("--generator", default="local", choices=["local", "extractive"])
    parser.add_argument("--repeat", type=int, default=20, help="retrieval repetitions per question")
    parser.add_argument("--skip-index", action="store_true", help="skip the indexing-throughput section")
    args = parser.parse_args()
    items = [i for path in sorted((ROOT / "eval").glob("*.jsonl")) for i in load_items(path) if not i.history]
    rows = ([] if args.skip_index else bench_index(args.articles)) + bench_answers(items, args.generator, args.repeat)
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    rows.append(("peak RSS GB", f"{rss_gb:.2f}", "", "budget ≤ 3"))
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  {'value':>14}  {'':>22}  note")
    for name, a, b, note in rows:
        print(f"{name:<{width}}  {a:>14}  {b:>22}  {note}")


if __name__ == "__main__":
    main()
