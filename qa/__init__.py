"""Question answering: retrieve → decide → generate → cite → verify → compose (``qa.assistant``).

Entry points: ``from qa import ask, ask_stream, check, Filters`` (imported on first use, so ``import qa.records`` stays light).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Filters", "ask", "ask_stream", "check"]


def __getattr__(name: str) -> Any:
    if name == "Filters":
        from index.filters import Filters

        return Filters
    if name in __all__:
        from qa import service

        return getattr(service, name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
