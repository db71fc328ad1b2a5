"""The answer backends' registry: a small protocol, a name -> backend table, and plug-ins.

The pipeline, the app's backend picker, the CLI's help and the settings all read this table, so a
new backend is one file that calls ``register`` plus one import line in ``chatbot/backends/__init__.py``
(or, from another package, an entry point in the ``ragchat.backends`` group, as ``llm`` plug-ins do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Protocol, TypeVar

from chatbot.chooser import Candidate
from ragchat.settings import Settings
from vectorstore.passages import Passage
from vectorstore.request import Turn

Rewriter = Callable[[str, Sequence[Turn]], str]


class BackendError(Exception):
    """A backend could not answer; the message says why in one line (the answer falls back to extractive)."""


@dataclass(frozen=True)
class Input:
    """A setting the app asks for when this backend is picked."""

    setting: str  # a Settings field name, e.g. "llm_base_url"
    label: str
    placeholder: str = ""


@dataclass(frozen=True)
class DraftRequest:
    """What a backend writes its answer from."""

    question: str
    history: tuple[Turn, ...]
    passages: Sequence[Passage]  # numbered [1]..[n] in this order
    picks: Sequence[Candidate]  # the extractive chooser's sentences, best first
    settings: Settings


@dataclass(frozen=True)
class Draft:
    """The answer as sentences with the passage indexes (0-based) each one cites."""

    sentences: list[tuple[str, list[int]]]
    dropped_markers: int = 0  # [n] markers that pointed at no passage
    refused: bool = False  # the backend said the passages do not answer
    streamed: bool = False  # its text was already shown piece by piece while it was written
    notices: tuple[str, ...] = ()  # what the reader should know about how it was written (e.g. passages left out)


class Backend(Protocol):
    name: str
    label: str
    inputs: tuple[Input, ...]

    def status(self, settings: Settings) -> str:
        """One line: can it answer right now, and if not, what to do (a cheap probe, no generation)."""

    def draft(self, request: DraftRequest) -> Iterator[str | Draft]:
        """Text pieces to show while writing (if any), then one ``Draft``; ``BackendError`` on failure."""

    def rewriter(self, settings: Settings) -> Rewriter | None:
        """A follow-up rewriter using the same model, or None to use the deterministic one."""


B = TypeVar("B", bound=Backend)
_BACKENDS: dict[str, Backend] = {}
_PLUGINS_LOADED = False


def register(backend: B) -> B:
    _BACKENDS[backend.name] = backend
    return backend


def names() -> tuple[str, ...]:
    _load_plugins()
    return tuple(_BACKENDS)


def get(name: str) -> Backend:
    """The backend called ``name`` (any case); ValueError naming the choices if there is none."""
    _load_plugins()
    backend = _BACKENDS.get(name.lower())
    if backend is None:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(_BACKENDS)}")
    return backend


def _load_plugins() -> None:
    global _PLUGINS_LOADED
    if not _PLUGINS_LOADED:
        _PLUGINS_LOADED = True
        for plugin in entry_points(group="ragchat.backends"):
            plugin.load()  # the module registers its backend on import
