"""The library API: what the CLI, the chat app, the HTTP and MCP servers and the tests all call.

One ``Library`` per store holds what is expensive to open (the embedding model, the Chroma
client, the lexical index), so a long-running shell answers warm and every shell gets the same
answers, refusals and citations. The shells only translate: arguments in, ``Answer`` out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chatbot.schema import Answer
from ragchat.settings import Settings
from vectorstore.request import RetrievalRequest, Turn
from vectorstore.store import DocRecord, Store, StoreError


@dataclass(frozen=True)
class UploadResult:
    added: list[str] = field(default_factory=list)  # uploaded names now in the library
    refused: list[tuple[str, str]] = field(default_factory=list)  # (uploaded name, one-line reason)


class Library:
    """Ask, search and manage the documents of one store (the one ``settings`` point at)."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings)
        return self._store

    def warm(self) -> None:
        """Open the store, indexes and models now, so the first question (or many at once) finds them open."""
        from chatbot.resources import resources

        # The model itself loads on first use; loaded here, requests racing to it cannot each load a copy.
        resources(self.settings).retriever.embeddings.embed_query("warm up")
        # Opened now too: Chroma clients created by two requests at the same moment fail on the tenant.
        self.store

    # -- asking ------------------------------------------------------------------------------
    def stream(self, question: str, history: Sequence[Turn] = (), *, backend: str | None = None, k: int | None = None,
               docs: Sequence[str] | None = None, date_from: str | None = None,
               date_to: str | None = None) -> Iterator[str | Answer]:
        """Text pieces as they are produced, then the final, checked ``Answer``."""
        from chatbot.pipeline import stream_answer

        _check_question(question)
        request = RetrievalRequest.of(history, k=k, docs=docs, date_from=date_from, date_to=date_to)
        return stream_answer(question, request, settings=self.settings, backend=backend)

    def ask(self, question: str, history: Sequence[Turn] = (), **options) -> Answer:
        """The finished answer (the last item of ``stream``)."""
        result = None
        for result in self.stream(question, history, **options):
            pass
        assert isinstance(result, Answer)
        return result

    def search(self, question: str, history: Sequence[Turn] = (), *, k: int | None = None,
               docs: Sequence[str] | None = None, date_from: str | None = None, date_to: str | None = None):
        """The passages an answer would be written from, best first, without answering."""
        from vectorstore.retrieval import open_retriever

        _check_question(question)
        request = RetrievalRequest.of(history, k=k, docs=docs, date_from=date_from, date_to=date_to)
        return open_retriever(self.settings).retrieve(question, request)

    @staticmethod
    def turn_of(result: Answer) -> Turn:
        """The history entry for an answer, so a follow-up can point back at what it cited."""
        from chatbot.schema import turn_of

        return turn_of(result)

    def quoted_chunks(self, quotes: Iterable[tuple[str, int, int]]) -> tuple[str, ...]:
        """The chunk ids holding quotes given as (where: a line naming the file first, start, end).

        A chat client sends back only the text of earlier answers: their Sources lines ("[1]
        report.txt - Title, chars 120-260, ...") are all that says which passages they cited, which a
        follow-up ("Who wrote it?", "And in 2024?") needs. Lines naming no document here are skipped.
        """
        from chatbot.resources import resources

        res = resources(self.settings)  # its records are read once per index version, not per request
        records = res.current().documents.values()
        wanted: dict[str, list[tuple[int, int]]] = {}
        for where, start, end in quotes:
            named = [r for r in records if where == r.source or where.startswith(r.source + " ")]
            if named:
                wanted.setdefault(max(named, key=lambda r: len(r.source)).doc_id, []).append((start, end))
        chunks = res.store.chunks_of(wanted) if wanted else {}
        return tuple(dict.fromkeys(c.chunk_id for d, spans in wanted.items() for start, end in spans
                                   for c in chunks.get(d, ()) if c.start < end and start < c.end))

    # -- the documents -----------------------------------------------------------------------
    @staticmethod
    def supported_types() -> tuple[str, ...]:
        """File suffixes ingest reads (".txt", ".pdf", ...)."""
        from ingest.loaders import SUPPORTED

        return tuple(SUPPORTED)

    def documents(self) -> list[DocRecord]:
        return sorted(self.store.documents().values(), key=lambda r: (r.date or "9999", r.label))

    def document_text(self, doc_id: str) -> str:
        return self.store.document_text(doc_id)

    def ingest(self, paths: Iterable[Path | str], *, reset: bool = False, prune: bool = False, progress: bool = True,
               on_error: Callable[[str, str], None] | None = None, follow_links: bool = False):
        from ingest.pipeline import ingest

        return ingest(paths, self.settings, reset=reset, prune=prune, store=self.store, progress=progress,
                      on_error=on_error, follow_links=follow_links)

    def add_files(self, files: Sequence[tuple[str, bytes]],
                  progress: Callable[[int, str], None] = lambda done, name: None) -> UploadResult:
        """Uploaded (name, content) pairs checked, saved under the uploads folder and ingested."""
        from ingest.uploads import add_files

        added, refused = add_files(files, self.settings, self.store, progress)
        return UploadResult(added, refused)

    def delete_document(self, doc_id: str) -> DocRecord:
        """Remove a document (id or file name) and its chunks, and its saved copy if it was uploaded;
        ``StoreError`` if there is none."""
        from ingest.pipeline import remove_documents
        from ingest.uploads import forget_upload

        records = self.store.documents()
        record = records.get(doc_id) or next((r for r in records.values() if r.source == doc_id), None)
        if record is None:
            raise StoreError(f"no document {doc_id!r} in the store at {self.settings.location}")
        remove_documents([record.doc_id], self.settings, self.store)
        forget_upload(record.path, self.settings)
        return record


def _check_question(question: str) -> None:
    if not question.strip():
        raise ValueError("question: empty; ask something about the documents")
