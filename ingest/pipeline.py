"""Ingest files into the store: only what changed is embedded, and a killed run can be re-run.

Per document the order is: chunks upserted, stale chunks deleted, then the document record
written last (the commit marker, see ``vectorstore/store.py``). The BM25 index is updated in
memory and saved at the end; its fingerprint makes a killed run's index rebuild on next load.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ingest import chunking, cleaning, loaders, metadata
from ragchat.settings import Settings
from vectorstore import bm25
from vectorstore.embeddings import LocalEmbeddings
from vectorstore.store import DocRecord, Store, StoredChunk, chunk_id

_METADATA_FILES = ("manifest.json",)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line reason)
    chunks_written: int = 0
    seconds: float = 0.0

    @property
    def ingested(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged)

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.pruned)} pruned, {len(self.failed)} failed; {self.chunks_written} chunks written "
                f"in {self.seconds:.1f} s")


@dataclass(frozen=True)
class Prepared:
    record: DocRecord
    text: str
    chunks: list[chunking.Chunk]
    pages: list[int]


def discover(paths: Iterable[Path], report: IngestReport) -> Iterator[Path]:
    """Files under the given paths, sorted; metadata files and hidden files are not documents."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and not _is_metadata(child):
                    yield child
        elif path.is_file():
            yield path
        else:
            report.failed.append((str(path), "no such file or folder"))


def _is_metadata(path: Path) -> bool:
    return path.name in _METADATA_FILES or path.name.endswith(".meta.json")


def doc_id_for(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def prepare(path: Path, settings: Settings) -> Prepared:
    """Load, clean, describe and chunk one file; raises UnreadableFile/MetadataError with the reason."""
    loaded = loaders.load(path)
    text, page_starts = cleaning.join_pages(loaded.pages)
    if not text.strip():
        raise loaders.UnreadableFile("no text left after cleaning")
    meta = metadata.resolve(path, text, loaded.found)
    chunks = chunking.chunk_text(text, settings.ingest.chunk_tokens, settings.ingest.chunk_overlap, settings.ingest.token_encoding)
    signature = f"{settings.ingest.chunk_tokens}/{settings.ingest.chunk_overlap}/{settings.ingest.token_encoding}/{sorted(meta.items())}"
    digest = hashlib.sha256(path.read_bytes() + signature.encode()).hexdigest()[:24]
    record = DocRecord(doc_id=doc_id_for(path), source=path.name, path=str(path.resolve()), content_hash=digest,
                       chunks=len(chunks), **meta)
    return Prepared(record, text, chunks, page_starts if loaded.paged else [])


def _stored_chunks(prepared: Prepared) -> list[StoredChunk]:
    record = prepared.record
    return [
        StoredChunk(chunk_id=chunk_id(record.doc_id, c.index), doc_id=record.doc_id, text=c.text, start=c.start, end=c.end,
                    index=c.index, source=record.source, title=record.title, date=record.date,
                    page=_page_of(c.start, prepared.pages), heading=c.heading)
        for c in prepared.chunks
    ]


def _page_of(offset: int, page_starts: list[int]) -> int:
    """1-based page number for PDFs, 0 for formats without pages."""
    return sum(1 for start in page_starts if start <= offset)


def ingest(paths: Iterable[Path | str], settings: Settings, *, reset: bool = False, prune: bool = False,
           store: Store | None = None, embeddings: LocalEmbeddings | None = None,
           progress: bool = True, on_error: Callable[[str, str], None] | None = None) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport()
    paths = [Path(p) for p in paths]
    store = store or Store(settings)
    embeddings = embeddings or LocalEmbeddings(settings.store.embedding_model, settings.ingest.embedding_batch)
    if reset:
        store.reset()
        bm25.index_path(settings).unlink(missing_ok=True)
    store.check_model(embeddings.name)
    index = bm25.load_index(settings, store)
    records = store.documents()
    on_error = on_error or (lambda path, reason: print(f"skipped {path}: {reason}", file=sys.stderr))

    files = list(discover(paths, report))
    for path, reason in report.failed:
        on_error(path, reason)
    bar = tqdm(files, unit="file", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for path in bar:
        try:
            prepared = prepare(path, settings)
        except (loaders.UnreadableFile, metadata.MetadataError) as exc:
            report.failed.append((str(path), str(exc)))
            on_error(str(path), str(exc))
            continue
        previous = records.get(prepared.record.doc_id)
        if previous is not None and previous.content_hash == prepared.record.content_hash:
            report.unchanged.append(str(path))
            continue
        stored = _stored_chunks(prepared)
        vectors = embeddings.embed_documents([c.text for c in stored])
        store.record_model(embeddings.name, len(vectors[0]))
        store.put_document(prepared.record, prepared.text, stored, vectors)
        index.replace_document(prepared.record.doc_id, [(c.chunk_id, c.text) for c in stored])
        (report.updated if previous else report.added).append(str(path))
        report.chunks_written += len(stored)
        rate = report.chunks_written / max(time.perf_counter() - started, 1e-6)
        bar.set_postfix_str(f"{report.chunks_written} chunks, {rate:.1f} chunks/s")

    if prune:
        report.pruned = _prune(store, index, paths, records)
    store.remove_orphans()
    index.save(store.fingerprint())
    report.seconds = time.perf_counter() - started
    return report


def _prune(store: Store, index: bm25.BM25Index, roots: list[Path], records: dict[str, DocRecord]) -> list[str]:
    """Delete documents that were ingested from under the given folders and are gone from disk."""
    folders = [str(root.resolve()) for root in roots if root.is_dir()]
    gone = [r for r in records.values()
            if any(r.path.startswith(f.rstrip("/") + "/") for f in folders) and not Path(r.path).exists()]
    for record in gone:
        store.delete_document(record.doc_id)
        index.remove_document(record.doc_id)
    return [r.path for r in gone]


def remove_documents(doc_ids: Iterable[str], settings: Settings, store: Store | None = None) -> None:
    """Delete documents and their chunks from the store and the lexical index (record first, so a
    killed delete leaves orphans that the next ingest sweeps, never a record without chunks)."""
    store = store or Store(settings)
    index = bm25.load_index(settings, store)
    for doc_id in doc_ids:
        store.delete_document(doc_id)
        index.remove_document(doc_id)
    index.save(store.fingerprint())
