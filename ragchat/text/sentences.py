"""Sentence spans with offsets, shared by chunking (never cut inside a sentence) and by answers
(quote whole sentences), so both agree on where a sentence ends.

Offsets are the point: a quote is only checkable if ``document[start:end]`` gives it back, so spans
are computed on the text itself and never re-joined or normalised.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ragchat.text.rows import cells

# A sentence ends at . ! or ? (plus closing quotes/brackets) when the next word starts a new
# sentence; line breaks always end one, because headings, list items and tweets in cleaned
# documents have no final punctuation. A footnote number glued after the stop ("soldiers.10 The",
# "massacre.7" at a line's end) is passed over and left out of both sentences: quoted, it read as
# part of the sentence, and a "how many" question could take it for the count.
_END = re.compile(r"[.!?][\"'”’)\]]*(?P<note>\d{1,3}(?=\s|$))?(?=\s+[\"'“‘(\[]?[A-Z0-9]|\s*$)")
# Words whose full stop ends no sentence ("Dr. Iqbal"). Not "etc.": before a capital it ends one
# ("... next track, etc. The iPod Touch has ...").
_ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof st no vs v op jan feb mar apr jun jul aug sep sept oct nov dec gen lt col "
    "capt sgt rev fig approx inc ltd co jr sr".split()
)
_TITLES = frozenset("dr mr mrs ms prof st gen lt col capt sgt rev".split())  # always before a name
_INITIALISM = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")  # "U.S.", "e.g.", "L.A. Reid", "J.S. Bach"
_LAST_WORD = re.compile(r"([\w.]+)\.$")
# A line this long is no table row ingest wrote (``ragchat.text.rows``) but a paragraph, split as prose.
_MAX_ROW = 5000
# How far back a sentence end looks for the word before it: abbreviations, initials and list
# numbers are short, and a bounded look keeps splitting linear on lines of any length.
_LOOK_BACK = 64


@dataclass(frozen=True)
class Span:
    """A piece of a text with its offsets in that text: ``text == source[start:end]``."""

    text: str
    start: int
    end: int


# A sentence's final stop, with any closing quotes or brackets after it: "... said.”", "(... 2024.)"
SENTENCE_STOP = re.compile(r"[.!?][\"'”’)\]]*$")


# Links that end a sentence, as embedded posts write them ("... including 5 terroristshttps://t.co/x")
_TRAILING_LINKS = re.compile(r"(?:\s*(?:https?://|www\.|pic\.twitter\.com/)\S*)+\s*$")


def without_trailing_links(span: Span) -> Span:
    """The sentence before any links glued to its end; the same span when it has none or is only links."""
    found = _TRAILING_LINKS.search(span.text)
    if found is None or not span.text[:found.start()].strip():
        return span
    text = span.text[:found.start()].rstrip()
    return Span(text, span.start, span.start + len(text))


# A list item's bullet or number: "- running our first smart meter pilot, in Cedar Bend.", "• 24 stations
# ...", "2. Countering Financing of Terrorism: ...". Not "7.2 The Director ...": "3.5 Million people"
# reads the same; nor "- 5 degrees", a minus sign; nor a dash opening a line of prose ("– much smaller").
_LIST_MARKER = re.compile(r"(?:-\s+(?=[^\d\s])|[*•]\s+(?=\S)|\d{1,3}\.\s+(?=\S))")


def without_list_marker(span: Span) -> Span:
    """A list item without its bullet or number, and without the ";" or "," that joins it to the
    next item: an answer quotes what the item says ("running our first smart meter pilot [2].")."""
    found = _LIST_MARKER.match(span.text)
    if found is None:
        return span
    text = span.text[found.end():]
    text = text[:-1].rstrip() if text[-1] in ";," else text
    if not text:
        return span
    return Span(text, span.start + found.end(), span.start + found.end() + len(text))


def _abbreviation_stop(line: str, stop: int) -> bool:
    """The full stop at ``line[stop]`` is an abbreviation's ("Dr.", "No."), an initial's ("A. Khan";
    a lone lower-case letter too: "(r. 1402–1424)", "(d. 1435)") or an initialism's ("U.S.",
    "p.m."): it ends no sentence."""
    last = _LAST_WORD.search(line[max(0, stop - _LOOK_BACK): stop + 1])
    if last is None:
        return False
    word = last.group(1)
    if word.lower() in _ABBREVIATIONS or _INITIALISM.fullmatch(word):
        return True
    return len(word) == 1 and (word.isupper() or word.islower() and line[stop - 2:stop - 1] in " (")


def _closing_stop(text: str) -> tuple[str, int]:
    """``text`` without the quotes and brackets after its last character, and that character's index."""
    body = text.rstrip("\"'”’)]")
    return body, len(body) - 1


def stop_ends_sentence(text: str) -> bool:
    """Whether the full stop closing ``text`` ends a sentence, by ``split_sentences``'s own rule."""
    return not _abbreviation_stop(*_closing_stop(text))


def stop_never_ends_sentence(text: str) -> bool:
    """The full stop closing ``text`` is a title's ("Dr.", "Prof.") or an initialism's ("p.m.",
    "e.g."), which no sentence ends with; "no.", "Ltd." or "Plan B." may end one."""
    body, stop = _closing_stop(text)
    last = _LAST_WORD.search(body[max(0, stop - _LOOK_BACK):])
    return last is not None and (last.group(1).lower() in _TITLES or bool(_INITIALISM.fullmatch(last.group(1))))


def split_sentences(text: str, offset: int = 0) -> list[Span]:
    """Sentences of ``text`` with offsets shifted by ``offset`` (the text's place in its document)."""
    return list(iter_sentences(text, offset))


def iter_sentences(text: str, offset: int = 0) -> Iterator[Span]:
    """``split_sentences`` one at a time, for texts too long to hold every sentence at once."""
    line_start = 0
    for line in text.split("\n"):
        if len(line) <= _MAX_ROW and "; " in line and ": " in line and cells(line):  # a table row is one sentence
            yield from _trimmed(line, 0, len(line), line_start + offset)
            line_start += len(line) + 1
            continue
        cut = 0
        for match in _END.finditer(line):
            if _abbreviation_stop(line, match.start()):
                continue
            if match.start() - cut <= _LOOK_BACK and line[cut:match.start()].strip().isdigit():  # "54. Islamabad ..."
                continue
            yield from _trimmed(line, cut, match.start("note") if match["note"] else match.end(), line_start + offset)
            cut = match.end()
        yield from _trimmed(line, cut, len(line), line_start + offset)
        line_start += len(line) + 1


def _trimmed(line: str, start: int, end: int, base: int) -> list[Span]:
    piece = line[start:end]
    stripped = piece.strip()
    if not stripped:
        return []
    lead = len(piece) - len(piece.lstrip())
    return [Span(stripped, base + start + lead, base + start + lead + len(stripped))]
