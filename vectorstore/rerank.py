"""Optional cross-encoder reranking of the fused candidates.

A cross-encoder reads query and passage together, so it orders candidates better than either
search alone, but it costs a model forward pass per candidate and no reranker weights ship with
the offline install. It is therefore off unless ``RAGCHAT_RERANKER_MODEL`` names a local
sentence-transformers CrossEncoder folder (e.g. a copy of cross-encoder/ms-marco-MiniLM-L-6-v2).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from vectorstore.embeddings import ModelNotFound
from vectorstore.store import StoredChunk


@lru_cache(maxsize=1)
def _load(path: str):
    from sentence_transformers import CrossEncoder

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ModelNotFound(f"reranker model {path!r} is not a folder; set RAGCHAT_RERANKER_MODEL to a local "
                            "CrossEncoder folder or unset it to turn reranking off")
    return CrossEncoder(str(folder), device="cpu", local_files_only=True)


def rerank(path: str, query: str, candidates: list[tuple[str, float]],
           chunks: dict[str, StoredChunk]) -> list[tuple[str, float]]:
    """The candidates (id, fused score) reordered by the cross-encoder; scores are kept as fused."""
    if not candidates:
        return candidates
    scores = _load(path).predict([(query, chunks[i].text) for i, _ in candidates], show_progress_bar=False)
    order = sorted(range(len(candidates)), key=lambda n: (-float(scores[n]), candidates[n][0]))
    return [candidates[n] for n in order]
