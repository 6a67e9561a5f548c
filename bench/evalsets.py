"""The eval question sets, ours (with the 1.5B judge, with our checker, with word rules only; quotes first: the
checker's chosen quotes alone, or with the 1.5B model's summary over them) against the naive LangChain RAG.

    .venv/bin/python bench/evalsets.py [--sets seed_dev,news_dev,bbc_heldout] [--systems judge,checker,rules,quotes,quotes_summary,naive] [--out rows.jsonl]
    .venv/bin/python bench/evalsets.py --table-from rows.jsonl       # the table of a saved (or cut-short) run

``seed_dev`` and ``news_dev`` are asked over the bundled + eval briefings; ``bbc_heldout`` over ``eval/bbc``
alone (16 BBC articles never used before; 20 of its 77 questions are on the topic of an indexed article but
not answered by it). One local model serves every system, one after the other, in the same run.

Correct is ``qa.evaluate``'s rule: an answerable question is answered (not refused) and every
``must_mention`` group is in the answer or its quotes; an unanswerable one is refused. The naive RAG is
scored by the same rule on its text, and asked follow-ups without their history (it has no chat).
Quotes verified: ours re-checked against the stored article; naive, its quoted strings found in the
chunks it was given.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.naive_rag import NaiveRag  # noqa: E402
from bench.rows import RowLog  # noqa: E402
from core.settings import Settings  # noqa: E402
from index.clean import clean  # noqa: E402
from index.embed import Embedder, make_embedder  # noqa: E402
from index.load import iter_documents  # noqa: E402
from index.pipeline import Indexer  # noqa: E402
from index.records import Article  # noqa: E402
from qa.evaluate import EvalItem, hit_groups, load_items, score  # noqa: E402
from qa.generators import Generator, make_generator  # noqa: E402
from qa.service import open_assistant, open_indexer  # noqa: E402

SOURCES = {"main": (ROOT / "briefings", ROOT / "eval" / "briefings"), "bbc": (ROOT / "eval" / "bbc",)}
SETS = {"seed_dev": "main", "news_dev": "main", "bbc_heldout": "bbc"}
SYSTEMS = {"judge": "ours, 1.5B judge", "checker": "ours, checker", "rules": "ours, rules", "quotes": "quotes 1st, bare",
           "quotes_summary": "quotes 1st + 1.5B", "naive": "naive LangChain"}
# each system's settings over Settings(); bench/rgb.py asks the same variants
VARIANTS: dict[str, dict[str, str]] = {
    "judge": {"judge": "llm"}, "checker": {"judge": "checker"}, "rules": {"judge": "off"},
    "quotes": {"judge": "checker", "answer_order": "quotes_first", "generator": "extractive"},  # the quotes are the answer
    "quotes_summary": {"judge": "checker", "answer_order": "quotes_first"}}


@dataclass(frozen=True)
class Row:
    system: str
    set: str
    id: str
    answerable: bool
    correct: bool
    refused: bool
    quotes: int
    verified: int
    seconds: float
    text: str


def run_ours(system: str, name: str, items: Sequence[EvalItem], indexer: Indexer, generator: Generator) -> list[Row]:
    settings = indexer.settings.model_copy(update=VARIANTS[system])
    assistant = open_assistant(settings, store=indexer.store, embedder=indexer.embedder, bm25=indexer.refresh_bm25(),
                               generator=None if settings.generator == "extractive" else generator)
    rows = []
    for item in items:
        r = score(item, assistant.ask(item.question, item.history), indexer.store)
        rows.append(_done(Row(system, name, item.id, item.answerable, r.correct, r.answer.refused, r.cited, r.verified,
                              r.answer.timings.total_s, r.answer.text)))
    return rows


def run_naive(name: str, items: Sequence[EvalItem], rag: NaiveRag) -> list[Row]:
    rows = []
    for item in items:
        a = rag.ask(item.question)
        correct = (not a.refused and hit_groups(item.must_mention, a.text)) if item.answerable else a.refused
        rows.append(_done(Row("naive", name, item.id, item.answerable, correct, a.refused, a.quotes_shown, a.quotes_verified,
                              a.seconds, a.text)))
    return rows


def articles(group: str) -> list[Article]:
    loaded = (clean(doc) for doc in iter_documents(SOURCES[group]))
    return [a for a in loaded if isinstance(a, Article)]


_log = RowLog(None)  # main() points it at --out


def _done(row: Row) -> Row:
    _log.add(row, f"{row.system:<5} {row.set:<11} {row.id:<28} {'✔' if row.correct else '✘'} {row.seconds:5.1f}s  {row.text[:70]!r}")
    return row


def table(rows: Sequence[Row]) -> str:
    """Per set and system: correct, answerable answered right, unanswerable refused, quotes verified, p50."""
    head = f"{'set':<12} {'system':<16} {'correct':>13} {'answerable':>11} {'refused':>9} {'quotes verified':>16} {'p50 s':>6}"
    lines = [head]
    for name in dict.fromkeys(r.set for r in rows):
        for system in SYSTEMS:
            rs = [r for r in rows if r.set == name and r.system == system]
            if not rs:
                continue
            ans = [r for r in rs if r.answerable]
            una = [r for r in rs if not r.answerable]
            quotes = sum(r.quotes for r in rs)
            lines.append(
                f"{name:<12} {SYSTEMS[system]:<16} {_share(sum(r.correct for r in rs), len(rs)):>13} "
                f"{sum(r.correct for r in ans)}/{len(ans):<8} {sum(r.correct for r in una)}/{len(una):<6} "
                f"{(f'{sum(r.verified for r in rs) / quotes:.0%} of {quotes}' if quotes else 'no quotes'):>16} "
                f"{median(r.seconds for r in rs):>6.2f}")
    return "\n".join(lines)


def _share(right: int, n: int) -> str:
    return f"{right}/{n} {right / n:.0%}" if n else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--out", type=Path, help="append every row here as a JSON line as soon as it is done")
    parser.add_argument("--table-from", type=Path, help="print the table of rows saved by --out, run nothing")
    args = parser.parse_args()
    if args.table_from:
        print(table(RowLog.load(args.table_from, Row)))
        return
    global _log
    _log = RowLog(args.out)
    names, systems = [s for s in args.sets.split(",") if s], [s for s in args.systems.split(",") if s]
    settings = Settings()
    generator = make_generator(settings)
    assert generator is not None, "the benchmark needs a generator (BRIEFQA_GENERATOR=local)"
    count: Callable[[str], int] = getattr(generator, "count_tokens", lambda s: len(s.split()))
    embedder: Embedder = make_embedder(settings)
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        indexers: dict[str, Indexer] = {}
        for name in names:
            group, items = SETS[name], load_items(ROOT / "eval" / f"{name}.jsonl")
            if group not in indexers:
                indexers[group] = open_indexer(Settings(data_dir=Path(tmp) / group), "bench/evalsets.py", embedder=embedder)
                indexers[group].add(list(SOURCES[group]))
            for system in systems:
                if system == "naive":
                    rag = NaiveRag(embedder, generator, count_tokens=count)
                    rag.index(articles(group))
                    rows += run_naive(name, items, rag)
                else:
                    rows += run_ours(system, name, items, indexers[group], generator)
    print(f"eval sets, local model {generator.name}, {time.perf_counter() - started:.0f} s in all")
    print(table(rows))


if __name__ == "__main__":
    main()
