"""Hybrid retrieval: dense (Chroma) and BM25 over the same chunks, fused by reciprocal rank.

Dense search finds paraphrases but misses exact names and figures ("Barmal", "789", "TAD");
BM25 (the tantivy index of ``vectorstore.lexical``) finds those but misses paraphrase. The fused chunks become passages (``vectorstore.passages``)
with an evidence strength the answering step uses to refuse.

The lexical index is opened once per retriever; a commit by an ingest (this process or another)
is picked up by one ``stat`` per query, so queries never rebuild it. Everything goes through ``Store``, so
the embedded store and a Chroma server behave the same.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ragchat.settings import RetrievalSettings, Settings, StoreSettings
from ragchat.text.abbreviations import abbreviation_asked
from vectorstore import followups, lexical
from vectorstore.embeddings import LocalEmbeddings, embeddings_for
from vectorstore.fusion import fuse
from vectorstore.passages import Passage, evidence_strength, group_chunks, passage_of, term_coverage
from vectorstore.request import RetrievalRequest, Turn
from vectorstore.store import Store, StoredChunk, StoreError, doc_id_of

Rewriter = Callable[[str, Sequence[Turn]], str]
_TEXTS_KEPT = 32  # documents whose text is kept between questions (a question reads at most top_k of them)


@dataclass
class Retrieval:
    question: str
    query: str  # the standalone query that was searched
    passages: list[Passage]
    strength: float  # in [0, 1]: how well the best passage matches the question
    timings_ms: dict[str, float] = field(default_factory=dict)


class HybridRetriever:
    """Search over one store; ``retrieve`` is the whole interface (``LangChainRetriever`` wraps it for chains)."""

    def __init__(self, settings: Settings, store: Store, embeddings: LocalEmbeddings, index: lexical.LexicalIndex):
        self.settings = settings
        self.store = store
        self.embeddings = embeddings
        self.index = index
        # One document's text. Every passage is sliced from it, and the answering step's checks read
        # the documents answered from: a few dozen recent ones are kept, so a server answering over
        # thousands of documents holds a bounded share of the library in memory.
        self.document_text = functools.lru_cache(maxsize=_TEXTS_KEPT)(store.document_text)

    @property
    def config(self) -> RetrievalSettings:
        return self.settings.retrieval

    def retrieve(self, question: str, request: RetrievalRequest = RetrievalRequest(), *,
                 rewriter: Rewriter | None = None) -> Retrieval:
        """Passages for ``question`` (a follow-up is first rewritten using ``request.history``)."""
        timings: dict[str, float] = {}
        started = clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = (now - clock) * 1000
            clock = now

        self._refresh_index()
        history = request.history
        query = _standalone(question, history, rewriter)
        lap("rewrite")
        allowed = self._allowed_docs(request)
        if allowed is not None and not allowed:
            return Retrieval(question, query, [], 0.0, timings)
        vector = self.embeddings.embed_query(query)
        lap("embed")
        where = None if allowed is None else {"doc_id": {"$in": sorted(allowed)}}
        dense = self.store.dense_search(vector, self.config.dense_candidates, where)
        lap("dense")
        sparse = self.index.search(query, self.config.bm25_candidates, allowed)
        # "What does ISPR stand for?": the chunks that spell it out are a lexical list of their own.
        asked = abbreviation_asked(query)
        defining = self.index.defining(asked, query, self.config.bm25_candidates, allowed) if asked else []
        lap("bm25")
        carried = [c for c in (history[-1].cited_chunk_ids if history else ())
                   if allowed is None or doc_id_of(c) in allowed]
        # BM25 first: when the two searches disagree outright, an exact name or figure is the more
        # specific evidence ("Barmal", "TAD"), so it wins the tie.
        fused = fuse([([c for c, _ in sparse], self.config.bm25_weight), (defining, self.config.bm25_weight),
                      ([c.chunk_id for c, _ in dense], self.config.dense_weight),
                      (carried, self.config.followup_weight)], self.config.rrf_k)
        chunks = {c.chunk_id: c for c, _ in dense}
        chunks.update((c.chunk_id, c) for c in self.store.get_chunks([i for i, _ in fused if i not in chunks]))
        # Only committed documents answer: chunks whose record is not written yet (an ingest in
        # flight) or no longer (a delete killed half-way) have no text to quote in context.
        committed = self.store.committed({c.doc_id for c in chunks.values()})
        fused = [(i, s) for i, s in fused if i in chunks and chunks[i].doc_id in committed]
        lap("fuse")
        if self.config.reranker_model:
            from vectorstore.rerank import rerank

            fused = rerank(self.config.reranker_model, query, fused[: self.config.rerank_candidates], chunks)
            lap("rerank")
        passages = self._passages(fused, chunks, vector, request.k or self.config.top_k)
        lap("passages")
        strength = max((evidence_strength(p.dense, term_coverage(query, p.text, self.index.idf), self.config)
                        for p in passages), default=0.0)
        lap("strength")
        timings["total"] = (time.perf_counter() - started) * 1000
        return Retrieval(question, query, passages, strength, timings)

    def _allowed_docs(self, request: RetrievalRequest) -> set[str] | None:
        """Doc ids a filter admits, or None when there is no filter (the fast path)."""
        if not request.filtered:
            return None
        records = self.store.documents()
        allowed = set(records)
        if request.docs is not None:
            by_name = {r.source: r.doc_id for r in records.values()}
            unknown = [d for d in request.docs if d not in records and d not in by_name]
            if unknown:
                raise StoreError(f"no document {', '.join(map(repr, unknown))} in the store at {self.settings.location}; "
                                 "`ragchat status` lists what is there")
            allowed = {by_name.get(d, d) for d in request.docs}
        if request.date_from or request.date_to:
            low, high = _date_key(request.date_from or "0000"), _date_key(request.date_to or "9999", upper=True)
            allowed = {d for d in allowed if records[d].date and low <= _date_key(records[d].date) <= high}
        return allowed

    def _passages(self, fused: list[tuple[str, float]], chunks: dict[str, StoredChunk], vector: Sequence[float],
                  k: int) -> list[Passage]:
        groups = group_chunks([chunks[i] for i, _ in fused], k, self.config)
        similarity = self._similarities([c for g in groups for c in g], vector)
        score = dict(fused)
        return [passage_of(g, self.document_text(g[0].doc_id), score, similarity) for g in groups]

    def _similarities(self, group: list[StoredChunk], vector: Sequence[float]) -> dict[str, float]:
        """Cosine similarity of the query to each chunk, from the vectors Chroma already holds.

        A chunk another process has just written can be found by the lexical index (and in Chroma's
        records) before this process's Chroma can read its vector; such chunks are embedded here.
        """
        if not group:
            return {}
        query = np.asarray(vector, dtype=np.float32)
        found = self.store.vectors_of([c.chunk_id for c in group])
        missing = [c for c in group if c.chunk_id not in found]
        if missing:
            found.update(zip([c.chunk_id for c in missing], self.embeddings.encode([c.text for c in missing])))
        return {i: float(np.asarray(v, dtype=np.float32) @ query) for i, v in found.items()}

    def _refresh_index(self) -> None:
        """Pick up an ingest (this process or another) that committed to the index since the last query."""
        if self.index.refresh():
            self.document_text.cache_clear()


def _standalone(question: str, history: Sequence[Turn], rewriter: Rewriter | None) -> str:
    """The LLM's rewrite when one is given, the deterministic one otherwise or if the LLM fails."""
    if rewriter is not None and history:
        try:
            rewritten = rewriter(question, history).strip()
            if rewritten:
                return rewritten
        except Exception:  # an unreachable LLM must not stop retrieval; the fallback is still useful
            pass
    return followups.rewrite(question, history)


def _date_key(date: str, upper: bool = False) -> str:
    """A comparable YYYY-MM-DD; a partial upper bound ("2024") covers the whole period."""
    parts = date.split("-")
    filler = ["12", "31"] if upper else ["01", "01"]
    return "-".join((parts + filler[len(parts) - 1:])[:3])


_OPENING = threading.Lock()


def open_retriever(settings: Settings) -> HybridRetriever:
    """One retriever per store and retrieval settings, shared by the app's sessions and the CLI.

    Keyed on the sections retrieval reads, so changing the LLM does not reopen the store and index;
    opened under a lock, because Chroma clients created at the same moment by several threads
    fail to find their tenant.
    """
    with _OPENING:
        return _open_retriever(settings.store, settings.ingest, settings.retrieval)


@lru_cache(maxsize=4)
def _open_retriever(store_settings: StoreSettings, ingest, retrieval: RetrievalSettings) -> HybridRetriever:
    settings = Settings(store=store_settings, ingest=ingest, retrieval=retrieval)
    store = Store(settings)
    embeddings = embeddings_for(settings)
    store.check_model(embeddings.name)
    return HybridRetriever(settings, store, embeddings, lexical.load_index(settings, store))
