"""The generators, by the name ``settings.generator`` gives: the one registry from which the
generator is built, the setting is checked and the CLI help is written.

To add a generator: a module here with a class that has ``name`` and ``stream`` (``base.Generator``)
and a ``build(settings)``; one ``Backend`` line in ``BACKENDS``.

>>> names()
['local', 'extractive', 'openai', 'ollama']
>>> make_generator(Settings(generator="extractive")) is None
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from core.errors import BriefQAError
from core.settings import Settings
from qa.generators.base import Generator, Message

__all__ = ["BACKENDS", "Backend", "Generator", "Message", "help_text", "make_generator", "names"]


@dataclass(frozen=True)
class Backend:
    """A generator choice: its name, what it is, and the module whose ``build(settings)`` makes it
    (imported on use: llama.cpp and LangChain are heavy). No module: answers without a model."""

    name: str
    help: str
    module: str | None

    def build(self, settings: Settings) -> Generator | None:
        if self.module is None:
            return None
        make: Callable[[Settings], Generator] = import_module(self.module).build
        return make(settings)


BACKENDS = (
    Backend("local", "the bundled Qwen2.5-Coder-1.5B via llama.cpp", "qa.generators.llama_cpp"),
    Backend("extractive", "no model: the best sentences, grouped by speaker", None),
    Backend("openai", "any OpenAI-compatible server (BRIEFQA_LLM_MODEL, BRIEFQA_LLM_BASE_URL)", "qa.generators.openai_compat"),
    Backend("ollama", "an Ollama server (BRIEFQA_LLM_MODEL, BRIEFQA_LLM_BASE_URL)", "qa.generators.langchain"),
)
_BY_NAME = {b.name: b for b in BACKENDS}


def names() -> list[str]:
    return [b.name for b in BACKENDS]


def help_text() -> str:
    """The choices for a command's help: "local | extractive | openai | ollama"."""
    return " | ".join(names())


def backend(name: str) -> Backend:
    """The backend called ``name``, or a BriefQAError listing the choices."""
    if name not in _BY_NAME:
        raise BriefQAError(f"unknown generator {name!r}", f"set BRIEFQA_GENERATOR / --generator to one of: {help_text()}")
    return _BY_NAME[name]


def make_generator(settings: Settings) -> Generator | None:
    """The generator ``settings.generator`` names; None for "extractive" (answers without a model)."""
    return backend(settings.generator).build(settings)
