"""The layering a newcomer relies on: data flows ingest -> vectorstore -> chatbot, text helpers are a leaf.

Read from the source with ``ast``, so a stray import that would make the layers depend on each
other in a circle fails here, with the module and the import named, before it confuses anyone.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("ragchat", "ingest", "vectorstore", "chatbot", "evals", "prompts")
# What each layer may import from the project at module level (a prefix match on module names).
ALLOWED = {
    "ragchat.text": ("ragchat.text",),
    "ragchat.settings": (),
    "prompts": (),
    "ingest": ("ingest", "prompts", "ragchat.settings", "ragchat.text", "vectorstore"),
    "vectorstore": ("vectorstore", "ragchat.settings", "ragchat.text"),
    "chatbot.ui": ("chatbot", "prompts", "ragchat.library", "ragchat.settings", "ragchat.text", "vectorstore.store"),
    "chatbot": ("chatbot", "ragchat.settings", "ragchat.text", "prompts", "vectorstore"),
}
# The Evaluation page is the one place the app shows benchmark results.
EXCEPTIONS = {"chatbot.ui.pages.evaluation": ("evals",)}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
            names.add(node.module)
    return {n for n in names if n.split(".")[0] in PACKAGES}


def _rule(module: str) -> tuple[str, ...] | None:
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return ALLOWED[layer] + EXCEPTIONS.get(module, ())
    return None


def test_each_layer_imports_only_what_is_below_it():
    wrong = []
    for module, path in _modules().items():
        allowed = _rule(module)
        if allowed is None:
            continue
        for name in _imports(path, top_level_only=False):
            if not any(name == a or name.startswith(a + ".") for a in allowed):
                wrong.append(f"{module} imports {name}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles_between_modules():
    modules = _modules()
    graph = {m: {n for n in _imports(p, top_level_only=True) if n in modules and n != m} for m, p in modules.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]) if nxt in trail else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)
