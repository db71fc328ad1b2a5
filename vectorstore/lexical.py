"""The lexical (BM25) index: a tantivy index of the stored chunks, persisted beside the store.

Dense vectors miss exact names and figures ("Barmal", "789"); BM25 finds them. tantivy was chosen
by measurement over SQLite FTS5 and bm25s (docs/retrieval.md, "Choosing the lexical engine"): at
100,000 chunks it answers in milliseconds where FTS5's ``bm25()`` took hundreds, and unlike bm25s
it adds or removes one document without re-indexing the rest.

Chunks are indexed as the project's own terms (``ragchat.text.terms.tokenize``: stemmed, stop
words out) joined by spaces and split again on whitespace by tantivy, so lexical search and the
term-coverage part of evidence strength agree on what a term is. tantivy's BM25 uses Lucene's
IDF, ``ln(1 + (N - n + 0.5) / (n + 0.5))``, with its built-in k1 = 1.2 and b = 0.75 (tantivy does
not let them be changed). Two more fields hold each chunk's plain lower-case words and its
numbers (``ragchat.text.facts``), so "does any document mention X" is a lookup, not a read of the
whole library; a third files the abbreviations the chunk spells out
(``ragchat.text.abbreviations``), so "what does X stand for?" finds the definition among hundreds
of chunks that only use X.

Consistency with Chroma: every ``replace_document``/``remove_document`` is one tantivy commit,
which is atomic, and a document's first chunk carries its content hash (its *stamp*) in that
same commit. Chroma's document record stays the commit marker: ``load_index`` compares the
stamps with the records and re-indexes from Chroma only the documents that differ, so after a
kill at any point the index is repaired document by document, and after a normal ingest there
is nothing to repair. The index is derived data: a damaged one is rebuilt from the store.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import tantivy

from ragchat.settings import Settings
from ragchat.text.abbreviations import abbreviation_key, definitions
from ragchat.text.display import one_line
from ragchat.text.facts import MISSPELT_LENGTH, name_stem, numbers_in
from ragchat.text.terms import folded, tokenize
from vectorstore.store import StoreError

SCHEMA_VERSION = "5"  # bump when the fields, the tokenisation or what `definitions` finds change: the index is then rebuilt
_VERSION_FILE = "ragchat-version"
_WRITER_HEAP = 15_000_000  # bytes; one writer thread, a document's chunks at a time
_LOCK_WAIT_S = 30.0  # another process's commit takes well under a second; a hung one is reported
_WORD = re.compile(r"[\w'’]+")  # a name as ragchat.text.facts.names_in reads one, hyphens split


class LexicalIndexError(StoreError):
    """The index folder cannot be used; the message names it and says what to do."""


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("tokens", stored=False, tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("words", stored=False, tokenizer_name="whitespace", index_option="basic")
    builder.add_text_field("numbers", stored=False, tokenizer_name="whitespace", index_option="basic")
    builder.add_text_field("defines", stored=False, tokenizer_name="whitespace", index_option="basic")
    builder.add_text_field("chunk", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("doc", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("head", stored=False, tokenizer_name="raw", index_option="basic")  # "1" on a document's first chunk
    builder.add_text_field("stamp", stored=True, tokenizer_name="raw", index_option="basic")
    return builder.build()


_SCHEMA = _schema()


class LexicalIndex:
    """BM25 search over one store's chunks; ``path`` is the index folder.

    Searches may come from many threads at once; a commit (from this process or another) is
    picked up by ``refresh``, which swaps in a new searcher under a lock.
    """

    def __init__(self, path: Path):
        self.path = path
        self._index = _open(path)
        self._lock = threading.Lock()
        self._generation = _generation(path)
        self._searcher = self._index.searcher()
        self._idf: dict[str, float] = {}
        self._stamps: dict[str, str] | None = None

    # -- building --------------------------------------------------------------------------
    def replace_document(self, doc_id: str, chunks: Iterable[tuple[str, str]], stamp: str = "") -> None:
        """Index a document's chunks in place of what it had, in one commit.

        ``stamp`` is the document's content hash as the store records it; a document indexed
        without one looks stale to ``load_index`` and is re-indexed from the store there.
        """
        self.replace_documents([(doc_id, chunks, stamp)])

    def replace_documents(self, documents: Iterable[tuple[str, Iterable[tuple[str, str]], str]]) -> None:
        """Several documents as (doc id, chunks, stamp) in one commit: a rebuild pays for one, not thousands."""
        with _Commit(self) as writer:
            for doc_id, chunks, stamp in documents:
                writer.delete_documents_by_term("doc", doc_id)
                for position, (chunk_id, text) in enumerate(chunks):
                    fields = {"tokens": " ".join(tokenize(text)), "words": " ".join(_words(text)),
                              "numbers": " ".join(numbers_in(text)), "defines": " ".join(_defined(text)),
                              "chunk": chunk_id, "doc": doc_id}
                    if position == 0:
                        fields.update(head="1", stamp=stamp)
                    writer.add_document(tantivy.Document(**fields))

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        with _Commit(self) as writer:
            for doc_id in doc_ids:
                writer.delete_documents_by_term("doc", doc_id)

    def remove_document(self, doc_id: str) -> None:
        self.remove_documents([doc_id])

    def refresh(self) -> bool:
        """Pick up commits made since the last search (by this process or another); True if there were any."""
        with self._lock:
            generation = _generation(self.path)
            if generation == self._generation:
                return False
            self._guarded(self._index.reload)
            self._searcher = self._guarded(self._index.searcher)
            self._generation, self._idf, self._stamps = generation, {}, None
            return True

    # -- what is indexed ---------------------------------------------------------------------
    @property
    def stamps(self) -> dict[str, str]:
        """doc id -> content hash of every indexed document."""
        if self._stamps is None:
            searcher = self._searcher
            heads = tantivy.Query.term_query(_SCHEMA, "head", "1")
            total = self._guarded(lambda: searcher.search(heads, limit=1, count=True).count) or 0
            found = self._guarded(lambda: searcher.search(heads, limit=total).hits) if total else []
            stamps = {}
            for _, address in found:
                doc = self._guarded(lambda: searcher.doc(address))
                stamps[doc["doc"][0]] = doc.get_first("stamp") or ""
            self._stamps = stamps
        return self._stamps

    @property
    def fingerprint(self) -> str:
        """Equals ``Store.fingerprint()`` exactly when the index holds what the store's records say."""
        records = sorted(self.stamps.items())
        return hashlib.sha256(json.dumps(records).encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return self._searcher.num_docs

    # -- searching -------------------------------------------------------------------------
    def search(self, query: str, k: int, allowed_docs: set[str] | None = None) -> list[tuple[str, float]]:
        """Best ``k`` chunks by BM25 as (chunk id, score); ties go to the smaller chunk id."""
        terms = sorted(set(tokenize(query)))
        if not terms or k <= 0 or (allowed_docs is not None and not allowed_docs):
            return []
        match = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(_SCHEMA, "tokens", t)) for t in terms])
        if allowed_docs is not None:
            match = tantivy.Query.boolean_query([(tantivy.Occur.Must, match), (tantivy.Occur.Must, _only(allowed_docs))])
        return sorted(self._hits(match, k), key=lambda item: (-item[1], item[0]))

    def defining(self, abbreviation: str, query: str, k: int, allowed_docs: set[str] | None = None) -> list[str]:
        """Chunk ids of the chunks that define ``abbreviation`` ("Inter-Services Public Relations
        (ISPR)"), best by BM25 for ``query`` first.

        A frequent abbreviation is in hundreds of chunks and the one that spells it out is seldom
        the best match for "what does ISPR stand for?"; definitions are filed at ingest so that
        question finds it whatever the library's size.
        """
        key = abbreviation_key(abbreviation)
        if not key or k <= 0 or (allowed_docs is not None and not allowed_docs):
            return []
        must = [tantivy.Query.term_query(_SCHEMA, "defines", key)] + ([_only(allowed_docs)] if allowed_docs is not None else [])
        ranking = [tantivy.Query.term_query(_SCHEMA, "tokens", t) for t in sorted(set(tokenize(query)))]
        match = tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in must]
                                            + [(tantivy.Occur.Should, q) for q in ranking])
        return [chunk for chunk, _ in self._hits(match, k)]

    def _hits(self, match: tantivy.Query, k: int) -> list[tuple[str, float]]:
        """The best ``k`` chunks for a query as (chunk id, score), in tantivy's order."""
        searcher = self._searcher
        hits = self._guarded(lambda: searcher.search(match, limit=k, count=False).hits)
        return [(self._guarded(lambda: searcher.doc(address))["chunk"][0], float(score)) for score, address in hits]

    def document_frequency(self, term: str) -> int:
        """Chunks containing a tokenized term (deleted chunks excluded, unlike tantivy's own statistic)."""
        return self._count(tantivy.Query.term_query(_SCHEMA, "tokens", term))

    def idf(self, term: str) -> float:
        """Rarity of a tokenized term with the IDF BM25 weighs it by; a term no chunk has is rarest of all."""
        if term not in self._idf:
            df, n = self.document_frequency(term), max(len(self), 1)
            self._idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return self._idf[term]

    def unmentioned(self, numbers: Iterable[str], names: Iterable[str]) -> set[str]:
        """The numbers and names no chunk of the library contains, found in the index.

        Numbers are compared in ``numbers_in``'s canonical form ("4,000" and "4000", "seven" and
        "7"); a name is found when a word starts with its ``name_stem`` ("Pakistani" finds
        "Pakistan"), as ``ragchat.text.facts.missing_facts`` matches names in a text.
        """
        missing = {n for n in numbers if not self._count(tantivy.Query.term_query(_SCHEMA, "numbers", n))}
        for name in names:
            parts = _words(name_stem(name))
            if not parts:
                continue
            last = tantivy.Query.regex_query(_SCHEMA, "words", re.escape(parts[-1]) + ".*")
            query = last if len(parts) == 1 else tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, tantivy.Query.term_query(_SCHEMA, "words", p)) for p in parts[:-1]]
                + [(tantivy.Occur.Must, last)])
            if not self._count(query) and not self._spelt_alike(name):
                missing.add(name)
        return missing

    def _spelt_alike(self, name: str) -> bool:
        """Some word of the library is the name one letter off ("Khurram" asked, "Khuram" written).
        Any letter may differ here, the first too; the check of the chosen documents' text that
        follows (``ragchat.text.facts.spelt_alike``) keeps the first letter."""
        words = _words(name)
        if len(words) != 1 or len(words[0]) < MISSPELT_LENGTH:
            return False
        return bool(self._count(tantivy.Query.fuzzy_term_query(_SCHEMA, "words", words[0], distance=1)))

    def _count(self, query: tantivy.Query) -> int:
        searcher = self._searcher
        return self._guarded(lambda: searcher.search(query, limit=1, count=True).count) or 0

    def _guarded(self, read):
        """Run a read of the index files; damage found there becomes one line naming the folder."""
        try:
            return read()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # tantivy raises ValueError, or pyo3's PanicException (a BaseException)
            raise LexicalIndexError(f"the lexical index {self.path} is damaged ({one_line(exc, limit=None)}); delete it and "
                                    "re-run: it is rebuilt from the store") from None


class _Commit:
    """A writer for one change: acquired (waiting while another process commits), committed, released.

    Holding no writer between changes is what lets the chat app and ``ragchat ingest`` share a
    store: tantivy allows one writer per index at a time.
    """

    def __init__(self, index: LexicalIndex):
        self.index = index

    def __enter__(self) -> tantivy.IndexWriter:
        deadline = time.monotonic() + _LOCK_WAIT_S
        while True:
            try:
                self.writer = self.index._index.writer(heap_size=_WRITER_HEAP, num_threads=1)
                return self.writer
            except ValueError as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise LexicalIndexError(f"cannot write the lexical index {self.index.path} ({one_line(exc, limit=None)}); "
                                            "stop the other ragchat writing to it and re-run") from None
                time.sleep(0.05)

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.writer.commit()
        else:
            self.writer.rollback()
        self.writer.wait_merging_threads()  # releases the lock; merges finish inside this change
        self.index.refresh()


def _open(path: Path) -> tantivy.Index:
    """The index at ``path``: created when missing; rebuilt empty, with one line saying why, when
    it is unusable (``load_index`` then refills it from the store)."""
    try:
        return _existing(path)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a damaged index may make tantivy panic (PanicException is a BaseException)
        print(f"rebuilding the lexical index {path} from the store: {one_line(exc, limit=None)}", file=sys.stderr)
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        return _existing(path)
    except (OSError, ValueError) as exc:
        raise LexicalIndexError(f"cannot rebuild the lexical index {path} ({one_line(exc, limit=None)}); delete it and re-run") from None


def _existing(path: Path) -> tantivy.Index:
    version = path / _VERSION_FILE
    if not path.exists():
        path.mkdir(parents=True)
        version.write_text(SCHEMA_VERSION)
    elif not path.is_dir():
        raise ValueError("it is a file, not an index folder")
    elif not version.is_file() or version.read_text(errors="replace").strip() != SCHEMA_VERSION:
        raise ValueError("it was made by another version of ragchat or is damaged")
    index = tantivy.Index(_SCHEMA, path=str(path), reuse=True)
    index.reload()
    searcher = index.searcher()
    everything = searcher.search(tantivy.Query.all_query(), limit=1, count=True)  # reads every segment's files
    for _, address in everything.hits:
        searcher.doc(address)
    return index


def _words(text: str) -> list[str]:
    """Folded words (lower case, no accents), hyphenated compounds split, as names are read
    (``ragchat.text.facts``)."""
    return _WORD.findall(folded(text).replace("-", " "))


def _only(doc_ids: set[str]) -> tantivy.Query:
    """Restricts a search to some documents without adding to its scores."""
    return tantivy.Query.const_score_query(tantivy.Query.term_set_query(_SCHEMA, "doc", sorted(doc_ids)), 0.0)


def _defined(text: str) -> list[str]:
    """The abbreviations a chunk spells out, as ``abbreviation_key`` files them."""
    return sorted({abbreviation_key(d.short) for d in definitions(text)} - {""})


def _generation(path: Path) -> tuple[int, int]:
    """Changes with every commit: tantivy replaces ``meta.json`` (write and rename) on each one."""
    try:
        stat = (path / "meta.json").stat()
    except OSError:
        return (0, 0)
    return stat.st_ino, stat.st_mtime_ns


def index_path(settings: Settings) -> Path:
    store = settings.store
    if store.chroma_host:
        return store.data_dir / "lexical" / f"{store.chroma_host}_{store.chroma_port}_{store.collection}"
    return store.store_path / f"{store.collection}.lexical"


def delete_index(settings: Settings) -> None:
    path = index_path(settings)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def load_index(settings: Settings, store, records: dict | None = None) -> LexicalIndex:
    """The persisted index, with every document whose stamp disagrees with the store re-indexed from it.

    ``records`` are the store's document records when the caller has just read them (reading them
    takes about half a second at 2,000 documents).
    """
    index = LexicalIndex(index_path(settings))
    repair(index, store, store.documents() if records is None else records)
    return index


def repair(index: LexicalIndex, store, records: dict) -> None:
    """Make the index hold exactly what the store's ``records`` say, touching only documents that differ."""
    records = {doc_id: record.content_hash for doc_id, record in records.items()}
    stamps = index.stamps
    gone = stamps.keys() - records.keys()
    if gone:
        index.remove_documents(gone)
    stale = {doc_id for doc_id, content_hash in records.items() if stamps.get(doc_id) != content_hash}
    if stale:
        chunks = store.chunks_of(stale)
        index.replace_documents((doc_id, [(c.chunk_id, c.text) for c in chunks.get(doc_id, [])], records[doc_id])
                                for doc_id in sorted(stale))
