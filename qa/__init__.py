"""Question answering: retrieve → decide → generate → cite → verify → compose (``qa.assistant``).

Entry points: ``from qa import ask, ask_stream`` (imported on first use, so ``import qa.records`` stays light).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ask", "ask_stream"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from qa import service

        return getattr(service, name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
