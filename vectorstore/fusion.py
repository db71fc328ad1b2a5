"""Reciprocal rank fusion of ranked id lists.

Dense and lexical scores live on different scales; fusing ranks needs no normalisation between
them, which is why RRF is used rather than a weighted sum of raw scores.
"""

from __future__ import annotations

from collections.abc import Sequence


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
