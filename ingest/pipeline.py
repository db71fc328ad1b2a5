"""Ingest files into the store: only what changed is embedded, and a killed run can be re-run.

Per document the order is: chunks upserted, stale chunks deleted, then the document record
written last (the commit marker, see ``vectorstore/store.py``), then the document's lexical index
entry, stamped with its content hash; a killed run's missing entries are redone on the next load.

A document's identity is its file's path, so a moved or renamed folder is new documents; a stored
document whose file is gone and whose content (hash) a file of this run has, is that file moved:
its vectors are reused instead of embedding the chunks again, and its old entry is deleted after
the new one is stored (a kill in between leaves both; the next run deletes the old one).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ingest import chunking, cleaning, loaders, metadata
from prompts import load as load_wording
from ragchat.settings import Settings
from ragchat.text.display import one_line, printable
from vectorstore import lexical
from vectorstore.embeddings import LocalEmbeddings, embeddings_for
from vectorstore.store import DocRecord, Store, StoredChunk, chunk_id
from vectorstore.writer import writing

_METADATA_FILES = ("manifest.json",)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)  # (old path, new path): same content, file moved
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line reason)
    passed_over: list[tuple[str, str]] = field(default_factory=list)  # hidden files and links: (path, why)
    chunks_written: int = 0
    seconds: float = 0.0

    @property
    def ingested(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged)

    def summary(self) -> str:
        passed_over = f", {len(self.passed_over)} not followed (hidden or links)" if self.passed_over else ""
        moved = f" ({len(self.moved)} of them moved: vectors reused, old entries removed)" if self.moved else ""
        return (f"{len(self.added)} added{moved}, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.pruned)} pruned, {len(self.failed)} failed{passed_over}; {self.chunks_written} chunks "
                f"written in {self.seconds:.1f} s")


@dataclass(frozen=True)
class Prepared:
    record: DocRecord
    text: str
    chunks: list[chunking.Chunk]
    pages: list[int]


def discover(paths: Iterable[Path], report: IngestReport, follow_links: bool = False) -> Iterator[Path]:
    """Files under the given paths, sorted; metadata files are not documents.

    Hidden files and folders, and links, are passed over with a line each in
    ``report.passed_over``: a link may lead out of the folders the user named (``/etc``, a home
    directory) or back into itself. With ``follow_links`` links that leave the given folders are
    followed; a link into them never is, since its target is read where it stands.
    """
    paths = list(paths)
    walk = _Walk(report, follow_links, [p.resolve() for p in paths if p.is_dir()])
    for path in paths:
        if path.is_dir():
            walk.visited.add(path.resolve())
            yield from walk.folder(path)
        elif path.is_file():
            yield path
        elif path.is_symlink():
            report.failed.append((str(path), "broken link or link loop"))
        else:
            report.failed.append((str(path), "no such file or folder"))


@dataclass
class _Walk:
    report: IngestReport
    follow_links: bool
    roots: list[Path]  # the given folders, resolved
    visited: set[Path] = field(default_factory=set)  # resolved folders already walked: no loop twice

    def folder(self, folder: Path) -> Iterator[Path]:
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            self.report.failed.append((str(folder), f"cannot list folder: {exc.strerror or exc}"))
            return
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                kind = "folder" if entry.is_dir(follow_symlinks=False) else "file"
                self.report.passed_over.append((str(path), f"hidden {kind}"))
            elif entry.is_symlink():
                yield from self.link(path)
            elif entry.is_dir(follow_symlinks=False):
                yield from self.folder(path)
            elif entry.is_file(follow_symlinks=False) and not _is_metadata(path):
                yield path

    def link(self, path: Path) -> Iterator[Path]:
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            self.report.passed_over.append((str(path), "broken link or link loop"))
            return
        inside = any(target == root or target.is_relative_to(root) for root in self.roots)
        if inside and target.is_dir():
            why = "link loop" if path.parent.resolve().is_relative_to(target) else f"link to {target}, read where it stands"
            self.report.passed_over.append((str(path), why))
        elif inside:
            self.report.passed_over.append((str(path), f"link to {target}, read where it stands"))
        elif not self.follow_links:
            self.report.passed_over.append((str(path), f"link to {target}, outside the given folders "
                                                       "(--follow-links reads it)"))
        elif target.is_dir():
            if target in self.visited:
                self.report.passed_over.append((str(path), f"link to {target}, already read"))
                return
            self.visited.add(target)
            yield from self.folder(path)
        elif target.is_file() and not _is_metadata(path):
            yield path


def _is_metadata(path: Path) -> bool:
    return path.name in _METADATA_FILES or path.name.endswith(".meta.json")


def doc_id_for(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def chunking_of(settings: Settings) -> str:
    return chunking.signature(settings.ingest.chunk_tokens, settings.ingest.chunk_overlap, settings.store.embedding_model)


def prepare(path: Path, settings: Settings) -> Prepared:
    """Load, clean, describe and chunk one file; raises UnreadableFile/MetadataError with the reason."""
    loaded = loaders.load(path, settings)
    text, page_starts = cleaning.join_pages(loaded.pages, loaded.wrapped, loaded.marked_up)
    if not text.strip():
        raise loaders.UnreadableFile("no text left after cleaning")
    meta = metadata.resolve(path, text, loaded.found)
    chunks = chunking.chunk_text(text, settings.ingest.chunk_tokens, settings.ingest.chunk_overlap,
                                 settings.store.embedding_model)
    signature = f"{chunking_of(settings)}/{sorted(meta.items())}"
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256")
    digest.update(signature.encode())
    record = DocRecord(doc_id=doc_id_for(path), source=path.name, path=str(path.resolve()),
                       content_hash=digest.hexdigest()[:24], chunks=len(chunks), chunking=chunking_of(settings), **meta)
    return Prepared(record, text, chunks, page_starts if loaded.paged else [])


def _prepare_or_reason(path: Path, settings: Settings) -> Prepared | str:
    """The prepared file, or the one-line reason it is skipped: whatever one file does (a parser
    bug, a hostile structure) is that file's problem, never the end of the run."""
    try:
        return prepare(path, settings)
    except (loaders.UnreadableFile, metadata.MetadataError) as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - the point: one file cannot stop the others
        message = one_line(exc) if str(exc).strip() else ""
        return f"cannot be read ({type(exc).__name__}{': ' + message if message else ''})"


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


def _say(line: str) -> None:
    """A line on stderr, above the progress bar; paths and reasons are data, so control
    characters in them are escaped."""
    tqdm.write(printable(line), file=sys.stderr)


def ingest(paths: Iterable[Path | str], settings: Settings, *, reset: bool = False, prune: bool = False,
           store: Store | None = None, embeddings: LocalEmbeddings | None = None,
           progress: bool = True, on_error: Callable[[str, str], None] | None = None,
           follow_links: bool = False) -> IngestReport:
    """``on_error(path, reason)`` hears of every file skipped or passed over (default: a line on stderr).

    Runs holding the store's writer lock (``vectorstore.writer``): a second ingest or upload on the
    same store says it is waiting and starts when this one is done, so neither's orphan sweep can
    take the other's in-flight chunks.
    """
    with writing(settings, lambda: _say_waiting(settings)):
        return _ingest(paths, settings, reset=reset, prune=prune, store=store, embeddings=embeddings, progress=progress,
                       on_error=on_error, follow_links=follow_links)


def _say_waiting(settings: Settings) -> None:
    _say(load_wording("writer_waiting").format(location=settings.location))


def _ingest(paths: Iterable[Path | str], settings: Settings, *, reset: bool, prune: bool, store: Store | None,
            embeddings: LocalEmbeddings | None, progress: bool, on_error: Callable[[str, str], None] | None,
            follow_links: bool) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport()
    paths = [Path(p) for p in paths]
    store = store or Store(settings)
    embeddings = embeddings or embeddings_for(settings)
    current_chunking = chunking_of(settings)  # also finds the model's tokenizer, or fails before any work
    if reset:
        store.reset()
        lexical.delete_index(settings)
    store.check_model(embeddings.name)
    records = store.documents()
    index = lexical.load_index(settings, store, records)
    on_error = on_error or (lambda path, reason: _say(f"skipped {path}: {reason}"))

    files = list(discover(paths, report, follow_links))
    for path, reason in report.failed + report.passed_over:
        on_error(path, reason)
    _say_rechunking(files, records, current_chunking)
    gone = _gone_by_content(records)
    bar = tqdm(files, unit="file", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for path in bar:
        prepared = _prepare_or_reason(path, settings)
        if isinstance(prepared, str):
            report.failed.append((str(path), prepared))
            on_error(str(path), prepared)
            continue
        previous = records.get(prepared.record.doc_id)
        moved_from = gone.pop(prepared.record.content_hash, None)
        if _unchanged(previous, prepared.record, store):
            report.unchanged.append(str(path))
        else:
            stored = _stored_chunks(prepared)
            vectors = _reused(moved_from, stored, store) or embeddings.embed_documents([c.text for c in stored])
            store.record_model(embeddings.name, len(vectors[0]))
            store.put_document(prepared.record, prepared.text, stored, vectors)
            records[prepared.record.doc_id] = prepared.record
            index.replace_document(prepared.record.doc_id, [(c.chunk_id, c.text) for c in stored], prepared.record.content_hash)
            (report.updated if previous else report.added).append(str(path))
            report.chunks_written += len(stored)
            rate = report.chunks_written / max(time.perf_counter() - started, 1e-6)
            bar.set_postfix_str(f"{report.chunks_written} chunks, {rate:.1f} chunks/s")
        if moved_from is not None and moved_from.doc_id != prepared.record.doc_id:
            store.delete_document(moved_from.doc_id)
            index.remove_document(moved_from.doc_id)
            del records[moved_from.doc_id]
            report.moved.append((moved_from.path, str(path)))

    if prune:
        report.pruned = _prune(store, index, paths, records)
        records = {d: r for d, r in records.items() if r.path not in report.pruned}
    store.remove_orphans(records)  # the records as this run left them: no second read of every record
    report.seconds = time.perf_counter() - started
    return report


def _gone_by_content(records: dict[str, DocRecord]) -> dict[str, DocRecord]:
    """Stored documents whose file is no longer where it was, by content hash: candidates for "moved"."""
    return {r.content_hash: r for r in records.values() if r.path and not Path(r.path).exists()}


def _reused(moved_from: DocRecord | None, stored: list[StoredChunk], store: Store) -> list | None:
    """The moved document's stored vectors, chunk for chunk (same content, same chunking), or None
    when any is missing (then the chunks are embedded as usual)."""
    if moved_from is None or moved_from.chunks != len(stored):
        return None
    old = [chunk_id(moved_from.doc_id, c.index) for c in stored]
    found = store.vectors_of(old)
    return [found[i] for i in old] if all(i in found for i in old) else None


def _unchanged(previous: DocRecord | None, current: DocRecord, store: Store) -> bool:
    """Same file, same chunking, and its chunks really stored: a record can outlive its chunks
    (a ``--reset`` or a delete killed half-way), and such a document is redone, not called unchanged."""
    return (previous is not None and (previous.content_hash, previous.chunking) == (current.content_hash, current.chunking)
            and store.chunk_count(current.doc_id) == previous.chunks)


def _say_rechunking(files: list[Path], records: dict[str, DocRecord], current: str) -> None:
    """Say why a run re-embeds documents whose files did not change: the chunking did."""
    stale = [records[i] for i in {doc_id_for(path) for path in files} if i in records and records[i].chunking != current]
    if stale:
        before = stale[0].chunking or "v1: tiktoken tokens"
        _say(f"re-chunking {len(stale)} document{'s' if len(stale) != 1 else ''}: chunking changed "
             f"(was {before}; now {current})")


def _prune(store: Store, index: lexical.LexicalIndex, roots: list[Path], records: dict[str, DocRecord]) -> list[str]:
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
    with writing(settings, lambda: _say_waiting(settings)):
        index = lexical.load_index(settings, store)
        for doc_id in doc_ids:
            store.delete_document(doc_id)
            index.remove_document(doc_id)
