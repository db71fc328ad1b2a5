"""What a search is asked: the question's context and its limits, as one value.

Retrieval, per-part searches of a multi-part question, the evaluator and every shell pass one
``RetrievalRequest`` instead of threading k, documents, dates and history through each signature,
so adding a filter is a change here and where it is applied, nowhere in between.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@dataclass(frozen=True)
class Turn:
    """What retrieval needs of an earlier turn of a conversation: what was asked, answered and cited."""

    question: str
    answer: str = ""
    cited_chunk_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetrievalRequest:
    history: tuple[Turn, ...] = ()  # earlier turns, oldest first; a follow-up is rewritten with them
    k: int | None = None  # chunks to hand over; None: settings.retrieval.top_k
    docs: tuple[str, ...] | None = None  # doc ids or file names to search; None: all
    # YYYY, YYYY-MM or YYYY-MM-DD, inclusive; with either bound, undated documents are left out
    date_from: str | None = None
    date_to: str | None = None

    @classmethod
    def of(cls, history=(), *, k: int | None = None, docs=None, date_from: str | None = None,
           date_to: str | None = None) -> "RetrievalRequest":
        """From what callers hold (lists, empty filters), normalised so equal requests compare equal;
        a k below 1 or a date that is not one is a ``ValueError`` naming the field, which every shell
        shows as its own kind of error (an exit status, a 400, a tool error)."""
        if k is not None and k < 1:
            raise ValueError(f"k: {k} passages asked for; ask for at least 1")
        for field, value in (("date_from", date_from), ("date_to", date_to)):
            if value:
                _check_date(field, value)
        return cls(tuple(history), k, tuple(docs) if docs else None, date_from or None, date_to or None)

    @property
    def filtered(self) -> bool:
        return self.docs is not None or bool(self.date_from or self.date_to)


def _check_date(field: str, value: str) -> None:
    match = _DATE.fullmatch(value)
    try:
        if match is None:
            raise ValueError
        year, month, day = match.groups()
        datetime.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not a date; write YYYY, YYYY-MM or YYYY-MM-DD") from None
