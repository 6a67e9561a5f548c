"""Scale benchmark: retrieval latency, incremental adds, disk and memory at 1k, 10k and 100k articles.

    .venv/bin/python bench/scale.py [--sizes 1000,10000,100000] [--quick] [--server-sizes 10000|none] [--keep DIR]

Collections are synthetic and deterministic: each article is 3-8 sentences drawn, with a seed per
article, from the sentences of the BBC News corpus (../shared/corpora), the RGB en_fact passages
(../shared/bench/rgb) and the bundled briefings; duplicates are skipped, so every article is unique.
Store vectors come from the ``HashEmbedder`` (feature hashing, 384 dims, no model): the figures
measure Chroma, BM25 and our code, not the embedding model (see bench/embed.py for that).

Each size is built and measured in a fresh worker process (so RSS is that size's own), with the real
``Indexer`` into a temporary data dir. Reported per size: build time; p50/p95 of dense retrieval
(``store.query``, 24 chunks), BM25 (``bm25.search``, 24) and fused retrieval
(``qa.retrieve.Retriever.retrieve``: both, RRF, diversity, sentence evidence) over 50 RGB questions
x 3 rounds; adding 100 new articles — the old way (list every article to map paths, one upsert per
article and collection, BM25 rebuilt from every chunk; replayed here from the code before the
change) and the new way (metadata lookups for the new paths only, batched upserts, BM25 delta) —
plus the BM25 merge (full rebuild) that the delta triggers once it exceeds ``bm25_merge_ratio`` of
the index, amortised; opening the index for a write in a new process (repair + BM25 load); size on
disk; RSS. Ratios are against the smallest size of the same run. Then, for ``--server-sizes``, the
same data dir is served by ``chroma run`` (a subprocess, stopped at the end) and the same dense and
fused retrievals go through ``ChromaStore.connect`` (``chromadb.HttpClient``, as ``BRIEFQA_CHROMA_URL`` does):
the scale-out path's cost per query.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale_table import table  # noqa: E402
from bench.synthetic import questions, sentence_pool, write_collections  # noqa: E402
from index.bm25 import BM25Index  # noqa: E402
from index.embed import HashEmbedder  # noqa: E402
from index.clean import clean  # noqa: E402
from index.load import iter_documents  # noqa: E402
from index.records import Article  # noqa: E402
from core.settings import Settings  # noqa: E402

POOL = 24  # chunks asked of each retriever: Retriever's pool (top_chunks 8 x 3)
ADD = 100


# ----- measuring ---------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def latencies(fn: Callable[[str], object], items: Sequence, rounds: int) -> dict[str, float]:
    for item in items[:5]:
        fn(item)  # warm-up
    ms = []
    for _ in range(rounds):
        for item in items:
            t = time.perf_counter()
            fn(item)
            ms.append((time.perf_counter() - t) * 1000)
    return {"p50": median(ms), "p95": pct(ms, 0.95)}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def legacy_add(ix, path: Path) -> dict[str, float]:  # noqa: ANN001 - an Indexer
    """``Indexer.add`` as it was before the scale work (the "before" column), on today's store API:
    every stored article (texts included) listed to map paths to ids, one upsert per article and
    collection, BM25 rebuilt from every stored chunk."""
    from index.pipeline import _mean_unit

    import numpy as np

    t0 = time.perf_counter()
    docs = list(iter_documents([path]))
    by_path = {e.article.path: e.article.id for e in ix.store.articles()}
    stored = set(by_path.values())
    t_list = time.perf_counter() - t0
    pending = []

    def write() -> None:
        texts = [p.entry.article.text[s.start : s.end] for p in pending for s in p.entry.sentences]
        vectors, offset = ix.embedder.embed(texts), 0
        for p in pending:
            n = len(p.entry.sentences)
            sent_vecs = vectors[offset : offset + n]
            offset += n
            chunk_vecs = np.stack([_mean_unit(sent_vecs[list(c.sentence_ids)]) for c in p.chunks])
            ix.store.add(p.entry, p.chunks, chunk_vecs, sent_vecs)
        pending.clear()

    for doc in docs:
        article = clean(doc)
        if isinstance(article, Article) and article.id not in stored:
            pending.append(ix._prepare(article))
            if sum(len(p.entry.sentences) for p in pending) >= 256:
                write()
    write()
    t1 = time.perf_counter()
    ix.refresh_bm25()
    t2 = time.perf_counter()
    return {"total": t2 - t0, "list": t_list, "bm25": t2 - t1}


def worker(size: int, data_dir: Path, rounds: int, n_questions: int, profile: bool) -> dict:
    """Build one size and measure it (runs in its own process)."""
    from qa.service import open_indexer
    from qa.retrieve import Retriever

    pool = sentence_pool()
    src = data_dir.parent / f"src-{size}"
    src.mkdir(parents=True, exist_ok=True)
    sets = write_collections(pool, src, {"base": size, "add_before": ADD, "add_after": ADD})
    settings = Settings(data_dir=data_dir, embedder="hash")
    embedder = HashEmbedder()
    ix = open_indexer(settings, "bench/scale.py", embedder=embedder)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    build_s, _ = timed(lambda: ix.add([sets["base"]]))
    if profiler:
        profiler.stop()
        (data_dir.parent / f"profile-build-{size}.txt").write_text(profiler.output_text(unicode=False, color=False))
    store = ix.store
    chunks = len(ix.bm25.ids)
    out: dict = {"size": size, "articles": len(store.article_ids()), "chunks": chunks, "build_s": build_s}
    if out["articles"] != size:
        raise SystemExit(f"built {out['articles']} articles of {size}")

    qs = questions(n_questions)
    qvecs = list(embedder.embed(qs))
    bm25 = ix.bm25
    out["dense"] = latencies(lambda v: store.query(v, POOL), qvecs, rounds)
    out["bm25"] = latencies(lambda q: bm25.search(q, POOL), qs, rounds)
    s = settings
    retriever = Retriever(store, embedder, bm25, top_chunks=s.top_chunks, per_article=s.max_chunks_per_article, evidence=s.evidence_sentences)
    out["fused"] = latencies(retriever.retrieve, qs, rounds)
    out["rss_query_mb"] = rss_mb()

    # adding 100 new articles: the old way, then the new way (without a merge), then the merge
    out["add_before"] = legacy_add(ix, sets["add_before"])
    s.bm25_merge_ratio = float("inf")
    bm25_s = []
    update = ix._update_bm25

    def timed_update(change):  # noqa: ANN001, ANN202
        took, index = timed(lambda: update(change))
        bm25_s.append(took)
        return index

    ix._update_bm25 = timed_update
    if profiler:
        profiler = type(profiler)()
        profiler.start()
    add_s, results = timed(lambda: ix.add([sets["add_after"]]))
    if sum(r.status == "added" for r in results) != ADD:
        raise SystemExit(f"the incremental add added {sum(r.status == 'added' for r in results)} of {ADD}")
    if profiler:
        profiler.stop()
        (data_dir.parent / f"profile-add-{size}.txt").write_text(profiler.output_text(unicode=False, color=False))
    added_chunks = sum(r.chunks for r in results if r.status == "added")
    out["add_after"] = {"total": add_s, "bm25": sum(bm25_s), "chunks": added_chunks}
    # the incremental index answers as a rebuilt one would (same live chunk ids)
    live = sorted(ix.bm25.ids)
    out["merge_s"], rebuilt = timed(ix.refresh_bm25)
    assert live == sorted(rebuilt.ids), "incremental BM25 differs from the rebuilt one"
    out["rss_end_mb"] = rss_mb()
    out["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["disk_mb"] = {"chroma": disk_mb(settings.chroma_dir), "bm25": disk_mb(settings.bm25_dir)}
    out["chunks_end"] = len(rebuilt.ids)
    return out


def open_probe(data_dir: Path, n_questions: int, rounds: int) -> dict:
    """A new process opening the index for writing, as ``briefqa index add`` does (recovery + BM25 load), then
    serving the questions (latencies: the embedded baseline of the server probe that follows; RSS: what a
    process serving this index holds); last, the full ``store.repair()`` that opening now skips (it ran on
    every open before; now only for a data dir never marked clean — after a crash the journal names the
    few articles to check)."""
    from qa.service import open_indexer
    from qa.retrieve import Retriever

    open_s, ix = timed(lambda: open_indexer(Settings(data_dir=data_dir, embedder="hash"), "bench/scale.py", embedder=HashEmbedder()))
    load_s, bm25 = timed(lambda: ix.bm25)
    s = ix.settings
    retriever = Retriever(ix.store, ix.embedder, bm25, top_chunks=s.top_chunks, per_article=s.max_chunks_per_article, evidence=s.evidence_sentences)
    qs = questions(n_questions)
    qvecs = list(ix.embedder.embed(qs))
    dense = latencies(lambda v: ix.store.query(v, POOL), qvecs, rounds)
    fused = latencies(retriever.retrieve, qs, rounds)
    serving_rss = rss_mb()
    repair_s, _ = timed(ix.store.repair)
    return {"open_s": open_s, "bm25_load_s": load_s, "total_s": open_s + load_s, "serving_rss_mb": serving_rss, "repair_s": repair_s,
            "dense": dense, "fused": fused}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_probe(data_dir: Path, rounds: int, n_questions: int) -> dict:
    """Serve ``data_dir``'s Chroma with ``chroma run`` and time the same retrievals through ``ChromaStore.connect``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from index.chroma_store import ChromaStore
    from qa.retrieve import Retriever

    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    log = (data_dir.parent / "chroma-server.log").open("w")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(data_dir / "chroma"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        client, deadline = None, time.time() + 120
        while time.time() < deadline:
            try:
                client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False))
                client.heartbeat()
                break
            except Exception:  # noqa: BLE001 - not up yet
                client = None
                time.sleep(0.5)
        if client is None:
            raise RuntimeError("chroma run did not answer within 120 s; see chroma-server.log")
        embedder = HashEmbedder()
        store = ChromaStore.connect(f"http://127.0.0.1:{port}", embedder.name)  # the app's path (BRIEFQA_CHROMA_URL)
        qs = questions(n_questions)
        qvecs = list(embedder.embed(qs))
        first_s, _ = timed(lambda: store.query(qvecs[0], POOL))
        out = {"first_query_s": first_s, "dense": latencies(lambda v: store.query(v, POOL), qvecs, rounds)}
        settings = Settings(data_dir=data_dir, embedder="hash")
        bm25 = BM25Index.load(settings.bm25_dir)  # the worker left it matching the store
        s = settings
        retriever = Retriever(store, embedder, bm25, top_chunks=s.top_chunks, per_article=s.max_chunks_per_article, evidence=s.evidence_sentences)
        out["fused"] = latencies(retriever.retrieve, qs, rounds)
        status = Path(f"/proc/{proc.pid}/status")
        out["server_rss_mb"] = next(int(x.split()[1]) / 1024 for x in status.read_text().splitlines() if x.startswith("VmRSS:"))
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def machine() -> str:
    model = platform.processor() or ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {model}, {mem:.0f} GB RAM, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help="comma-separated article counts (default 1000,10000,100000)")
    parser.add_argument("--quick", action="store_true", help="sizes 500,5000, 20 questions x 2 rounds")
    parser.add_argument("--server-sizes", default=None, help="sizes to re-run over `chroma run` (default: every size; 'none')")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--questions", type=int, default=None)
    parser.add_argument("--profile", action="store_true", help="pyinstrument profiles of build and add, written beside the data")
    parser.add_argument("--keep", type=Path, default=None, help="build under this dir and keep it (default: a temp dir, removed)")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--open-probe", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 3)
    n_questions = args.questions or (20 if args.quick else 50)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.data_dir, rounds, n_questions, args.profile)))
        return
    if args.open_probe is not None:
        print(json.dumps(open_probe(args.open_probe, n_questions, rounds)))
        return

    sizes = [int(x) for x in (args.sizes or ("500,5000" if args.quick else "1000,10000,100000")).split(",")]
    server_sizes = sizes if args.server_sizes is None else [int(x) for x in args.server_sizes.split(",") if x.strip().isdigit()]
    root = args.keep or Path(tempfile.mkdtemp(prefix="briefqa-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    ratio = Settings().bm25_merge_ratio
    started = time.time()
    load = os.getloadavg()
    print(f"scale bench, {datetime.date.today()}, {machine()}", flush=True)
    print(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; data under {root}", flush=True)
    print("store vectors: HashEmbedder (feature hashing, 384 dims; not the MiniLM model), "
          f"{n_questions} RGB questions x {rounds} rounds, k={POOL}", flush=True)
    runs, servers = [], {}
    try:
        for size in sizes:
            data_dir = root / f"n{size}" / "data"
            shutil.rmtree(data_dir.parent, ignore_errors=True)
            cmd = [sys.executable, __file__, "--worker", str(size), "--data-dir", str(data_dir), "--rounds", str(rounds),
                   "--questions", str(n_questions)] + (["--profile"] if args.profile else [])
            t = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
            if done.returncode != 0:
                raise SystemExit(f"worker for {size} failed:\n{done.stderr[-4000:]}")
            run = json.loads(done.stdout.strip().splitlines()[-1])
            probe = subprocess.run([sys.executable, __file__, "--open-probe", str(data_dir), "--questions", str(n_questions), "--rounds", str(rounds)],
                                   capture_output=True, text=True, cwd=ROOT, check=False)
            if probe.returncode != 0:
                raise SystemExit(f"open probe for {size} failed:\n{probe.stderr[-4000:]}")
            run["open"] = json.loads(probe.stdout.strip().splitlines()[-1])
            runs.append(run)
            print(f"  {size}: measured in {time.perf_counter() - t:.0f} s", flush=True)
            if size in server_sizes:
                servers[size] = server_probe(data_dir, rounds, n_questions)
                print(f"  {size}: over chroma run, measured", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()
    print()
    print("\n".join(table(runs, servers, ratio)))
    if servers:
        print("* embedded: the same retrievals in a fresh process on the same data dir, measured just before the server")
    print(f"\nwall time {time.time() - started:.0f} s; load average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(json.dumps({"runs": runs, "servers": servers}), file=sys.stderr)


if __name__ == "__main__":
    main()
