"""The library as a Model Context Protocol server over stdio, for desktop assistants and agents.

An assistant that can call ``search``, ``ask`` and ``list_documents`` answers from the user's own
documents with quotes it can show, and reads a whole document as a resource
(``ragchat://documents/<doc_id>``) when a quote needs its context. Like the HTTP server this is a
thin shell over ``Library``: the same answers, refusals and citations as every other shell.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import Resource

from chatbot import backends
from ragchat.library import Library
from ragchat.settings import Settings
from vectorstore.store import DocRecord, StoreError

URI = "ragchat://documents/{doc_id}"


class LibraryServer(MCPServer):
    """An MCP server whose resource list is the library's documents at the moment it is asked."""

    def __init__(self, library: Library):
        self.library = library
        self._warm: Future | None = None
        super().__init__("ragchat", lifespan=self._warming,
                         instructions="Answers from the user's documents with [n] citations to verbatim quotes. "
                                      "Use `ask` for an answer, `search` for raw passages; cite the quotes you use.")

    @asynccontextmanager
    async def _warming(self, server: MCPServer) -> AsyncIterator[None]:
        """Open the models in the background, so the client's handshake is not kept waiting for them."""
        with ThreadPoolExecutor(1, thread_name_prefix="warm") as pool:
            self._warm = pool.submit(self.library.warm)
            yield

    async def ready(self) -> None:
        """Wait for the warm-up (a tool called at once must not open a second copy alongside it)."""
        if self._warm is not None:
            try:
                await asyncio.wrap_future(self._warm)
            except StoreError:  # reported by the call that needs the store; warm() runs again then
                self._warm = None

    async def list_resources(self) -> list[Resource]:
        records = await anyio.to_thread.run_sync(self.library.documents)
        return [Resource(uri=URI.format(doc_id=r.doc_id), name=r.source, title=r.title or r.source,
                         description=_about(r), mime_type="text/plain") for r in records]


def build(library: Library) -> LibraryServer:
    server = LibraryServer(library)

    @server.tool()
    async def ask(question: str, backend: str | None = None, k: int | None = None,
                  docs: list[str] | None = None) -> dict[str, Any]:
        """Answer a question from the user's documents.

        Returns the answer text with [n] markers and, for each n, the verbatim quote that backs it
        with its document, date and character offsets. `abstained` is true when the documents do not
        answer the question; the citations are then the closest passages, not support.
        `backend`: extractive (default), ollama, openai or llamacpp. `k`: passages to read.
        `docs`: only these documents (file names or ids from list_documents).
        """
        if backend and backend not in backends.names():
            raise ToolError(f"unknown backend {backend!r}; choose one of {', '.join(backends.names())}")
        await server.ready()
        result = await _call(library.ask, question, backend=backend, k=k, docs=docs)
        return {"answer": result.answer, "abstained": result.abstained, "backend": result.backend,
                "citations": [{"n": c.n, "quote": c.quote, "source": c.source, "title": c.title, "author": c.author,
                               "date": c.date, "page": c.page, "start": c.start, "end": c.end, "support": c.support,
                               "instruction_like": c.instruction_like, "document": URI.format(doc_id=c.doc_id)} for c in result.citations],
                "unsupported_sentences": [s.text for s in result.sentences if not s.supported],
                "notices": result.notices}

    @server.tool()
    async def search(question: str, k: int | None = None, docs: list[str] | None = None) -> list[dict[str, Any]]:
        """Passages of the user's documents most relevant to the question, best first, without answering.

        Each has its text, document, date, character offsets into the document, and score.
        """
        await server.ready()
        found = await _call(library.search, question, k=k, docs=docs)
        return [{"text": p.text, "source": p.source, "title": p.title, "date": p.date, "page": p.page,
                 "start": p.start, "end": p.end, "score": round(p.score, 4),
                 "document": URI.format(doc_id=p.doc_id)} for p in found.passages]

    @server.tool()
    async def list_documents() -> list[dict[str, Any]]:
        """The documents in the library: file name, title, author, date, passages, and their resource URI."""
        records = await _call(library.documents)
        return [{**_public(r), "document": URI.format(doc_id=r.doc_id)} for r in records]

    @server.resource(URI, name="document", mime_type="text/plain",
                     description="A document's cleaned text; citation offsets point into it.")
    async def document(doc_id: str) -> str:
        try:
            return await anyio.to_thread.run_sync(library.document_text, doc_id)
        except StoreError as exc:
            raise ResourceError(str(exc)) from None

    return server


async def _call(function, *args, **kwargs):
    """Run a blocking library call off the event loop; its one-line errors become the tool's error."""
    try:
        return await anyio.to_thread.run_sync(lambda: function(*args, **kwargs))
    except (StoreError, ValueError) as exc:
        raise ToolError(str(exc)) from None


def _public(record: DocRecord) -> dict[str, Any]:
    """What a client needs of a record; where the file sits on this machine is not its business."""
    data = asdict(record)
    for private in ("path", "content_hash"):
        data.pop(private)
    return data


def _about(record: DocRecord) -> str:
    parts = [record.author, record.publisher, record.date]
    return ", ".join(p for p in parts if p) or record.source


def run(settings: Settings) -> None:
    """Serve over stdin/stdout until the client closes them."""
    build(Library(settings)).run("stdio")
