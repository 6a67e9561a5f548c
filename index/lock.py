"""One writing process per data dir: an advisory ``flock`` held while a process may write.

Embedded Chroma keeps part of its index in the memory of the process that opened it, so two
processes writing one data dir (the chat page and ``briefqa index add``, say) would each miss the
other's writes. The first writer holds ``<data_dir>/.writer.lock``; another process trying to write
gets one clear error naming the holder. The kernel drops the lock when its holder exits, even on
``kill -9``, so a crash never leaves the index locked. Within one process the lock is shared.

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> hold_writer_lock(d, "doctest") is hold_writer_lock(d, "doctest again")
True
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import TextIO

from core.errors import BriefQAError

_held: dict[str, TextIO] = {}
_guard = threading.Lock()


def hold_writer_lock(data_dir: Path, purpose: str) -> TextIO:
    """Take (or reuse, in this process) the data dir's writer lock; raise if another process has it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key = str(data_dir.resolve())
    with _guard:
        if key in _held:
            return _held[key]
        handle = open(data_dir / ".writer.lock", "a+", encoding="utf-8")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise BriefQAError(
                f"the index at {data_dir} is being written by {holder}",
                "wait for it to finish; while the chat page runs, add briefings from its Briefings tab",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{purpose} (pid {os.getpid()})")
        handle.flush()
        _held[key] = handle
        return handle
