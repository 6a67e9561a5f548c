"""Desk load (issue 23, docs/deploy.md): answers/minute and the p50/p95 latency users see, for N concurrent MCP users,
in two set-ups on this machine with the same questions: 1 replica with the in-process model (``serve --mcp``,
``BRIEFQA_GENERATOR=local``) and 2 replicas over one llama.cpp OpenAI-compatible server (``python -m
llama_cpp.server``, ``BRIEFQA_GENERATOR=openai``). Both over one ``chroma run`` holding the bundled and eval
briefings; the judge off in both (the OpenAI backend gives it no log-probabilities).

    .venv/bin/python bench/desk_load.py --users 20 --rounds 1
    .venv/bin/python bench/desk_load.py --smoke     # the harness without a model: hash embedder, a scripted model server

Each user opens one MCP session and asks ``--rounds`` questions of ``--questions`` (default ``eval/seed_dev.jsonl``;
user i starts at question i, so with 7 questions users repeat each other, and with ``eval/news_dev.jsonl`` they do not);
a latency is one ``ask`` call, queueing included. A warm-up question per replica is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402
from qa.model_files import MODEL_FILENAME  # noqa: E402
from qa.service import open_indexer  # noqa: E402

BIN = Path(sys.executable).parent
WAIT_S = 3600.0  # how long a queued user, a replica's model call or its wait for the model server may take here
DRAFT = '{"answerable": true, "answer": "As the briefing says [S1].", "verdict": "n/a"}'


@dataclass(frozen=True)
class Row:
    """One set-up's figures."""

    setup: str
    answers: int
    failed: int
    wall_s: float
    latencies: tuple[float, ...]

    def line(self) -> str:
        ordered = sorted(self.latencies) or [float("nan")]
        p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        per_min = 60 * self.answers / self.wall_s if self.wall_s else 0.0
        return f"| {self.setup} | {self.answers} | {self.failed} | {per_min:.1f} | {p50:.1f} | {p95:.1f} |"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], what: str, limit_s: float = 600) -> None:
    """Poll ``url`` until anything answers (the process must stay alive)."""
    deadline = time.monotonic() + limit_s
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with status {proc.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start within {limit_s:.0f} s") from None
            time.sleep(0.5)


@contextmanager
def process(args: Sequence[str], env: dict[str, str], url: str, what: str) -> Iterator[subprocess.Popen[bytes]]:
    """A server process for the ``with`` block, up once ``url`` answers."""
    proc = subprocess.Popen(list(args), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(url, proc, what)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Scripted(BaseHTTPRequestHandler):
    """--smoke's model server: every chat completion streams ``DRAFT`` (OpenAI server-sent events)."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        events = [{"choices": [{"index": 0, "delta": {"content": DRAFT}, "finish_reason": None}]},
                  {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def do_GET(self) -> None:  # noqa: N802 - answers the start-up poll
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def model_server(smoke: bool, env: dict[str, str]) -> Iterator[str]:
    """The one model server (its /v1 URL): llama-cpp-python's with the bundled GGUF, or --smoke's scripted one."""
    port = free_port()
    if smoke:
        server = ThreadingHTTPServer(("127.0.0.1", port), _Scripted)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            server.shutdown()
        return
    gguf = Settings().model_dir / MODEL_FILENAME
    threads = str(os.cpu_count() or 1)  # as the in-process worker uses (BRIEFQA_N_THREADS=0); the server's default is half
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", "4096", "--model_alias", "qwen", "--n_threads", threads, "--n_threads_batch", threads]
    with process(args, env, f"http://127.0.0.1:{port}/v1/models", "the llama.cpp server"):
        yield f"http://127.0.0.1:{port}/v1"


async def _user(url: str, questions: Sequence[str]) -> tuple[list[float], int]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    latencies, failed = [], 0
    http = httpx2.AsyncClient(timeout=httpx2.Timeout(WAIT_S))  # the 20th user waits ~20 answers: no client-side cut-off
    async with Client(streamable_http_client(url, http_client=http), read_timeout_seconds=WAIT_S) as client:
        for q in questions:
            t = time.perf_counter()
            result = await client.call_tool("ask", {"question": q})
            failed += bool(result.is_error)
            latencies.append(time.perf_counter() - t)
    return latencies, failed


async def _load(urls: Sequence[str], questions: Sequence[str], users: int, rounds: int) -> tuple[list[float], int]:
    plans = [[questions[(i + r) % len(questions)] for r in range(rounds)] for i in range(users)]
    done = await asyncio.gather(*(_user(urls[i % len(urls)], plan) for i, plan in enumerate(plans)))
    return [x for lat, _ in done for x in lat], sum(f for _, f in done)


def run_setup(name: str, envs: Sequence[dict[str, str]], questions: Sequence[str], users: int, rounds: int) -> Row:
    """Start one replica per env, warm each with one question, then the users; stop the replicas."""
    ports = [free_port() for _ in envs]
    urls = [f"http://127.0.0.1:{p}/mcp" for p in ports]
    procs = [subprocess.Popen([str(BIN / "briefqa"), "serve", "--mcp", "--port", str(p)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for p, env in zip(ports, envs)]
    try:
        for proc, url in zip(procs, urls):
            wait_http(url, proc, f"the replica at {url}")
            asyncio.run(_user(url, questions[:1]))
        started = time.perf_counter()
        latencies, failed = asyncio.run(_load(urls, questions, users, rounds))
        wall = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
    return Row(name, len(latencies) - failed, failed, wall, tuple(latencies))


def desk_env(base: dict[str, str], data_dir: Path, **values: str) -> dict[str, str]:
    return {**base, "BRIEFQA_DATA_DIR": str(data_dir), **{f"BRIEFQA_{k}": v for k, v in values.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1, help="questions per user")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "seed_dev.jsonl",
                        help="a question set (.jsonl); follow-ups are left out")
    parser.add_argument("--smoke", action="store_true", help="no model: hash embedder, extractive in-process, a scripted model server")
    args = parser.parse_args()
    rows_in = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    questions = [r["question"] for r in rows_in if not r.get("history")]
    embedder = "hash" if args.smoke else "minilm-onnx"
    with tempfile.TemporaryDirectory() as tmp:
        chroma_port = free_port()
        base = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "BRIEFQA_CHROMA_URL": f"http://127.0.0.1:{chroma_port}",
                "BRIEFQA_EMBEDDER": embedder, "BRIEFQA_JUDGE": "off", "BRIEFQA_LLM_TIMEOUT_S": str(WAIT_S), "BRIEFQA_MODEL_DEADLINE_S": str(WAIT_S)}
        chroma = [str(BIN / "chroma"), "run", "--path", f"{tmp}/chroma", "--host", "127.0.0.1", "--port", str(chroma_port)]
        with process(chroma, base, f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat", "chroma run"):
            settings = Settings(data_dir=Path(tmp) / "writer", embedder=embedder, chroma_url=base["BRIEFQA_CHROMA_URL"])
            open_indexer(settings, "bench/desk_load.py").add([ROOT / "briefings", ROOT / "eval" / "briefings"])
            local = desk_env(base, Path(tmp) / "r0", GENERATOR="extractive" if args.smoke else "local")
            rows = [run_setup("1 replica, in-process model", [local], questions, args.users, args.rounds)]
            with model_server(args.smoke, base) as url:
                remote = [desk_env(base, Path(tmp) / f"r{n}", GENERATOR="openai", LLM_BASE_URL=url, LLM_MODEL="qwen") for n in (1, 2)]
                rows.append(run_setup("2 replicas, one llama.cpp server", remote, questions, args.users, args.rounds))
    print(f"\n{args.users} concurrent users x {args.rounds} question(s), {len(questions)} questions of {args.questions.name}, "
          f"embedder {embedder}, judge off{' (smoke: no model)' if args.smoke else ''}\n")
    print("| set-up | answers | failed | answers/min | p50 s | p95 s |\n|---|---|---|---|---|---|")
    print("\n".join(r.line() for r in rows))


if __name__ == "__main__":
    main()
