"""A table row as a sentence: "Crossing: Chaman; Lorries in 2024: 58,200; Days closed in 2024: 83."

Ingest writes every table row it can label this way (``ingest.tables``, the HTML and DOCX loaders),
so the row carries its own meaning to retrieval and to the reader. ``cells`` reads it back: the
sentence splitter keeps a row one sentence, and the answer's short span takes the value under the
column the question asks about, not the figure that happens to stand nearest one of its words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import zip_longest

_ENDS = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
_SEPARATOR = "; "
# A labelled cell: a short label without a colon, ": ", a value (a bare cell has no label)
_LABELLED = re.compile(r"(?P<label>[^:;]{1,80}): (?P<value>.+)", re.DOTALL)


@dataclass(frozen=True)
class Cell:
    label: str  # "" for a cell under no header
    start: int  # the value's offsets in the row's text
    end: int


def labelled_row(header: Sequence[str], cells: Sequence[str]) -> str:
    """One row as a sentence: "Header: value; ..." for its non-empty cells; "" for an empty row.
    A cell beyond the header, or under an empty header cell, is given bare."""
    parts = []
    for name, value in zip_longest(header, cells, fillvalue=""):
        # "; " parts a row's cells, so a cell's own is written ", " ("Note: cold; windy" stays one cell)
        name, value = " ".join(name.split()), " ".join(value.split()).replace("; ", ", ")
        if value:
            parts.append(f"{name}: {value}" if name and name != value else value)
    row = _SEPARATOR.join(parts)
    return row if not row or _ENDS.search(row) else row + "."


def cells(text: str) -> list[Cell]:
    """The cells of a sentence written by ``labelled_row``; [] for any other sentence. Prose can
    look alike ("known as the Wenchuan earthquake (Chinese: 汶川大地震; pinyin: Wènchuān dà dìzhèn)",
    "Other films have included: La valse de l'adieu; Impromptu; and Chopin: Desire for Love"), so
    a row has two labelled cells or more, more than half its cells labelled, and no bracket opened
    in one cell and closed in another."""
    found, offset = [], 0
    body = _ENDS.sub("", text) if text.endswith(".") else text
    for part in body.split(_SEPARATOR):
        if part.count("(") != part.count(")") or part.count("[") != part.count("]"):
            return []
        match = _LABELLED.fullmatch(part)
        if match:
            found.append(Cell(match["label"].strip(), offset + match.start("value"), offset + match.end("value")))
        else:
            found.append(Cell("", offset, offset + len(part)))
        offset += len(part) + len(_SEPARATOR)
    labelled = sum(bool(c.label) for c in found)
    return found if labelled >= 2 and 2 * labelled > len(found) else []
