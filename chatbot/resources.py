"""What every question needs, opened once per store and shared by all threads: building it costs seconds.

The embedding model, spaCy's entity model, the answer reader and the fitted chooser weights are loaded once per
process; the store's retriever and what is read from it, once per store.

What is read from the store (document records, titles, chunk offsets) is reread together whenever
the retriever's index fingerprint changes, i.e. after any ingest: chunk ids are positional, so an
offset cached before a document changed would point at the wrong text. Recent documents' texts are
the retriever's, which forgets them at the same moment.
Nothing here holds the library's text: "is this mentioned anywhere" is asked of the lexical index.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from chatbot.chooser import Chooser, SentenceModels
from chatbot.entities import EntityTagger
from chatbot.reader import Reader, ReaderFile
from chatbot.verify import SentenceEncoder
from ragchat.settings import Settings
from vectorstore.embeddings import embeddings_for
from vectorstore.retrieval import HybridRetriever, open_retriever
from vectorstore.store import DocRecord, Store


@dataclass
class Resources:
    settings: Settings
    retriever: HybridRetriever
    encoder: SentenceEncoder
    tagger: EntityTagger
    reader: Reader  # the fine-tuned cross-encoder (settings.compose.reader_file)
    model: Chooser  # the fitted answer chooser (settings.compose.chooser_file)
    version: str = ""  # index fingerprint the caches below were read at
    documents: dict[str, DocRecord] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # doc id -> "title author"
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def sentence_models(self) -> SentenceModels:
        return SentenceModels(self.encoder, self.tagger, self.reader)

    @property
    def store(self) -> Store:
        return self.retriever.store

    def current(self) -> "Resources":
        version = self.retriever.index.fingerprint
        if version != self.version:
            self.documents = self.store.documents()
            self.titles = {d: f"{r.title} {r.author}" for d, r in self.documents.items()}
            self.spans, self.version = {}, version
        return self

    def unmentioned(self, numbers: frozenset[str], names: frozenset[str]) -> set[str]:
        """The figures and names no document contains, so "never mentioned" is said only of what no
        document says; looked up in the lexical index, whatever the library's size."""
        return self.retriever.index.unmentioned(numbers, names)

    def document_text(self, doc_id: str) -> str:
        """One document's text ("" for one the store no longer holds), from the retriever's bounded
        cache: the refusal checks read the very documents the passages were sliced from."""
        return self.retriever.document_text(doc_id) if doc_id in self.current().documents else ""

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
                          settings.compose.chooser_file, settings.compose.reader_file, settings.compose.entity_cache)


@lru_cache(maxsize=4)
def _resources(store, ingest, retrieval, sentence_cache: int, chooser_file, reader_file, entity_cache: int) -> Resources:
    settings = Settings(store=store, ingest=ingest, retrieval=retrieval)
    return Resources(settings, open_retriever(settings), _encoder(settings, sentence_cache),
                     _tagger(entity_cache), reader(reader_file), chooser(chooser_file))


@lru_cache(maxsize=2)
def chooser(path) -> Chooser:
    """The fitted chooser weights and decision thresholds (refused with the fix if they do not fit the code)."""
    return Chooser.load(path)


@lru_cache(maxsize=2)
def reader(path) -> Reader:
    """The answer reader, exported to ONNX on first use (refused with the fix if its file is missing)."""
    return Reader(ReaderFile.load(path))


@lru_cache(maxsize=1)
def _tagger(limit: int) -> EntityTagger:
    return EntityTagger(limit)


@lru_cache(maxsize=2)
def _encoder(settings: Settings, limit: int) -> SentenceEncoder:
    return SentenceEncoder(embeddings_for(settings), limit)
