"""The model in a worker process, as Ollama runs its model runners: a crash costs one answer, not the service.

``WorkerGenerator`` is a ``Generator`` whose model lives in a child process (``python -m qa.generators.worker``)
speaking JSON lines over its stdin/stdout. The child is started at construction, so it loads (and
primes the fixed system prompt) while the parent loads the embedder and the index. When the child
dies mid-answer (SIGILL from a CPU-specific build, SIGSEGV, an OOM kill, kill -9), ``stream`` raises
one ``BriefQAError`` naming the cause and the fix, a fresh child is started at once, and the next
question is answered. Each call (a stream, a judge batch) has a deadline, ``Settings.model_deadline_s``: a child
that hangs past it (alive, but silent or never done) is killed and replaced the same way. One stream at a time, as
llama.cpp allows.

The engine is built in the child by a factory named ``"module:function"`` taking ``Settings``; it
has ``stream(messages, json_schema=, max_tokens=)`` and may have ``count_tokens(text)``,
``logprobs_many(prefix, items)`` (the support judge), ``reply_logprobs(marker, labels)`` and ``prime()`` (called once after loading). Example (tests/fakes.py has scripted engines)::

    gen = WorkerGenerator("tests.fakes:echo_engine", Settings(), name="echo")
    "".join(gen.stream([Message("user", "hi")], json_schema=None, max_tokens=8))   # 'hi'
    gen.close()
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from core.errors import BriefQAError
from core.settings import Settings
from qa.generators.base import Message

ROOT = Path(__file__).resolve().parents[2]  # the checkout, so the child imports the same code
_DEATHS = {
    signal.SIGILL: ("died with SIGILL (illegal instruction): llama.cpp was built for CPU features this machine refuses",
                    "rebuild it for this CPU: BRIEFQA_LLAMA_CPU=portable ./scripts/setup.sh, then briefqa doctor"),
    signal.SIGSEGV: ("crashed (SIGSEGV, a segmentation fault in the model runtime)",
                     "ask again (the worker has restarted); if it repeats, run briefqa doctor"),
    signal.SIGKILL: ("was killed (SIGKILL: out of memory, or killed by hand)",
                     "ask again (the worker has restarted); the model needs about 2 GB of free memory"),
}


class WorkerGenerator:
    """A ``Generator`` over an engine running in a restartable child process."""

    supports_logprobs = True  # the engine's logprobs_many / reply_logprobs, forwarded (the local llama.cpp engine)
    supports_schema = True

    def __init__(self, factory: str, settings: Settings, *, name: str) -> None:
        self.name = name
        self._factory = factory
        self._settings_json = settings.model_dump_json()
        self._deadline_s = settings.model_deadline_s
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._out: _Lines  # the child's output, set by _spawn
        self._log: IO[bytes] | None = None
        self._ready: dict[str, float] | None = None
        self.restarts = 0
        self._spawn()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def startup_timings(self) -> dict[str, float]:
        """The child's own start-up figures (import_s, load_s, prime_s), once it is ready."""
        with self._lock:
            return dict(self._wait_ready())

    def stream(
        self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None, max_tokens: int
    ) -> Iterator[str]:
        with self._lock:
            self._wait_ready()
            self._send({"op": "stream", "messages": [[m.role, m.content] for m in messages],
                        "json_schema": json_schema, "max_tokens": max_tokens})
            deadline = time.monotonic() + self._deadline_s  # the whole answer, however slowly it trickles
            done = False
            try:
                while not done:
                    reply = self._receive(deadline)
                    if "piece" in reply:
                        yield str(reply["piece"])
                    done = "done" in reply
            except GeneratorExit:  # the caller stopped reading: stop the child and drain what it still sends
                self._send({"op": "cancel"})
                while "done" not in self._receive(deadline):
                    pass
                raise

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in the worker model's vocabulary."""
        with self._lock:
            self._wait_ready()
            self._send({"op": "count", "text": text})
            return int(self._call_reply()["count"])

    def logprobs_many(self, prefix: str, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[float]]:
        """The engine's ``logprobs_many`` (the support judge's one forward pass per item), in one round trip."""
        with self._lock:
            self._wait_ready()
            self._send({"op": "logprobs", "prefix": prefix, "items": [[text, list(labels)] for text, labels in items]})
            return [[float(v) for v in row] for row in self._call_reply()["logprobs"]]

    def reply_logprobs(self, marker: str, labels: Sequence[str]) -> list[float] | None:
        """The engine's ``reply_logprobs`` for the last stream (``None`` when the engine has none)."""
        with self._lock:
            self._wait_ready()
            self._send({"op": "reply_logprobs", "marker": marker, "labels": list(labels)})
            row = self._call_reply()["logprobs"]
            return None if row is None else [float(v) for v in row]

    def close(self) -> None:
        """Stop the child (it also exits by itself when this process ends: its stdin closes)."""
        proc, self._proc = self._proc, None
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        _close_files(proc, self._log)

    def __del__(self) -> None:
        self.close()

    # --- the child process ---------------------------------------------------------------------------

    def _spawn(self) -> None:
        _close_files(self._proc, self._log)  # the dead or killed child's pipes and log, before the next child's
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen([sys.executable, "-m", "qa.generators.worker", self._factory], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._log, env=env)
        assert self._proc.stdout is not None
        self._out = _Lines(self._proc.stdout.fileno())
        self._ready = None
        self._send_raw(self._settings_json)

    def _wait_ready(self) -> dict[str, float]:
        if self._proc is None or self._proc.poll() is not None:
            self._spawn()
        if self._ready is None:
            reply = self._receive(time.monotonic() + self._deadline_s)  # loading and priming get a deadline of their own
            if "ready" not in reply:
                raise BriefQAError("the model worker sent an unexpected first message", "run briefqa doctor")
            self._ready = {k: float(v) for k, v in reply["ready"].items()}
        return self._ready

    def _send(self, request: Mapping[str, object]) -> None:
        self._send_raw(json.dumps(request))

    def _send_raw(self, line: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(line.encode() + b"\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the child is gone; the next read reports how it died

    def _call_reply(self) -> dict[str, Any]:
        """The one reply to the request just sent, within the deadline."""
        return self._receive(time.monotonic() + self._deadline_s)

    def _receive(self, deadline: float) -> dict[str, Any]:
        """The child's next message; a child that closed its output died, one silent past ``deadline`` is hung."""
        line = self._out.readline(deadline)
        if line is None:
            raise self._hung()
        if not line:
            raise self._died()
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise BriefQAError(reply["error"], reply["fix"])
        return reply

    def _died(self) -> BriefQAError:
        """The error for a child that closed its output: how it ended, then a fresh child."""
        assert self._proc is not None
        code = self._proc.wait()
        cause, fix = _DEATHS.get(-code, (f"exited with status {code}: {self._last_log_line()}", "run briefqa doctor"))
        self.restarts += 1
        self._spawn()  # load the next one now, while the user reads the error
        return BriefQAError(f"the model worker {cause}; this answer was lost", fix)

    def _hung(self) -> BriefQAError:
        """The error for a child that missed the deadline: killed, then a fresh child."""
        assert self._proc is not None
        self._proc.kill()
        self._proc.wait()
        self.restarts += 1
        self._spawn()
        return BriefQAError(f"the model worker gave no answer within {self._deadline_s:g} s and was replaced; this answer was lost",
                            "ask again; if it repeats, run briefqa doctor (or raise BRIEFQA_MODEL_DEADLINE_S for long answers)")

    def _last_log_line(self) -> str:
        assert self._log is not None
        self._log.seek(0)
        lines = [ln for ln in self._log.read().decode(errors="replace").splitlines() if ln.strip()]
        return lines[-1][:200] if lines else "no message"


def _close_files(proc: subprocess.Popen[bytes] | None, log: IO[bytes] | None) -> None:
    """Close a finished child's pipes and its log file (a service replacing children must not leak descriptors)."""
    for f in (proc.stdin, proc.stdout) if proc else ():
        if f is not None:
            try:
                f.close()
            except OSError:
                pass  # a pipe whose reader is gone: nothing left to flush
    if log is not None:
        log.close()


class _Lines:
    """Lines from a child's output pipe, each awaited until a deadline (``poll``, so a hung child cannot block us;
    unlike ``select`` it takes any descriptor number, however many files the process holds open).

    ``readline`` returns the line (``b""`` once the child closed its output), or ``None`` past the deadline."""

    def __init__(self, fd: int) -> None:
        self._fd, self._buf = fd, b""
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    def readline(self, deadline: float) -> bytes | None:
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self._poll.poll(max(1, int(left * 1000))):
                return None
            data = os.read(self._fd, 1 << 16)
            if not data:
                return b""
            self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        return line + b"\n"


# --- the child side: python -m qa.generators.worker module:function ------------------------------------------------


class _Requests:
    """Lines from fd 0, readable without blocking (to see a cancel while streaming)."""

    def __init__(self) -> None:
        self._buf = b""

    def next(self, block: bool = True) -> dict[str, Any] | None:
        while b"\n" not in self._buf:
            if not block and not select.select([0], [], [], 0)[0]:
                return None
            data = os.read(0, 1 << 16)
            if not data:
                raise SystemExit(0)  # the parent is gone
            self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line) if line.strip() else self.next(block)


def _serve(factory: str, out: IO[str]) -> None:
    def send(message: Mapping[str, object]) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    requests = _Requests()
    t0 = time.perf_counter()
    try:
        settings = Settings.model_validate(requests.next())
        module, _, func = factory.partition(":")
        build = getattr(importlib.import_module(module), func)
        t1 = time.perf_counter()
        engine = build(settings)
        t2 = time.perf_counter()
        if hasattr(engine, "prime"):
            engine.prime()
    except BriefQAError as err:
        send({"error": err.cause, "fix": err.fix})
        return
    send({"ready": {"import_s": t1 - t0, "load_s": t2 - t1, "prime_s": time.perf_counter() - t2}})
    while True:
        request = requests.next()
        assert request is not None
        try:
            _handle(engine, request, requests, send)
        except BriefQAError as err:
            send({"error": err.cause, "fix": err.fix})


def _handle(engine: Any, request: dict[str, Any], requests: _Requests, send: Any) -> None:
    if request["op"] == "count":
        send({"count": engine.count_tokens(request["text"])})
        return
    if request["op"] == "logprobs":
        send({"logprobs": engine.logprobs_many(request["prefix"], [(t, labels) for t, labels in request["items"]])})
        return
    if request["op"] == "reply_logprobs":
        scorer = getattr(engine, "reply_logprobs", None)
        send({"logprobs": scorer(request["marker"], request["labels"]) if scorer else None})
        return
    if request["op"] != "stream":  # a cancel that arrived after its stream had ended
        return
    messages = [Message(role, content) for role, content in request["messages"]]
    pieces = engine.stream(messages, json_schema=request["json_schema"], max_tokens=request["max_tokens"])
    try:
        for piece in pieces:
            send({"piece": piece})
            late = requests.next(block=False)
            if late is not None and late.get("op") == "cancel":
                break
    finally:
        getattr(pieces, "close", lambda: None)()
    send({"done": True})


def main() -> None:
    """Child entry point: protocol on a private copy of stdout; fd 1 goes to stderr (native libraries print)."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    try:
        _serve(sys.argv[1], out)
    except Exception as err:  # noqa: BLE001 - reported to the parent as one line, never a traceback
        out.write(json.dumps({"error": f"the model worker failed: {type(err).__name__}: {err}", "fix": "run briefqa doctor"}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
