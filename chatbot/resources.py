"""What every question needs, opened once per store and shared by all threads: building it costs seconds.

The embedding model, spaCy's entity model and the fitted chooser weights are loaded once per
process; the store's retriever and what is read from it, once per store.

What is read from the store (document records, titles, full texts, chunk offsets) is reread
together whenever the retriever's index fingerprint changes, i.e. after any ingest: chunk ids are
positional, so an offset cached before a document changed would point at the wrong text.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from chatbot.chooser import Chooser, LibraryFacts
from chatbot.entities import EntityTagger
from chatbot.verify import SentenceEncoder
from ragchat.settings import Settings
from vectorstore.embeddings import LocalEmbeddings
from vectorstore.retrieval import HybridRetriever, open_retriever
from vectorstore.store import DocRecord, Store


@dataclass
class Resources:
    settings: Settings
    retriever: HybridRetriever
    encoder: SentenceEncoder
    tagger: EntityTagger
    model: Chooser  # the fitted answer chooser (settings.compose.chooser_file)
    version: str = ""  # index fingerprint the caches below were read at
    documents: dict[str, DocRecord] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # doc id -> "title author"
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    text: str | None = None  # every document's text, read on first need
    texts: dict[str, str] = field(default_factory=dict)  # the same, per doc id
    facts: LibraryFacts | None = None  # the same, prepared for the chooser

    @property
    def store(self) -> Store:
        return self.retriever.store

    def current(self) -> "Resources":
        version = self.retriever.index.fingerprint
        if version != self.version:
            self.documents = self.store.documents()
            self.titles = {d: f"{r.title} {r.author}" for d, r in self.documents.items()}
            self.spans, self.text, self.facts, self.version = {}, None, None, version
        return self

    def library_text(self) -> str:
        """All documents' text, so "never mentioned" is said only of what no document says."""
        self.current()
        if self.text is None:
            self.texts = {i: self.store.document_text(i) for i in self.documents}
            self.text = "\n".join(f"{self.titles[i]}\n{self.texts[i]}" for i in self.documents)
        return self.text

    def document_text(self, doc_id: str) -> str:
        """One document's text, read with all the others (refusal checks ask for it on every question)."""
        self.library_text()
        return self.texts.get(doc_id, "")

    def library(self) -> LibraryFacts:
        """What the whole library mentions, so the chooser can tell a near miss from a name no document has."""
        self.current()
        if self.facts is None:
            self.facts = LibraryFacts.of(self.library_text())
        return self.facts

    def document(self, doc_id: str) -> DocRecord | None:
        return self.current().documents.get(doc_id)

    def about(self) -> dict[str, str]:
        """Each document's title and author, which a question may name ("according to ...")."""
        return self.current().titles

    def chunk_spans(self, ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        self.current()
        todo = [i for i in ids if i not in self.spans]
        for chunk in self.store.get_chunks(todo):
            self.spans[chunk.chunk_id] = (chunk.start, chunk.end)
        return self.spans


_OPENING = threading.Lock()


def resources(settings: Settings) -> Resources:
    """The shared resources of the store ``settings`` point at (opened under a lock, once)."""
    with _OPENING:
        return _resources(settings.store, settings.ingest, settings.retrieval, settings.answer.sentence_cache,
                          settings.compose.chooser_file, settings.compose.entity_cache)


@lru_cache(maxsize=4)
def _resources(store, ingest, retrieval, sentence_cache: int, chooser_file, entity_cache: int) -> Resources:
    settings = Settings(store=store, ingest=ingest, retrieval=retrieval)
    return Resources(settings, open_retriever(settings), _encoder(store.embedding_model, sentence_cache),
                     _tagger(entity_cache), chooser(chooser_file))


@lru_cache(maxsize=2)
def chooser(path) -> Chooser:
    """The fitted chooser weights and decision thresholds (refused with the fix if they do not fit the code)."""
    return Chooser.load(path)


@lru_cache(maxsize=1)
def _tagger(limit: int) -> EntityTagger:
    return EntityTagger(limit)


@lru_cache(maxsize=2)
def _encoder(model: str, limit: int) -> SentenceEncoder:
    return SentenceEncoder(LocalEmbeddings(model), limit)
