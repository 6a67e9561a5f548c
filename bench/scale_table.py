"""The printed table of ``bench/scale.py``: one column per collection size, growth ratios against the smallest.

>>> fmt(0.01234), fmt(12.345), signed(-3.2)
('0.012', '12.3', '-3.20 ms')
"""

from __future__ import annotations

from collections.abc import Callable


def fmt(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}" if abs(x) >= 0.1 else f"{x:.3f}"


def signed(ms: float) -> str:
    return ("+" if ms >= 0 else "-") + fmt(abs(ms)) + " ms"


def table(runs: list[dict], servers: dict[int, dict], ratio: float) -> list[str]:
    sizes = [r["size"] for r in runs]
    base = runs[0]

    def k(n: int) -> str:
        return f"{n // 1000}k" if n % 1000 == 0 else str(n)

    rows: list[tuple[str, list[str], str]] = []

    def row(name: str, get: Callable[[dict], float], unit_ratio: bool = True) -> None:
        values = [get(r) for r in runs]
        growth = " / ".join(f"{v / values[0]:.1f}x" if values[0] else "-" for v in values[1:]) if unit_ratio and len(values) > 1 else ""
        rows.append((name, [fmt(v) for v in values], growth))

    rows.append(("articles / chunks", [f"{r['articles']} / {r['chunks']}" for r in runs], ""))
    row("build s (index add of the whole set)", lambda r: r["build_s"])
    for kind, label in (("dense", "dense store.query"), ("bm25", "BM25 search"), ("fused", "fused Retriever.retrieve")):
        row(f"{label} p50 ms", lambda r, kind=kind: r[kind]["p50"])
        row(f"{label} p95 ms", lambda r, kind=kind: r[kind]["p95"])
    row("add 100, before: total s", lambda r: r["add_before"]["total"])
    row("  list all articles s", lambda r: r["add_before"]["list"])
    row("  BM25 full rebuild s", lambda r: r["add_before"]["bm25"])
    row("add 100, after: total s", lambda r: r["add_after"]["total"])
    row("  BM25 delta update s", lambda r: r["add_after"]["bm25"])
    row(f"BM25 merge (rebuild at {ratio:.0%} delta) s", lambda r: r["merge_s"])
    row("add 100, after, merge amortised s", lambda r: amortised(r, ratio))
    row("add 100: before / after (amortised)", lambda r: r["add_before"]["total"] / amortised(r, ratio), unit_ratio=False)
    row("open for writing, new process s", lambda r: r["open"]["total_s"])
    row("  of which BM25 load (main + log) s", lambda r: r["open"]["bm25_load_s"])
    row("  full store.repair() (was run on every open) s", lambda r: r["open"]["repair_s"])
    row("disk MB: Chroma", lambda r: r["disk_mb"]["chroma"])
    row("disk MB: BM25", lambda r: r["disk_mb"]["bm25"])
    row("RSS MB, fresh process serving queries", lambda r: r["open"]["serving_rss_mb"])
    row("RSS MB, builder after queries", lambda r: r["rss_query_mb"])
    row("RSS MB, builder peak", lambda r: r["rss_peak_mb"])
    for size, server in sorted(servers.items()):
        emb = next(r for r in runs if r["size"] == size)["open"]  # a fresh embedded process, just before the server
        cells = [""] * len(runs)
        col = sizes.index(size)
        for name, value in (
            (f"server ({k(size)}): dense p50 / p95 ms", f"{fmt(server['dense']['p50'])} / {fmt(server['dense']['p95'])}"),
            (f"server ({k(size)}): dense p50 vs embedded*", signed(server['dense']['p50'] - emb['dense']['p50'])),
            (f"server ({k(size)}): fused p50 / p95 ms", f"{fmt(server['fused']['p50'])} / {fmt(server['fused']['p95'])}"),
            (f"server ({k(size)}): fused p50 vs embedded*", signed(server['fused']['p50'] - emb['fused']['p50'])),
            (f"server ({k(size)}): first query s, server RSS MB", f"{fmt(server['first_query_s'])}, {fmt(server['server_rss_mb'])}"),
        ):
            cells = [""] * len(runs)
            cells[col] = value
            rows.append((name, cells, ""))
    width = max(len(r[0]) for r in rows)
    widths = [max(len(k(s)), *(len(r[1][i]) for r in rows)) for i, s in enumerate(sizes)]
    growth_head = " / ".join(f"{k(s)}÷{k(base['size'])}" for s in sizes[1:])
    lines = [f"{'metric':<{width}}  " + "  ".join(f"{k(s):>{w}}" for s, w in zip(sizes, widths)) + f"  growth {growth_head}"]
    for name, cells, growth in rows:
        lines.append(f"{name:<{width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths)) + (f"  {growth}" if growth else ""))
    return lines


def amortised(r: dict, ratio: float) -> float:
    """The new add plus its share of the merge it brings closer: merges come every ratio x chunks / chunks-per-add adds."""
    return r["add_after"]["total"] + r["merge_s"] * r["add_after"]["chunks"] / max(1.0, ratio * r["chunks"])
