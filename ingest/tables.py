"""Tables stored one row per line, each cell labelled with its column's header.

A table row read alone ("| Chaman | 96,400 | 58,200 | 83 |") answers nothing: the question
"How many days was Chaman closed in 2024?" shares no word with it, so retrieval, the sentence
chooser and the short-answer span all pass it by, and a quote of it means nothing to a reader.
Written as "Crossing: Chaman; Lorries in 2023: 96,400; Lorries in 2024: 58,200; Days closed in
2024: 83." the row is a sentence that carries its own meaning, which every later step reads as
prose, and a quote of it can be checked against the stored text like any other.

Markdown's pipe tables (with the delimiter row under their header, as GitHub's tables have) are
rewritten here; the HTML and DOCX loaders label their rows with ``ragchat.text.rows.labelled_row``
as they read them. A table whose header cannot be told (a PDF's, a Markdown one without a
delimiter row) keeps its lines as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragchat.text.rows import labelled_row

_GROWTH = 1_000_000
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_DELIMITER = re.compile(r"^ ?(?=[^\n]*\|)\|? *:?-+:? *(?:\| *:?-+:? *)*\|? ?$", re.MULTILINE)  # "|---|:--:|"


def _pipe_cells(line: str) -> list[str]:
    """The cells of a Markdown table row; "\\|" is a bar inside a cell."""
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
    return [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(line)]


@dataclass
class Allowance:
    """Characters labels may still add to a document. Labels repeat the header on every row, so a
    hostile table (long headers over one-letter cells) could multiply the text; past the allowance,
    rows keep their cells unlabelled. A Markdown text's labels add at most its own length or a
    million characters, whichever is more (``for_text``); the HTML and DOCX readers allow the
    text-length limit, as they read a stream of unknown length."""

    chars: int

    @classmethod
    def for_text(cls, length: int) -> "Allowance":
        return cls(max(length, _GROWTH))

    def labelled(self, line: str, plain: str) -> str:
        """The labelled ``line`` while what its labels add to the ``plain`` cells fits, else ``plain``."""
        added = len(line) - len(plain)
        if added > self.chars:
            return plain
        self.chars -= max(0, added)
        return line


def labelled_tables(text: str, allowance: Allowance) -> str:
    """``text`` with each Markdown pipe table's rows labelled, its header and delimiter rows gone;
    the same text when it has none. A table with no body rows, or past the ``allowance``, keeps its
    lines. Lines are found with ``find`` around each delimiter row, not split out: a long text of
    short lines would cost a string per line."""
    parts: list[str] = []
    done = 0  # text before this is in ``parts``
    for match in _DELIMITER.finditer(text):
        if match.start() < done or match.start() == 0 or allowance.chars <= 0:
            continue
        header_start = text.rfind("\n", 0, match.start() - 1) + 1
        names = _pipe_cells(text[header_start:match.start() - 1])
        if header_start < done or "|" not in text[header_start:match.start()] \
                or len(_pipe_cells(match.group())) != len(names):
            continue
        rows, end, added = [], match.end(), header_start - match.end() - 1  # header and delimiter go
        while end < len(text) and added <= allowance.chars:
            line_end = text.find("\n", end + 1)
            line_end = len(text) if line_end < 0 else line_end
            line = text[end + 1:line_end]
            if "|" not in line or not line.strip() or _DELIMITER.fullmatch(line):  # a delimiter starts another table
                break
            row = labelled_row(names, _pipe_cells(line))
            rows += [row] if row else []
            added += len(row) + 1 - (line_end - end)
            end = line_end
        if rows and added <= allowance.chars:
            allowance.chars -= max(0, added)
            parts += [text[done:header_start], "\n".join(rows)]
            done = end
        elif rows:
            allowance.chars = 0  # past it: this table and the ones after keep their lines
    return "".join(parts) + text[done:] if parts else text
