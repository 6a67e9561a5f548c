"""Rows of a long benchmark, kept as they finish: each is appended to ``--out`` as a JSON line (so a run cut
short keeps them, and ``--table-from`` prints its table later) and reported on stderr in one line.

    rows = RowLog(Path("/tmp/rows.jsonl"))       # RowLog(None): report only
    rows.add(row, f"q{row.qid} {'✔' if row.ok else '✘'}")
    saved = RowLog.load(Path("/tmp/rows.jsonl"), Row)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class RowLog:
    """Appends each finished row (a dataclass) to ``out`` (emptied first) and prints its line."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        if out:
            out.write_text("", encoding="utf-8")

    def add(self, row: Any, line: str) -> None:
        if self.out:
            with self.out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(asdict(row)) + "\n")
        print(f"  {line}", file=sys.stderr, flush=True)

    @staticmethod
    def load(path: Path, make: Callable[..., T]) -> list[T]:
        """The rows saved in ``path``, each built by ``make(**fields)``."""
        return [make(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
