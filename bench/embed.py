"""Embedding backends on this machine: torch (sentence-transformers) vs ONNX fp32 vs ONNX int8.

    .venv/bin/python bench/embed.py [--articles 300] [--repeat 3] [--batch-sizes 16 32 64]

Texts: the chunk texts of the bundled briefings plus the sentences of ``--articles`` BBC articles from
../shared/corpora (what the indexer embeds). Each round times every backend at every batch size,
interleaved, so background load hits them alike; the table shows medians over the rounds. Vectors are
compared with torch at batch size 32, and retrieval quality is the recall of the seed eval's gold
quotes in the top 10 sentences of the bundled article by cosine. The ONNX export is timed once, into
a fresh temporary model dir.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from statistics import median

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.chunk import chunk_article  # noqa: E402
from index.clean import clean  # noqa: E402
from index.embed import Embedder  # noqa: E402
from index.load import iter_documents  # noqa: E402
from index.minilm import MiniLMEmbedder  # noqa: E402
from index.onnx_minilm import OnnxMiniLMEmbedder  # noqa: E402
from index.records import Article  # noqa: E402
from index.sentences import sentences_of, split_sentences  # noqa: E402
from core.settings import Settings  # noqa: E402
from qa.evaluate import gold_overlap, load_items  # noqa: E402

BBC = ROOT.parent / "shared" / "corpora" / "bbc-news" / "news"
SAMPLE = ROOT / "briefings" / "russia-iran-not-allies-in-syria.txt"


def articles(paths: Sequence[Path]) -> list[Article]:
    return [a for d in iter_documents(paths) if isinstance(a := clean(d), Article)]


def bench_texts(n_articles: int) -> list[str]:
    """Chunk texts of the bundled briefings + sentences of ``n_articles`` BBC articles (spread over topics)."""
    s = Settings()
    texts = [
        c.text
        for a in articles([ROOT / "briefings"])
        for c in chunk_article(a, sentences_of(a.id, a.text), max_words=s.chunk_words, overlap=s.chunk_overlap_sentences)
    ]
    files = sorted(BBC.glob("*/*.txt")) if BBC.is_dir() else []
    picked = files[:: max(1, len(files) // n_articles)][:n_articles] if n_articles else []
    texts += [a.text[b:e] for a in articles(picked) for b, e in split_sentences(a.text)]
    return texts


def recall_at_10(embedder: Embedder) -> float:
    """Share of the seed eval's gold quotes hit by one of the top-10 sentences of the sample article."""
    article = articles([SAMPLE])[0]
    sentences = [article.text[b:e] for b, e in split_sentences(article.text)]
    vectors = embedder.embed(sentences)
    hits = total = 0
    for item in load_items(ROOT / "eval" / "seed_dev.jsonl"):
        if not item.gold_quotes:
            continue
        top = np.argsort(-(vectors @ embedder.embed([item.question])[0]))[:10]
        for gold in item.gold_quotes:
            total += 1
            hits += any(gold_overlap(sentences[i], [gold]) for i in top)
    return hits / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    args = parser.parse_args()
    texts = bench_texts(args.articles)
    words = median(len(t.split()) for t in texts)
    print(f"{len(texts)} texts (median {words:.0f} words), {args.repeat} rounds, medians shown")

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        fp32 = OnnxMiniLMEmbedder(Path(tmp))
        fp32.embed(["warm up"])
        export_s = time.perf_counter() - t
        t = time.perf_counter()
        int8 = OnnxMiniLMEmbedder(Path(tmp), quantize=True)
        int8.embed(["warm up"])
        quant_s = time.perf_counter() - t
        backends: dict[str, MiniLMEmbedder | OnnxMiniLMEmbedder] = {"torch": MiniLMEmbedder(), "onnx fp32": fp32, "onnx int8": int8}
        backends["torch"].embed(["warm up"])
        print(f"first use: export {export_s:.1f} s (load, trace, write), int8 quantisation {quant_s:.1f} s more")

        seconds: dict[tuple[str, int], list[float]] = {}
        for _ in range(args.repeat):
            for size in args.batch_sizes:
                for name, backend in backends.items():
                    backend.batch_size = size
                    t = time.perf_counter()
                    backend.embed(texts)
                    seconds.setdefault((name, size), []).append(time.perf_counter() - t)

        vectors = {}
        for name, backend in backends.items():
            backend.batch_size = 32
            vectors[name] = backend.embed(texts)
        recall = {name: recall_at_10(backend) for name, backend in backends.items()}

    ref = vectors["torch"]
    print("\n| backend | batch | texts/s (median) | vs torch | max abs diff vs torch | min cosine vs torch | recall@10 gold |")
    print("|---|---|---|---|---|---|---|")
    for size in args.batch_sizes:
        torch_rate = len(texts) / median(seconds[("torch", size)])
        for name in backends:
            rate = len(texts) / median(seconds[(name, size)])
            diff = float(np.abs(vectors[name] - ref).max())
            cos = float((vectors[name] * ref).sum(axis=1).min())
            print(f"| {name} | {size} | {rate:.0f} | {rate / torch_rate:.2f}× | {diff:.1e} | {cos:.4f} | {recall[name]:.2f} |")
    print("\n(diff, cosine and recall are at batch size 32; all runs per round:",
          {f"{n}@{b}": [round(len(texts) / s) for s in v] for (n, b), v in seconds.items()}, ")")


if __name__ == "__main__":
    main()
