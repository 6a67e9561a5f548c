"""Answer latency and tokens, warm and cold, with the eval scores of the same run; side by side with a saved run.

    .venv/bin/python bench/latency.py [--cold 3] [--save run.json] [--baseline before.json]
    BRIEFQA_ANSWER_ORDER=quotes_first BRIEFQA_JUDGE=checker .venv/bin/python bench/latency.py --baseline llm_first.json

Warm (one process): every question of ``--sets`` (eval/seed_dev, news_dev; follow-ups with their history) over the
bundled and eval briefings; time to the first checked quote on screen, to the first answer text and to the whole answer, tokens the model
evaluated (the user message; the fixed system prompt is reused from the KV cache) and generated, and
each set's eval score. Cold: ``briefqa ask "Did Russia call Iran an ally?"`` in fresh processes
(median wall of ``--cold``), and a probe process that breaks one cold answer down (imports, embedder
load, model load and system prompt in the worker, retrieval, answer). ``--baseline`` prints a saved
run's figures beside this run's, with ratios. Runs on older checkouts too (it only uses the assistant and
indexer builders, ``Settings``, ``qa.evaluate``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

try:  # this layout (core/, qa.service builds the app)
    from core.settings import Settings
    from qa.generators import make_generator
    from qa.service import open_assistant as Assistant, open_indexer as Indexer
except ImportError:  # older checkouts
    from index.pipeline import Indexer  # type: ignore[no-redef]
    from index.settings import Settings  # type: ignore[no-redef]
    from qa.answer import Assistant  # type: ignore[no-redef]
    from qa.generate import make_generator  # type: ignore[no-redef]
from qa.evaluate import EvalSummary, load_items, score  # noqa: E402

ALLY = "Did Russia call Iran an ally?"


class Counting:
    """Wraps a generator: records the tokens of each call's user message and of its output."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name
        self.calls: list[tuple[int, int]] = []

    def stream(self, messages: Sequence[Any], **kw: Any) -> Iterator[str]:
        out = []
        for piece in self.inner.stream(messages, **kw):
            out.append(piece)
            yield piece
        count = self.inner.count_tokens
        self.calls.append((count(messages[-1].content), count("".join(out))))


class TimedScorer:
    """Wraps the support judge's scorer: seconds and quotes judged per answer."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.spent, self.quotes = inner, 0.0, 0

    def logprobs_many(self, prefix: str, items: Sequence[Any]) -> list[list[float]]:
        t = time.perf_counter()
        try:
            return self.inner.logprobs_many(prefix, items)
        finally:
            self.spent += time.perf_counter() - t
            self.quotes += len(items)


def warm(data: Path, sets: Sequence[str] = ("seed_dev", "news_dev")) -> dict[str, Any]:
    """Every question of ``sets`` once, in one process: latencies, tokens, scores per set (and the judge's share)."""
    settings = Settings(data_dir=data)
    ix = Indexer(settings)
    ix.add([ROOT / "briefings", ROOT / "eval" / "briefings"])
    assistant = Assistant(settings, store=ix.store, embedder=ix.embedder, bm25=ix.bm25)
    counting = Counting(assistant.generator)
    assistant.generator = counting
    judge = getattr(assistant, "verifier", None)
    timed = TimedScorer(judge.judge.scorer) if judge else None
    if judge:
        judge.judge.scorer = timed
    firsts, quoted, totals, scores, judged = [], [], [], {}, []
    for path in [ROOT / "eval" / f"{name}.jsonl" for name in sets]:
        rows = []
        for item in load_items(path):
            before = timed.spent if timed else 0.0
            t, first, quote, final = time.perf_counter(), None, None, None
            for part in assistant.ask_stream(item.question, item.history):
                if isinstance(part, str) and first is None:
                    first = time.perf_counter() - t
                if quote is None and _shows_quote(part):
                    quote = time.perf_counter() - t
                final = part
            totals.append(time.perf_counter() - t)
            judged.append((timed.spent if timed else 0.0) - before)
            firsts.append(first if first is not None else totals[-1])
            quoted.append(quote if quote is not None else totals[-1])
            rows.append(score(item, final, ix.store))  # type: ignore[arg-type]
        summary = EvalSummary(tuple(rows))
        scores[path.stem] = f"{summary.correct}/{len(rows)} (quotes verified {summary.verified_share:.0%})"
    evaluated, generated = [c[0] for c in counting.calls], [c[1] for c in counting.calls]
    return {"first_quote_p50_s": median(quoted), "first_text_p50_s": median(firsts), "answer_p50_s": median(totals), "answer_p95_s": _pct(totals, 0.95),
            "questions": len(totals), "model_calls": len(counting.calls),
            "evaluated_tokens_p50": median(evaluated) if evaluated else 0, "generated_tokens_p50": median(generated) if generated else 0,
            "evaluated_tokens_sum": sum(evaluated), "generated_tokens_sum": sum(generated),
            "judge_s_per_answer_p50": median(judged), "judge_s_sum": sum(judged), "quotes_judged": timed.quotes if timed else 0,
            **{f"eval {k}": v for k, v in scores.items()}}


def _shows_quote(part: Any) -> bool:
    """Whether a streamed item puts a checked quote on screen: quotes first's chosen quotes, the answer text once it
    cites one (its card shows beside it), or the final answer's quotes (a refusal shows none)."""
    if isinstance(part, str):
        return bool(re.search(r"\[\d+\]", part))
    return bool(getattr(part, "citations", ()))


def cold(data: Path, runs: int) -> dict[str, Any]:
    """Median wall of ``briefqa ask`` in fresh processes, and the median probe breakdown."""
    env = dict(os.environ, BRIEFQA_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    cli = [sys.executable, "-c", "try:\n    from ui.cli import main\nexcept ImportError:\n    from qa.cli import main\nmain()", "ask", ALLY]
    walls, probes = [], []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cli, env=env, cwd=ROOT, check=True, capture_output=True)
        walls.append(time.perf_counter() - t)
        probe = subprocess.run([sys.executable, __file__, "--probe"], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        probes.append(json.loads(probe.stdout.strip().splitlines()[-1]))
    parts = {k: median(p[k] for p in probes) for k in probes[0]}
    return {"cold_ask_wall_s": median(walls), **{f"cold {k}": v for k, v in parts.items()}}


def probe() -> None:
    """One cold answer in this (fresh) process, timed by stage; prints one JSON line."""
    t0 = time.perf_counter() - _process_age()  # the interpreter's start-up and this file's imports count too
    from index.embed import make_embedder
    from index.pipeline import open_store

    out: dict[str, float] = {"imports_s": time.perf_counter() - t0}
    settings = Settings()
    t = time.perf_counter()
    generator = make_generator(settings)  # the worker starts loading now (in the checkouts that have one)
    embedder = make_embedder(settings)
    embedder.embed(["warm up"])
    out["embedder_load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    assistant = Assistant(settings, store=open_store(settings, embedder, create=False), embedder=embedder, generator=generator)
    out["store_and_bm25_s"] = time.perf_counter() - t
    t = time.perf_counter()
    startup = getattr(generator, "startup_timings", None)
    if startup:  # the worker's own figures; waiting for it is what it adds to this process
        figures = startup()
        out.update(model_load_s=figures["import_s"] + figures["load_s"], system_prompt_s=figures["prime_s"])
    else:
        generator._model()  # type: ignore[union-attr]
        out.update(model_load_s=time.perf_counter() - t, system_prompt_s=float("nan"))  # evaluated inside the answer
    out["waited_for_model_s"] = time.perf_counter() - t
    t = time.perf_counter()
    assistant.retriever.retrieve(ALLY)
    out["retrieval_s"] = time.perf_counter() - t
    t = time.perf_counter()
    assistant.ask(ALLY)
    out["answer_s"] = time.perf_counter() - t
    out["total_s"] = time.perf_counter() - t0
    print(json.dumps(out))


def _process_age() -> float:
    """Seconds since this process started (from /proc: clock ticks since boot)."""
    ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    return float(Path("/proc/uptime").read_text().split()[0]) - ticks / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def table(run: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    """Rows of this run, beside the baseline's figures and their ratio where both are numbers."""
    lines = [f"{'metric':<34} {'this run':>30} {'baseline':>30} {'ratio':>7}"]
    for key, value in run.items():
        old = (baseline or {}).get(key, "")
        ratio = f"{value / old:.2f}×" if isinstance(value, float | int) and isinstance(old, float | int) and old else ""
        lines.append(f"{key:<34} {_fmt(value):>30} {_fmt(old):>30} {ratio:>7}")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=3, help="fresh processes for the cold row (0: skip)")
    parser.add_argument("--save", type=Path, help="write this run's figures as JSON")
    parser.add_argument("--baseline", type=Path, help="a saved run to print beside this one")
    parser.add_argument("--sets", default="seed_dev,news_dev", help="eval sets over the bundled + eval briefings")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        return probe()
    with tempfile.TemporaryDirectory() as tmp:
        run = {"cpu": _cpu_model(), **warm(Path(tmp), args.sets.split(","))}
        if args.cold:
            run.update(cold(Path(tmp), args.cold))
    if args.save:
        args.save.write_text(json.dumps(run, indent=2))
    print(table(run, json.loads(args.baseline.read_text()) if args.baseline else None))


def _cpu_model() -> str:
    return next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")), "?")


if __name__ == "__main__":
    main()
