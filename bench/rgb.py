"""RGB (en_fact) as a whole-system benchmark: ours against a naive LangChain RAG, side by side.

    .venv/bin/python bench/rgb.py [--limit N] [--modes noise,rejection,counterfactual] [--systems ours,quotes,naive] [--out rows.jsonl]
    .venv/bin/python bench/rgb.py --table-from rows.jsonl     # the table of a saved (or cut-short) run

For each mode the passages of ALL questions are indexed together as one collection (one article
per passage), then the first ``--limit`` questions are asked through ``Assistant.ask`` (ours) and
through ``bench.naive_rag.NaiveRag`` (same embedder, same local model):

* noise (positive + negative): correct when the answer text or its quotes contain the true answer
  (RGB's own matching: every answer group has one alternative present, case-insensitive);
* rejection (negative only): share of answers that decline;
* counterfactual (positive + positive_wrong): share that surface the conflict — verdict mixed or
  contradicted, both values shown, or (baseline) words saying the documents conflict;
* every mode: share of shown quotes that are verbatim spans of the cited article, p50 latency.

The data is evaluation-only (see ../shared/bench/rgb/README.md): nothing is tuned on it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.evalsets import VARIANTS  # noqa: E402
from bench.naive_rag import NaiveRag  # noqa: E402
from bench.rows import RowLog  # noqa: E402
from index.embed import Embedder, make_embedder  # noqa: E402
from index.records import Article  # noqa: E402
from core.settings import Settings  # noqa: E402
from qa.service import open_assistant, open_indexer  # noqa: E402
from qa.evaluate import hit_groups, verified_count  # noqa: E402
from qa.generators import Generator, make_generator  # noqa: E402

DATA = ROOT.parent / "shared" / "bench" / "rgb" / "en_fact.jsonl"
MODES = {"noise": ("positive", "negative"), "rejection": ("negative",), "counterfactual": ("positive", "positive_wrong")}
CONFLICT_WORDS = re.compile(r"conflict|contradict|inconsisten|discrepan|disagree|factual error", re.I)


@dataclass(frozen=True)
class Question:
    id: int
    query: str
    answer: tuple[tuple[str, ...], ...]  # groups of alternatives; every group must be hit
    fake: str


@dataclass(frozen=True)
class Row:
    system: str
    mode: str
    qid: int
    query: str
    text: str
    shown: str  # answer text plus the quotes shown with it
    refused: bool
    verdict: str
    quotes: int
    verified: int
    seconds: float
    ok: bool


def load(path: Path) -> tuple[list[Question], list[dict[str, object]]]:
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = []
    for r in raw:
        ans = r["answer"]
        groups = ((ans,),) if isinstance(ans, str) else tuple((a,) if isinstance(a, str) else tuple(a) for a in ans)
        questions.append(Question(int(r["id"]), r["query"], groups, str(r["fakeanswer"])))
    return questions, raw


def passages(raw: Sequence[dict[str, object]], kinds: Sequence[str]) -> list[str]:
    """Every passage of every question for ``kinds``, de-duplicated, in a fixed order."""
    seen: dict[str, None] = {}
    for r in raw:
        for kind in kinds:
            for p in r[kind]:  # type: ignore[attr-defined]
                if isinstance(p, str) and p.strip():
                    seen.setdefault(p.strip(), None)
    return list(seen)


def judge(mode: str, q: Question, shown: str, refused: bool, verdict: str) -> bool:
    has_true = not refused and hit_groups(q.answer, shown)
    if mode == "noise":
        return has_true
    if mode == "rejection":
        return refused
    has_fake = not refused and q.fake.lower() in shown.lower()
    return not refused and (verdict in ("mixed", "contradicted") or (has_true and has_fake) or bool(CONFLICT_WORDS.search(shown)))


# ours, as the app ships (Settings()), and bench/evalsets.py's variants: the checker as judge; quotes first, bare or
# with the summary
OURS: dict[str, dict[str, str]] = {"ours": {}, **{k: VARIANTS[k] for k in ("checker", "quotes", "quotes_summary")}}


def run_ours(system: str, mode: str, texts: list[str], questions: Sequence[Question], generator: Generator, embedder: Embedder,
             tmp: Path) -> list[Row]:
    feed = tmp / f"rgb-{mode}.jsonl"
    feed.write_text("".join(json.dumps({"title": f"RGB passage {i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    settings = Settings(data_dir=tmp / f"{system}-{mode}").model_copy(update=OURS[system])
    indexer = open_indexer(settings, "bench/rgb.py", embedder=embedder)
    indexer.add([feed])
    assistant = open_assistant(settings, store=indexer.store, embedder=indexer.embedder, bm25=indexer.bm25,
                               generator=None if settings.generator == "extractive" else generator)
    rows = []
    for q in questions:
        a = assistant.ask(q.query)
        shown = a.text + " " + " ".join(c.quote for c in a.citations)
        verified = verified_count(a, indexer.store)
        rows.append(Row(system, mode, q.id, q.query, a.text, shown, a.refused, a.verdict, len(a.citations), verified,
                        a.timings.total_s, judge(mode, q, shown, a.refused, a.verdict)))
        _progress(rows[-1])
    return rows


def run_naive(
    mode: str, texts: list[str], questions: Sequence[Question], generator: Generator, embedder: Embedder, count: Callable[[str], int]
) -> list[Row]:
    rag = NaiveRag(embedder, generator, count_tokens=count)
    rag.index([Article.create(title=f"RGB passage {i}", text=t) for i, t in enumerate(texts)])
    rows = []
    for q in questions:
        a = rag.ask(q.query)
        verdict = "not_found" if a.refused else "n/a"
        rows.append(Row("naive LangChain", mode, q.id, q.query, a.text, a.text, a.refused, verdict, a.quotes_shown,
                        a.quotes_verified, a.seconds, judge(mode, q, a.text, a.refused, verdict)))
        _progress(rows[-1])
    return rows


_log = RowLog(None)  # main() points it at --out


def _progress(row: Row) -> None:
    _log.add(row, f"{row.system[:5]:<5} {row.mode[:5]} q{row.qid:<3} {'✔' if row.ok else '✘'} {row.seconds:5.1f}s  {row.text[:90]!r}")


def table(rows: Sequence[Row], modes: Sequence[str]) -> str:
    header = ["system", *[{"noise": "noise acc", "rejection": "rejected", "counterfactual": "conflict shown"}[m] for m in modes],
              "quotes verified", "p50 s"]
    lines = ["  ".join(f"{h:>15}" for h in header)]
    values: dict[str, dict[str, float]] = {}
    for system in [*OURS, "naive LangChain"]:
        mine = [r for r in rows if r.system == system]
        if not mine:
            continue
        cells = [system]
        for m in modes:
            rs = [r for r in mine if r.mode == m]
            share = sum(r.ok for r in rs) / max(1, len(rs))
            values.setdefault(system, {})[m] = share
            cells.append(f"{share:.0%} ({sum(r.ok for r in rs)}/{len(rs)})")
        quotes = sum(r.quotes for r in mine)
        cells.append(f"{sum(r.verified for r in mine) / quotes:.0%} of {quotes}" if quotes else "no quotes")
        cells.append(f"{median(r.seconds for r in mine):.2f}")
        lines.append("  ".join(f"{c:>15}" for c in cells))
    for system in [s for s in OURS if s in values and "naive LangChain" in values]:
        cells = [f"{system} − naive"] + [f"{(values[system][m] - values['naive LangChain'][m]) * 100:+.0f} pts" for m in modes]
        lines.append("  ".join(f"{c:>15}" for c in cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100, help="ask the first N questions (all passages are indexed)")
    parser.add_argument("--modes", default="noise,rejection,counterfactual")
    parser.add_argument("--systems", default="ours,naive", help=f"from {', '.join(OURS)}, naive")
    parser.add_argument("--out", type=Path, help="append every row here as a JSON line as soon as it is done")
    parser.add_argument("--table-from", type=Path, help="print the table of rows saved by --out, run nothing")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    systems = [s for s in args.systems.split(",") if s]
    if args.table_from:
        saved = RowLog.load(args.table_from, Row)
        print(table(saved, [m for m in modes if any(r.mode == m for r in saved)]))
        return
    global _log
    _log = RowLog(args.out)
    questions, raw = load(DATA)
    asked = questions[: args.limit]
    settings = Settings()
    generator = make_generator(settings)
    assert generator is not None, "the benchmark needs a generator (BRIEFQA_GENERATOR=local)"
    count: Callable[[str], int] = getattr(generator, "count_tokens", lambda s: len(s.split()))
    embedder = make_embedder(settings)
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            texts = passages(raw, MODES[mode])
            print(f"{mode}: {len(texts)} passages indexed, {len(asked)} questions", file=sys.stderr, flush=True)
            for system in [s for s in systems if s in OURS]:
                rows += run_ours(system, mode, texts, asked, generator, embedder, Path(tmp))
            if "naive" in systems:
                rows += run_naive(mode, texts, asked, generator, embedder, count)
    print(f"RGB en_fact, {len(asked)} questions per mode, local model {generator.name}, "
          f"{time.perf_counter() - started:.0f} s in all")
    print(table(rows, modes))


if __name__ == "__main__":
    main()
