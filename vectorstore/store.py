"""Chroma holds everything a question needs: chunk vectors and texts, and one record per document.

The document record (content hash, metadata, cleaned full text) is written *after* a document's
chunks, so it doubles as the commit marker: a document whose record is missing or stale is simply
redone on the next ingest, which is what makes a killed ingest safe to re-run. The same code runs
against an embedded ``PersistentClient`` and a ``chroma run`` server.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings

from ragchat.settings import Settings

_PAGE = 500  # rows per Chroma get() call when reading whole collections
# chromadb's clients opened by several threads at the same moment fail ("Could not connect to tenant
# default_tenant", "'RustBindingsAPI' object has no attribute 'bindings'"): stores open one at a time.
_OPENING = threading.Lock()


class StoreError(Exception):
    """A problem with the store the user must act on; the message says how."""


class StoreUnreachable(StoreError):
    """The Chroma server the settings name does not answer (down, killed, or never started)."""


@dataclass(frozen=True)
class DocRecord:
    doc_id: str
    source: str  # file name shown to readers
    path: str  # absolute path it was ingested from
    content_hash: str  # of the raw bytes plus the chunking settings
    title: str = ""
    author: str = ""
    publisher: str = ""
    date: str = ""
    chunks: int = 0
    chunking: str = ""  # how it was chunked (ingest.chunking.signature); "" before chunking was recorded

    @property
    def label(self) -> str:
        return self.title or self.source


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    index: int
    source: str
    title: str
    date: str = ""
    page: int = 0
    heading: str = ""


def chunk_id(doc_id: str, index: int) -> str:
    return f"{doc_id}:{index:04d}"


class Store:
    def __init__(self, settings: Settings):
        self.settings = settings
        with _OPENING, _reaching(settings):
            self.client = _client(settings)
            self.chunks = _Reached(self.client.get_or_create_collection(
                settings.store.collection, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            ), settings)
            self.docs = _Reached(self.client.get_or_create_collection(f"{settings.store.collection}_documents",
                                                                      embedding_function=None), settings)

    # -- the embedding model a collection was built with ------------------------------------
    def model_info(self) -> dict[str, str]:
        meta = self.chunks.metadata or {}
        return {k: str(meta[k]) for k in ("embedding_model", "embedding_dim") if k in meta}

    def check_model(self, name: str, dimension: int | None = None) -> None:
        """Refuse to mix vectors of two models in one collection."""
        info = self.model_info()
        if not info:
            return
        if info.get("embedding_model") != name or (dimension and info.get("embedding_dim") != str(dimension)):
            raise StoreError(
                f"the store at {self.settings.location} was built with embedding model "
                f"{info.get('embedding_model')} ({info.get('embedding_dim')}-d) but the settings use {name}"
                f"{f' ({dimension}-d)' if dimension else ''}; rebuild it with `ragchat ingest PATH --reset` "
                "or set RAGCHAT_EMBEDDING_MODEL back"
            )

    def record_model(self, name: str, dimension: int) -> None:
        if not self.model_info():
            self.chunks.modify(metadata={"embedding_model": name, "embedding_dim": str(dimension)})

    # -- documents ---------------------------------------------------------------------------
    def documents(self) -> dict[str, DocRecord]:
        rows = self.docs.get(include=["metadatas"])
        return {i: DocRecord(**json.loads(m["record"])) for i, m in zip(rows["ids"], rows["metadatas"])}

    def document_text(self, doc_id: str) -> str:
        rows = self.docs.get(ids=[doc_id], include=["documents"])
        if not rows["ids"]:
            raise StoreError(f"no document {doc_id} in the store at {self.settings.location}")
        return rows["documents"][0]

    def committed(self, doc_ids: Iterable[str]) -> set[str]:
        """Those of ``doc_ids`` whose record is written: the documents readers may answer from."""
        ids = sorted(set(doc_ids))
        return set(self.docs.get(ids=ids, include=[])["ids"]) if ids else set()

    def document_texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """Cleaned full texts of those of ``doc_ids`` that have a record."""
        texts = {}
        for lo in range(0, len(doc_ids), _PAGE):
            rows = self.docs.get(ids=list(doc_ids[lo:lo + _PAGE]), include=["documents"])
            texts.update(zip(rows["ids"], rows["documents"]))
        return texts

    def put_document(self, record: DocRecord, text: str, chunks: Sequence[StoredChunk], vectors: Sequence[Sequence[float]]) -> None:
        ids = [c.chunk_id for c in chunks]
        for lo in range(0, len(ids), _PAGE):
            part = chunks[lo:lo + _PAGE]
            self.chunks.upsert(
                ids=ids[lo:lo + _PAGE],
                embeddings=[list(v) for v in vectors[lo:lo + _PAGE]],
                documents=[c.text for c in part],
                metadatas=[_chunk_metadata(c) for c in part],
            )
        stale = [i for i in self._chunk_ids(record.doc_id) if i not in set(ids)]
        if stale:
            self.chunks.delete(ids=stale)
        self.docs.upsert(ids=[record.doc_id], embeddings=[[1.0]], documents=[text],
                         metadatas=[{"record": json.dumps(asdict(record)), "source": record.source}])

    def delete_document(self, doc_id: str) -> None:
        self.docs.delete(ids=[doc_id])  # record first: a half-done delete then looks like an orphan
        self.chunks.delete(where={"doc_id": doc_id})

    def remove_orphans(self) -> int:
        """Delete chunks whose document has no record (left by an ingest killed mid-document)."""
        known = set(self.documents())
        orphans = [c.chunk_id for c in self.all_chunks() if c.doc_id not in known]
        if orphans:
            self.chunks.delete(ids=orphans)
        return len(orphans)

    def fingerprint(self) -> str:
        """Changes whenever any document is added, changed or removed; keys derived indexes."""
        records = sorted((d.doc_id, d.content_hash) for d in self.documents().values())
        return hashlib.sha256(json.dumps(records).encode()).hexdigest()[:16]

    # -- chunks ------------------------------------------------------------------------------
    def count(self) -> int:
        return self.chunks.count()

    def all_chunks(self) -> Iterable[StoredChunk]:
        for offset in range(0, self.chunks.count(), _PAGE):
            rows = self.chunks.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
            yield from (_stored(i, d, m) for i, d, m in zip(rows["ids"], rows["documents"], rows["metadatas"]))

    def get_chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        if not ids:
            return []
        rows = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        found = {i: _stored(i, d, m) for i, d, m in zip(rows["ids"], rows["documents"], rows["metadatas"])}
        return [found[i] for i in ids if i in found]

    def dense_search(self, vector: Sequence[float], k: int, where: dict | None = None) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks with cosine similarity (1 - Chroma's cosine distance)."""
        if self.chunks.count() == 0:
            return []
        rows = self.chunks.query(query_embeddings=[list(vector)], n_results=min(k, self.chunks.count()), where=where or None,
                                 include=["documents", "metadatas", "distances"])
        return [(_stored(i, d, m), 1.0 - dist) for i, d, m, dist in
                zip(rows["ids"][0], rows["documents"][0], rows["metadatas"][0], rows["distances"][0])]

    def chunk_count(self, doc_id: str) -> int:
        return len(self._chunk_ids(doc_id))

    def _chunk_ids(self, doc_id: str) -> list[str]:
        return self.chunks.get(where={"doc_id": doc_id}, include=[])["ids"]

    def reset(self) -> None:
        # Records first, as in delete_document: a reset killed half-way leaves orphans the next ingest sweeps.
        for name in (self.docs.name, self.chunks.name):
            with _reaching(self.settings):
                self.client.delete_collection(name)
        self.__init__(self.settings)


def unreachable(settings: Settings) -> str:
    """The one line shown when the Chroma server does not answer: which server, and what to run."""
    host, port = settings.store.chroma_host, settings.store.chroma_port
    return (f"the {settings.location} is unreachable: start it (`chroma run --host {host} --port {port} "
            f"--path <its data folder>`) or unset CHROMA_HOST to use the embedded store")


@contextmanager
def _reaching(settings: Settings) -> Iterator[None]:
    """A lost server surfaces from deep inside chromadb as an httpx error with a 30-90 line traceback;
    every shell shows ``StoreError`` as one line (the HTTP server as a 503)."""
    try:
        yield
    except httpx.TransportError:
        raise StoreUnreachable(unreachable(settings)) from None


class _Reached:
    """A Chroma collection whose every call goes through ``_reaching``."""

    def __init__(self, collection, settings: Settings):
        self._collection, self._settings = collection, settings

    def __getattr__(self, name: str):
        value = getattr(self._collection, name)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            with _reaching(self._settings):
                return value(*args, **kwargs)
        return call


def _client(settings: Settings):
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.store.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.store.chroma_host, port=settings.store.chroma_port,
                                       settings=chroma_settings)
        except Exception:  # chromadb raises bare ValueError/ConnectionError variants here
            raise StoreUnreachable(unreachable(settings)) from None
    settings.store_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.store_path), settings=chroma_settings)


def _chunk_metadata(c: StoredChunk) -> dict:
    return {"doc_id": c.doc_id, "start": c.start, "end": c.end, "index": c.index, "source": c.source,
            "title": c.title, "date": c.date, "page": c.page, "heading": c.heading}


def _stored(chunk_id_: str, text: str, meta: dict) -> StoredChunk:
    return StoredChunk(chunk_id=chunk_id_, doc_id=meta["doc_id"], text=text, start=int(meta["start"]), end=int(meta["end"]),
                       index=int(meta["index"]), source=meta["source"], title=meta.get("title", ""), date=meta.get("date", ""),
                       page=int(meta.get("page", 0)), heading=meta.get("heading", ""))
