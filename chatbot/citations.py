"""Sentences with offsets, [n] markers, and the numbering that ties markers to stable chunk ids.

Offsets are the point of this module: a quote is only checkable if ``document[start:end]`` gives it
back, so sentence spans are computed on the text itself and never re-joined or normalised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A sentence ends at . ! or ? (plus closing quotes/brackets and a glued footnote number such as
# "stalemate1.") when the next word starts a new sentence; line breaks always end one, because
# headings, list items and tweets in cleaned documents have no final punctuation.
_END = re.compile(r"[.!?][\"'”’)\]]*(?:\d{1,3}(?=\s))?(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof st no vs etc e.g i.e u.s u.k u.n jan feb mar apr jun jul aug sep sept oct nov dec gen lt col "
    "capt sgt rev fig approx inc ltd co jr sr".split()
)
_LAST_WORD = re.compile(r"([\w.]+)\.$")
MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")


@dataclass(frozen=True)
class Span:
    """A piece of a text with its offsets in that text: ``text == source[start:end]``."""

    text: str
    start: int
    end: int


def split_sentences(text: str, offset: int = 0) -> list[Span]:
    """Sentences of ``text`` with offsets shifted by ``offset`` (the text's place in its document)."""
    spans: list[Span] = []
    line_start = 0
    for line in text.split("\n"):
        cut = 0
        for match in _END.finditer(line):
            last = _LAST_WORD.search(line[: match.start() + 1])
            if last and last.group(1).lower() in _ABBREVIATIONS:
                continue
            if last and len(last.group(1)) == 1 and last.group(1).isupper():  # initials: "A. Khan"
                continue
            if line[cut:match.start()].strip().isdigit():  # a list number: "54. Islamabad, Kabul ..."
                continue
            spans.extend(_trimmed(line, cut, match.end(), line_start + offset))
            cut = match.end()
        spans.extend(_trimmed(line, cut, len(line), line_start + offset))
        line_start += len(line) + 1
    return spans


def _trimmed(line: str, start: int, end: int, base: int) -> list[Span]:
    piece = line[start:end]
    stripped = piece.strip()
    if not stripped:
        return []
    lead = len(piece) - len(piece.lstrip())
    return [Span(stripped, base + start + lead, base + start + lead + len(stripped))]


@dataclass(frozen=True)
class MarkedSentence:
    text: str  # without markers
    markers: list[int]  # in the order written, duplicates removed


def split_marked(answer: str) -> list[MarkedSentence]:
    """An LLM answer as sentences with the [n] markers each one carries.

    Models write both "... 789 attacks [1]." and "... 789 attacks. [1]"; markers after the full
    stop are moved before it so they stay with the sentence they follow, not the next one.
    """
    normalised = _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", answer)
    result = []
    for span in split_sentences(normalised):
        markers: list[int] = []
        for group in MARKER.findall(span.text):
            for n in re.split(r"\s*[,;]\s*", group):
                if int(n) not in markers:
                    markers.append(int(n))
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", MARKER.sub("", span.text)).strip()
        if text:
            result.append(MarkedSentence(text, markers))
    return result


@dataclass
class Numbering:
    """Citation numbers in order of first use, each bound to one stable chunk id."""

    by_chunk: dict[str, int] = field(default_factory=dict)

    def number(self, chunk_id: str) -> int:
        return self.by_chunk.setdefault(chunk_id, len(self.by_chunk) + 1)


def with_markers(text: str, numbers: list[int]) -> str:
    """A sentence with its markers placed before the final punctuation, as readers expect."""
    if not numbers:
        return text
    marks = "".join(f"[{n}]" for n in numbers)
    body = text.rstrip()
    stop = re.search(r"[.!?][\"'”’)\]]*$", body)
    if stop:
        return f"{body[: stop.start()]} {marks}{body[stop.start():]}"
    return f"{body} {marks}"
