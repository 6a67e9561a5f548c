"""Compatibility: ``from qa.answer import ask, ask_stream`` (the query functions live in ``qa.service``,
the question's path in ``qa.assistant``)."""

from qa.assistant import Assistant
from qa.service import FROM_SETTINGS, ask, ask_stream

__all__ = ["FROM_SETTINGS", "Assistant", "ask", "ask_stream"]
