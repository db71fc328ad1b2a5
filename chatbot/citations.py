"""Sentences with offsets, [n] markers, and the numbering that ties markers to stable chunk ids.

Offsets are the point of this module: a quote is only checkable if ``document[start:end]`` gives it
back, so sentence spans are computed on the text itself and never re-joined or normalised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.sentences import split_sentences

MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")


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
    """Citation numbers in order of first use, one per quote, each bound to a stable chunk id.

    Two sentences quoting different parts of one chunk get two numbers, so every [n] leads to the
    very quote behind its sentence; citing the same quote again reuses its number.
    """

    by_quote: dict[tuple[str, int, int], int] = field(default_factory=dict)

    def number(self, chunk_id: str, start: int, end: int) -> int:
        return self.by_quote.setdefault((chunk_id, start, end), len(self.by_quote) + 1)


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
