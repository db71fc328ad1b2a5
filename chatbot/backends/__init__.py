"""Who writes the answer: one module per backend, each registered by name (see ``registry``)."""

from chatbot.backends.registry import Backend, BackendError, Draft, DraftRequest, Input, get, names, register

# The built-in backends; each module registers itself. A new backend is one file and one line here.
from chatbot.backends import extractive, ollama, openai, llamacpp  # noqa: E402,F401  isort: skip  (this order in menus)

__all__ = ["Backend", "BackendError", "Draft", "DraftRequest", "Input", "get", "names", "register"]
