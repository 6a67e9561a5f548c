"""User-facing errors: one line naming the cause and the fix, never a traceback.

>>> str(BriefQAError("no index at /tmp/x", "run `briefqa index add PATH` first"))
'no index at /tmp/x. Fix: run `briefqa index add PATH` first'
"""

from __future__ import annotations


class BriefQAError(Exception):
    """An error a user can hit and fix. The CLI prints ``str(err)`` and exits non-zero."""

    def __init__(self, cause: str, fix: str) -> None:
        super().__init__(cause, fix)
        self.cause = cause
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.cause}. Fix: {self.fix}"
