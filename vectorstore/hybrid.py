"""Hybrid retrieval: dense (Chroma) and BM25 over the same chunks, fused by reciprocal rank.

Dense search finds paraphrases but misses exact names and figures ("Barmal", "789", "TAD");
BM25 finds those but misses paraphrase. Reciprocal rank fusion needs no score normalisation
between the two, which is why it is used rather than a weighted sum of raw scores. After fusion,
overlapping or adjacent chunks of one document are joined into one passage so the answerer never
sees the same overlap region twice, and each result reports how strongly it matches the question
(``Retrieval.strength``), which the answering step uses to refuse.

The BM25 index is loaded once per retriever and reloaded only when an ingest has rewritten its
file (one ``stat`` per query), so queries never rebuild it. Everything goes through ``Store``, so
the embedded store and a Chroma server behave the same.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import PrivateAttr

from ragchat.settings import Settings
from vectorstore import bm25, followups
from vectorstore.embeddings import LocalEmbeddings
from vectorstore.followups import Turn
from vectorstore.store import Store, StoredChunk, StoreError

Rewriter = Callable[[str, Sequence[Turn]], str]


@dataclass(frozen=True)
class Passage:
    chunk_ids: tuple[str, ...]
    doc_id: str
    source: str
    title: str
    date: str
    text: str  # == the document's cleaned text[start:end]
    start: int
    end: int
    score: float  # fused (RRF) score of its best chunk
    dense: float  # cosine similarity of the query to its best-matching chunk
    page: int = 0


@dataclass
class Retrieval:
    question: str
    query: str  # the standalone query that was searched
    passages: list[Passage]
    strength: float  # in [0, 1]: how well the best passage matches the question
    timings_ms: dict[str, float] = field(default_factory=dict)


def fuse(rankings: Sequence[tuple[Sequence[str], float]], k: int) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over the lists an id is in.

    Two lists that disagree outright give exact ties (each top hit scores 1 / (k + 1)); those go
    to the better single rank, then to the earlier list, so the caller's list order is its
    preference, and never to an accident of id spelling.
    """
    scores: dict[str, float] = {}
    best: dict[str, tuple[int, int]] = {}
    for position, (ids, weight) in enumerate(rankings):
        for rank, item in enumerate(ids, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            best[item] = min(best.get(item, (rank, position)), (rank, position))
    return sorted(scores.items(), key=lambda pair: (-pair[1], best[pair[0]], pair[0]))


def evidence_strength(dense: float, coverage: float, settings: Settings) -> float:
    """Calibrated probability that a passage answers the question (see Settings.strength_*)."""
    z = settings.strength_dense * dense + settings.strength_coverage * coverage + settings.strength_bias
    return 1.0 / (1.0 + math.exp(-z))


def term_coverage(query: str, text: str, index: bm25.BM25Index) -> float:
    """IDF-weighted share of the query's terms that occur in ``text``.

    A rare term the passage lacks ("biryani", "Shehbaz") costs much more than a common one, which
    is what tells a near-miss from an answer when the dense similarity alone cannot.
    """
    terms = set(bm25.tokenize(query))
    if not terms:
        return 0.0
    present = set(bm25.tokenize(text))
    weights = {t: index.idf(t) for t in terms}
    return sum(w for t, w in weights.items() if t in present) / sum(weights.values())


class HybridRetriever(BaseRetriever):
    """LangChain retriever over one store; ``retrieve`` is the full interface, ``invoke`` the chain one."""

    settings: Settings
    store: Store
    embeddings: LocalEmbeddings
    index: bm25.BM25Index

    _index_mtime: float = PrivateAttr(default=0.0)
    _texts: dict[str, str] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context) -> None:
        self._index_mtime = _mtime(self.index)

    def retrieve(self, question: str, history: Sequence[Turn] = (), *, k: int | None = None,
                 docs: Collection[str] | None = None, date_from: str | None = None, date_to: str | None = None,
                 rewriter: Rewriter | None = None) -> Retrieval:
        """Passages for ``question`` (a follow-up is first rewritten using ``history``).

        ``docs`` takes doc ids or file names; ``date_from``/``date_to`` (YYYY, YYYY-MM or
        YYYY-MM-DD, inclusive) keep only documents with a date in range, so undated documents are
        left out whenever a date bound is given.
        """
        timings: dict[str, float] = {}
        started = clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = (now - clock) * 1000
            clock = now

        self._refresh_index()
        query = _standalone(question, history, rewriter)
        lap("rewrite")
        allowed = self._allowed_docs(docs, date_from, date_to)
        if allowed is not None and not allowed:
            return Retrieval(question, query, [], 0.0, timings)
        vector = self.embeddings.embed_query(query)
        lap("embed")
        where = None if allowed is None else {"doc_id": {"$in": sorted(allowed)}}
        dense = self.store.dense_search(vector, self.settings.dense_candidates, where)
        lap("dense")
        sparse = self.index.search(query, self.settings.bm25_candidates, allowed)
        lap("bm25")
        carried = [c for c in (history[-1].cited_chunk_ids if history else ())
                   if allowed is None or c.split(":")[0] in allowed]
        # BM25 first: when the two searches disagree outright, an exact name or figure is the more
        # specific evidence ("Barmal", "TAD"), so it wins the tie.
        fused = fuse([([c for c, _ in sparse], self.settings.bm25_weight),
                      ([c.chunk_id for c, _ in dense], self.settings.dense_weight),
                      (carried, self.settings.followup_weight)], self.settings.rrf_k)
        chunks = {c.chunk_id: c for c, _ in dense}
        chunks.update((c.chunk_id, c) for c in self.store.get_chunks([i for i, _ in fused if i not in chunks]))
        fused = [(i, s) for i, s in fused if i in chunks]
        lap("fuse")
        if self.settings.reranker_model:
            from vectorstore.rerank import rerank

            fused = rerank(self.settings.reranker_model, query, fused[: self.settings.rerank_candidates], chunks)
            lap("rerank")
        passages = self._passages(fused, chunks, vector, k or self.settings.top_k)
        lap("passages")
        strength = max((evidence_strength(p.dense, term_coverage(query, p.text, self.index), self.settings)
                        for p in passages), default=0.0)
        lap("strength")
        timings["total"] = (time.perf_counter() - started) * 1000
        return Retrieval(question, query, passages, strength, timings)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [to_document(p) for p in self.retrieve(query).passages]

    # -- filters -----------------------------------------------------------------------------
    def _allowed_docs(self, docs: Collection[str] | None, date_from: str | None, date_to: str | None) -> set[str] | None:
        """Doc ids a filter admits, or None when there is no filter (the fast path)."""
        if docs is None and not date_from and not date_to:
            return None
        records = self.store.documents()
        allowed = set(records)
        if docs is not None:
            by_name = {r.source: r.doc_id for r in records.values()}
            unknown = [d for d in docs if d not in records and d not in by_name]
            if unknown:
                raise StoreError(f"no document {', '.join(map(repr, unknown))} in the store at {self.settings.location}; "
                                 "`ragchat docs` lists what is there")
            allowed = {by_name.get(d, d) for d in docs}
        if date_from or date_to:
            low, high = _date_key(date_from or "0000"), _date_key(date_to or "9999", upper=True)
            allowed = {d for d in allowed if records[d].date and low <= _date_key(records[d].date) <= high}
        return allowed

    # -- passages ----------------------------------------------------------------------------
    def _passages(self, fused: list[tuple[str, float]], chunks: dict[str, StoredChunk], vector: Sequence[float],
                  k: int) -> list[Passage]:
        """Up to ``k`` chunks in ranked order, joined into passages where they touch or overlap.

        Passages keep the order of their best chunk, so a reranker's order survives.
        """
        groups: list[list[StoredChunk]] = []
        per_doc: dict[str, int] = {}
        near_duplicates = 0
        for chunk_id, _ in fused:
            if sum(map(len, groups)) >= k:
                break
            chunk = chunks[chunk_id]
            group = next((g for g in groups if _touches(g, chunk)), None)
            if group is not None and len(group) < self.settings.max_merged_chunks:
                group.append(chunk)
                continue
            if per_doc.get(chunk.doc_id, 0) >= self.settings.max_per_document:
                continue
            if group is not None and _overlaps(group, chunk):
                if near_duplicates >= self.settings.max_near_duplicates:
                    continue
                near_duplicates += 1
            groups.append([chunk])
            per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
        similarity = self._similarities([c.chunk_id for g in groups for c in g], vector)
        score = dict(fused)
        return [self._passage(g, score, similarity) for g in groups]

    def _passage(self, group: list[StoredChunk], score: dict[str, float], similarity: dict[str, float]) -> Passage:
        group = sorted(group, key=lambda c: c.start)
        first = group[0]
        start, end = first.start, max(c.end for c in group)
        text = first.text if len(group) == 1 else self._document_text(first.doc_id)[start:end]
        return Passage(chunk_ids=tuple(c.chunk_id for c in group), doc_id=first.doc_id, source=first.source,
                       title=first.title, date=first.date, text=text, start=start, end=end,
                       score=max(score[c.chunk_id] for c in group), dense=max(similarity[c.chunk_id] for c in group),
                       page=first.page)

    def _similarities(self, ids: list[str], vector: Sequence[float]) -> dict[str, float]:
        """Cosine similarity of the query to each chunk, from the vectors Chroma already holds."""
        if not ids:
            return {}
        rows = self.store.chunks.get(ids=ids, include=["embeddings"])
        sims = np.asarray(rows["embeddings"], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
        return dict(zip(rows["ids"], sims.tolist()))

    def _document_text(self, doc_id: str) -> str:
        if doc_id not in self._texts:
            self._texts[doc_id] = self.store.document_text(doc_id)
        return self._texts[doc_id]

    def _refresh_index(self) -> None:
        """Pick up an ingest (this process or another) that rewrote the index file since the last query."""
        mtime = _mtime(self.index)
        if mtime != self._index_mtime:
            self.index = bm25.load_index(self.settings, self.store)
            self._index_mtime = _mtime(self.index)
            self._texts.clear()


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


def _touches(group: list[StoredChunk], chunk: StoredChunk) -> bool:
    """Same document and overlapping or directly adjacent, so joining them keeps one contiguous span."""
    return any(c.doc_id == chunk.doc_id and (abs(c.index - chunk.index) == 1 or _spans_overlap(c, chunk)) for c in group)


def _overlaps(group: list[StoredChunk], chunk: StoredChunk) -> bool:
    return any(c.doc_id == chunk.doc_id and _spans_overlap(c, chunk) for c in group)


def _spans_overlap(a: StoredChunk, b: StoredChunk) -> bool:
    return a.start < b.end and b.start < a.end


def _date_key(date: str, upper: bool = False) -> str:
    """A comparable YYYY-MM-DD; a partial upper bound ("2024") covers the whole period."""
    parts = date.split("-")
    filler = ["12", "31"] if upper else ["01", "01"]
    return "-".join((parts + filler[len(parts) - 1:])[:3])


def _mtime(index: bm25.BM25Index) -> float:
    try:
        return index.path.stat().st_mtime
    except OSError:
        return 0.0


def to_document(passage: Passage) -> Document:
    return Document(page_content=passage.text, metadata={
        "chunk_id": passage.chunk_ids[0], "chunk_ids": list(passage.chunk_ids), "doc_id": passage.doc_id,
        "source": passage.source, "title": passage.title, "date": passage.date, "start": passage.start,
        "end": passage.end, "score": passage.score, "dense": passage.dense, "page": passage.page})


_ANSWER_ONLY = ("backend", "llm_model", "llm_base_url", "llm_api_key", "llm_timeout", "llm_max_tokens",
                "llm_temperature", "llm_context")


def open_retriever(settings: Settings) -> HybridRetriever:
    """One retriever per store and retrieval settings, shared by the app's tabs and the CLI.

    Settings that only the answering step reads (which LLM, where) are left out of the cache key,
    so typing a server URL in the app does not open a second copy of the store and index.
    """
    defaults = Settings()
    return _open_retriever(settings.replace(**{name: getattr(defaults, name) for name in _ANSWER_ONLY}))


@lru_cache(maxsize=4)
def _open_retriever(settings: Settings) -> HybridRetriever:
    store = Store(settings)
    embeddings = LocalEmbeddings(settings.embedding_model, settings.embedding_batch)
    store.check_model(embeddings.name)
    return HybridRetriever(settings=settings, store=store, embeddings=embeddings, index=bm25.load_index(settings, store))
