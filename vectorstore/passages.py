"""From ranked chunks to passages: joined where they touch, capped per document, with their strength.

Overlapping or adjacent chunks of one document become one passage, so the answerer never sees the
same overlap region twice; each passage reports how strongly it matches the question, which the
answering step uses to refuse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ragchat.settings import RetrievalSettings
from ragchat.text.abbreviations import ASKS_LONG_FORM
from ragchat.text.terms import tokenize
from vectorstore.store import StoredChunk

_LINE_BEFORE = 1000  # characters looked back for a passage's line start; a longer line is prose


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
    # Where the passage begins mid-line, the document's text from that line's start up to ``start``:
    # "Islamabad, Kabul should work for common goals ... (2023) Deccan Herald" reads as prose unless
    # one sees the "57. " its line starts with (chatbot.chooser drops reference-list entries).
    line_before: str = ""
    # Whether the passage begins and ends where the document's lines do: a table row is a line of
    # its own, and a sentence cut off by the passage's edge is not known to be one.
    starts_line: bool = True
    ends_line: bool = True


def group_chunks(ranked: list[StoredChunk], k: int, settings: RetrievalSettings) -> list[list[StoredChunk]]:
    """Up to ``k`` chunks in ranked order, grouped where they touch or overlap.

    Groups keep the order of their best chunk, so a reranker's order survives.
    """
    groups: list[list[StoredChunk]] = []
    per_doc: dict[str, int] = {}
    near_duplicates = 0
    for chunk in ranked:
        if sum(map(len, groups)) >= k:
            break
        group = next((g for g in groups if _touches(g, chunk)), None)
        if group is not None and len(group) < settings.max_merged_chunks:
            group.append(chunk)
            continue
        if per_doc.get(chunk.doc_id, 0) >= settings.max_per_document:
            continue
        if group is not None and _overlaps(group, chunk):
            if near_duplicates >= settings.max_near_duplicates:
                continue
            near_duplicates += 1
        groups.append([chunk])
        per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
    return groups


def passage_of(group: list[StoredChunk], document: str, score: dict[str, float], similarity: dict[str, float]) -> Passage:
    """One passage from a group, sliced from its ``document``'s cleaned text."""
    group = sorted(group, key=lambda c: c.start)
    first = group[0]
    start, end = span_of(group)
    newline = document.rfind("\n", max(0, start - _LINE_BEFORE), start)
    line = newline + 1 if newline >= 0 or start <= _LINE_BEFORE else start
    return Passage(chunk_ids=tuple(c.chunk_id for c in group), doc_id=first.doc_id, source=first.source,
                   title=first.title, date=first.date, text=document[start:end], start=start, end=end,
                   score=max(score[c.chunk_id] for c in group), dense=max(similarity[c.chunk_id] for c in group),
                   page=first.page, line_before=document[line:start],
                   starts_line=start == 0 or document[start - 1] == "\n",
                   ends_line=end >= len(document) or document[end] == "\n")


def span_of(group: list[StoredChunk]) -> tuple[int, int]:
    return min(c.start for c in group), max(c.end for c in group)


def evidence_strength(dense: float, coverage: float, settings: RetrievalSettings) -> float:
    """Calibrated probability that a passage answers the question (see RetrievalSettings.strength_*)."""
    z = settings.strength_dense * dense + settings.strength_coverage * coverage + settings.strength_bias
    return 1.0 / (1.0 + math.exp(-z))


def term_coverage(query: str, text: str, idf) -> float:
    """IDF-weighted share of the query's terms that occur in ``text`` (``idf``: term -> weight).

    A rare term the passage lacks ("biryani", "Shehbaz") costs much more than a common one, which
    is what tells a near-miss from an answer when the dense similarity alone cannot.
    """
    terms = set(tokenize(ASKS_LONG_FORM.sub(" ", query)))  # "stand for" is how it asks, not what about
    if not terms:
        return 0.0
    present = set(tokenize(text))
    weights = {t: idf(t) for t in terms}
    return sum(w for t, w in weights.items() if t in present) / sum(weights.values())


def _touches(group: list[StoredChunk], chunk: StoredChunk) -> bool:
    """Same document and overlapping or directly adjacent, so joining them keeps one contiguous span."""
    return any(c.doc_id == chunk.doc_id and (abs(c.index - chunk.index) == 1 or _spans_overlap(c, chunk)) for c in group)


def _overlaps(group: list[StoredChunk], chunk: StoredChunk) -> bool:
    return any(c.doc_id == chunk.doc_id and _spans_overlap(c, chunk) for c in group)


def _spans_overlap(a: StoredChunk, b: StoredChunk) -> bool:
    return a.start < b.end and b.start < a.end
