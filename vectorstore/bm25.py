"""Okapi BM25 over the stored chunks, persisted beside the store and updated per document.

Dense vectors miss exact names and figures ("Barmal", "789"); BM25 finds them. The index is a
derived copy of the chunk texts in Chroma, keyed by the store's fingerprint: if the two ever
disagree (a killed ingest, another machine writing to a shared server), it is rebuilt from Chroma
once at load time, never per query.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from ragchat.settings import Settings
from ragchat.text.terms import tokenize


class BM25Index:
    def __init__(self, path: Path, k1: float, b: float):
        self.path = path
        self.k1, self.b = k1, b
        self.fingerprint = ""
        self.entries: dict[str, tuple[str, dict[str, int]]] = {}  # chunk id -> (doc id, term counts)
        self._postings: dict[str, list[tuple[str, int]]] | None = None

    # -- building --------------------------------------------------------------------------
    def replace_document(self, doc_id: str, chunks: Iterable[tuple[str, str]]) -> None:
        self.remove_document(doc_id)
        for chunk_id, text in chunks:
            self.entries[chunk_id] = (doc_id, dict(Counter(tokenize(text))))
        self._postings = None

    def remove_document(self, doc_id: str) -> None:
        self.entries = {k: v for k, v in self.entries.items() if v[0] != doc_id}
        self._postings = None

    def save(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"fingerprint": fingerprint, "entries": self.entries}), encoding="utf-8")
        os.replace(tmp, self.path)  # atomic: a killed save leaves the old index, which the fingerprint flags

    @classmethod
    def load(cls, path: Path, k1: float, b: float) -> "BM25Index":
        index = cls(path, k1, b)
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                index.fingerprint = data["fingerprint"]
                index.entries = {k: (v[0], v[1]) for k, v in data["entries"].items()}
            except (OSError, ValueError, KeyError):
                index.fingerprint = ""  # unreadable: treated as stale and rebuilt
        return index

    # -- searching -------------------------------------------------------------------------
    def search(self, query: str, k: int, allowed_docs: set[str] | None = None) -> list[tuple[str, float]]:
        postings = self._index()
        avg_len = self._avg_len or 1.0
        scores: dict[str, float] = defaultdict(float)
        for term in set(tokenize(query)):
            hits = postings.get(term, ())
            if not hits:
                continue
            idf = self.idf(term)
            for chunk_id, tf in hits:
                length = self._lengths[chunk_id]
                scores[chunk_id] += idf * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * length / avg_len))
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        if allowed_docs is not None:
            ranked = [(c, s) for c, s in ranked if self.entries[c][0] in allowed_docs]
        return ranked[:k]

    def idf(self, term: str) -> float:
        """Rarity of a tokenized term, as search weighs it; a term no chunk has is rarest of all."""
        df = len(self._index().get(term, ()))
        n = len(self.entries) or 1
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _index(self) -> dict[str, list[tuple[str, int]]]:
        if self._postings is None:
            postings: dict[str, list[tuple[str, int]]] = defaultdict(list)
            self._lengths = {}
            for chunk_id, (_, counts) in self.entries.items():
                self._lengths[chunk_id] = sum(counts.values())
                for term, tf in counts.items():
                    postings[term].append((chunk_id, tf))
            self._avg_len = sum(self._lengths.values()) / max(len(self._lengths), 1)
            self._postings = dict(postings)
        return self._postings


def index_path(settings: Settings) -> Path:
    store = settings.store
    if store.chroma_host:
        return store.data_dir / "bm25" / f"{store.chroma_host}_{store.chroma_port}_{store.collection}.json"
    return store.store_path / f"{store.collection}.bm25.json"


def load_index(settings: Settings, store) -> BM25Index:
    """The persisted index, rebuilt from the store only when it is missing or stale."""
    index = BM25Index.load(index_path(settings), settings.retrieval.bm25_k1, settings.retrieval.bm25_b)
    fingerprint = store.fingerprint()
    if index.fingerprint != fingerprint:
        index.entries = {}
        by_doc: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for chunk in store.all_chunks():
            by_doc[chunk.doc_id].append((chunk.chunk_id, chunk.text))
        for doc_id, chunks in by_doc.items():
            index.replace_document(doc_id, chunks)
        index.save(fingerprint)
    return index
