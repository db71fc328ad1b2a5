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
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings

from ragchat.settings import Settings

_PAGE = 500  # rows per Chroma get() call when reading whole collections
# Document records per get(): Chroma reads each record's full text even when only metadata is asked
# for, so at 2,000 documents one get() of all took 1.25 s and 310 MB, pages of 200 ids 0.4 s and 40 MB.
_RECORD_PAGE = 200
_FEW_DOCUMENTS = 50  # above this many, reading every chunk once beats one filtered get per batch
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


def doc_id_of(chunk_id_: str) -> str:
    """The document a chunk id belongs to (``chunk_id``'s inverse, for ids carried without their chunk)."""
    return chunk_id_.split(":")[0]


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
        """Every document record, read in pages of ids (not offsets, which a concurrent delete would shift)."""
        ids = self.docs.get(include=[])["ids"]
        records = {}
        for lo in range(0, len(ids), _RECORD_PAGE):
            rows = self.docs.get(ids=ids[lo:lo + _RECORD_PAGE], include=["metadatas"])
            records.update((i, DocRecord(**json.loads(m["record"]))) for i, m in zip(rows["ids"], rows["metadatas"]))
        return records

    def document_text(self, doc_id: str) -> str:
        rows = self.docs.get(ids=[doc_id], include=["documents"])
        if not rows["ids"]:
            raise StoreError(f"no document {doc_id} in the store at {self.settings.location}")
        return rows["documents"][0]

    def committed(self, doc_ids: Iterable[str]) -> set[str]:
        """Those of ``doc_ids`` whose record is written: the documents readers may answer from."""
        ids = sorted(set(doc_ids))
        return set(self.docs.get(ids=ids, include=[])["ids"]) if ids else set()

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

    def remove_orphans(self, records: dict[str, DocRecord] | None = None) -> int:
        """Delete chunks whose document has no record (left by an ingest killed mid-document).

        Every write order here leaves at least as many chunks as the records count (chunks go in
        before their record, a record goes out before its chunks), so equal counts mean nothing to
        sweep, and the scan of every chunk's metadata, seconds at 100,000 chunks, is skipped.
        ``records`` is what the caller believes the records are (an ingest keeps them as it writes,
        saving a read of every record); when the counts disagree they are read afresh before any
        chunk is judged an orphan, so a document another process wrote meanwhile is never swept.
        """
        if records is not None and self.count() == sum(r.chunks for r in records.values()):
            return 0
        records = self.documents()
        if self.count() == sum(r.chunks for r in records.values()):
            return 0
        orphans = [i for i, doc_id in self._chunk_documents() if doc_id not in records]
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

    def chunks_of(self, doc_ids: Collection[str]) -> dict[str, list[StoredChunk]]:
        """Chunks of some documents in index order, read in one pass when they are most of the store."""
        wanted = set(doc_ids)
        found: dict[str, list[StoredChunk]] = {d: [] for d in wanted}
        if len(wanted) > _FEW_DOCUMENTS:
            chunks: Iterable[StoredChunk] = (c for c in self.all_chunks() if c.doc_id in wanted)
        else:
            rows = self.chunks.get(where={"doc_id": {"$in": sorted(wanted)}}, include=["documents", "metadatas"])
            chunks = (_stored(i, d, m) for i, d, m in zip(rows["ids"], rows["documents"], rows["metadatas"]))
        for chunk in chunks:
            found[chunk.doc_id].append(chunk)
        return {d: sorted(cs, key=lambda c: c.index) for d, cs in found.items()}

    def _chunk_documents(self) -> Iterable[tuple[str, str]]:
        """(chunk id, doc id) of every chunk, without reading texts."""
        for offset in range(0, self.chunks.count(), _PAGE):
            rows = self.chunks.get(include=["metadatas"], limit=_PAGE, offset=offset)
            yield from ((i, m["doc_id"]) for i, m in zip(rows["ids"], rows["metadatas"]))

    def get_chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        if not ids:
            return []
        rows = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        found = {i: _stored(i, d, m) for i, d, m in zip(rows["ids"], rows["documents"], rows["metadatas"])}
        return [found[i] for i in ids if i in found]

    def vectors_of(self, ids: Sequence[str]) -> dict[str, Sequence[float]]:
        """The stored vectors of these chunks; a chunk whose vector this process's Chroma cannot read
        yet (another process has just written it: "Error finding id") is left out, not an error."""
        try:
            rows = self.chunks.get(ids=list(ids), include=["embeddings"])
            return dict(zip(rows["ids"], rows["embeddings"]))
        except chromadb.errors.InternalError:
            if len(ids) == 1:
                return {}
            return {i: v for one in ids for i, v in self.vectors_of([one]).items()}

    def dense_search(self, vector: Sequence[float], k: int, where: dict | None = None) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks with cosine similarity (1 - Chroma's cosine distance).

        Chroma returns fewer than ``k`` when the collection (or the filter) holds fewer, so the
        collection is not counted first: at 100,000 chunks each count took 30-40 ms, twice a query.
        """
        rows = self.chunks.query(query_embeddings=[list(vector)], n_results=k, where=where or None,
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
