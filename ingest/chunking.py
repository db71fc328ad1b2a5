"""Split cleaned text into chunks that fit the embedding model and respect the text's structure.

Split points are tried in order of how much meaning they keep: a heading starts a new chunk, a
chunk prefers to end at a paragraph break, then at a sentence end; a sentence is only cut when it
alone is longer than the limit. Chunks are slices of the cleaned text (``text[start:end]``), so a
quote can always be found again in its document.

Length is counted in the embedding model's own wordpieces, so no chunk is longer than what the
model reads. Time and memory are linear in the text: the text is tokenised once, in slices, and
only the sentences of the chunk being built are held, so a hostile file (a million one-character
lines, megabytes without a space) costs what its size says and no more.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass

from ingest import wordpieces
from ingest.wordpieces import Wordpieces
from ragchat.text.sentences import iter_sentences

# Bump when the same text and settings would give other chunks: stores re-chunk on the next ingest.
# 1: tiktoken cl100k tokens; 2: the embedding model's wordpieces; 3: hard-wrapped lines joined into
# their paragraphs first (ingest.cleaning.unwrapped), so sentences, and chunks, end elsewhere;
# 4: a PDF page break before a capitalised word joined too, where the line before it is full;
# 5: table rows stored as sentences, each cell labelled with its column's header (ingest.tables);
# 6: a table row is one sentence, though a cell's text ends one ("Note: Provisional. See annex");
# 7: a text file's inline Markdown and HTML marks dropped as its rendered page shows it (ingest.markup);
# 8: a wrapped line left short by a long next word (a link's address) is joined too;
# 9: a web page's navigation and site footer left out; a Word list item keeps its number or bullet
VERSION = 9

_LINE_BREAKS = re.compile(r"\n+")  # every line is a paragraph: headings, list items, tweets
_HEADING_LINE = re.compile(r"^#[^\n]*", re.MULTILINE)
_SLICE_CHARS = 1 << 16  # text tokenised per call when counting sentences
# The model reads a word of more than 100 characters as one [UNK], so a line of such words is few
# wordpieces; without a cap on characters too it would make a chunk of megabytes.
_MAX_CHARS_PER_PIECE = 16


def signature(max_tokens: int, overlap: float, model: str) -> str:
    """What decides where chunks fall, recorded with each document so a change re-chunks it."""
    return f"v{VERSION}: up to {_budget(max_tokens, model)} wordpieces of {model}, overlap {overlap}"


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str
    tokens: int  # wordpieces of the embedding model
    heading: str = ""


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    end: int
    tokens: int
    paragraph: int
    heading: bool


def _budget(max_tokens: int, model: str) -> int:
    """Wordpieces a chunk may hold: the setting, but never more than the model reads."""
    return max(1, min(max_tokens, wordpieces.for_model(model).room))


def chunk_text(text: str, max_tokens: int = 250, overlap: float = 0.15, model: str = "all-MiniLM-L6-v2") -> list[Chunk]:
    pieces = wordpieces.for_model(model)
    budget = _budget(max_tokens, model)
    max_chars = budget * _MAX_CHARS_PER_PIECE
    units = _Window(_units(text, pieces, budget, max_chars))
    headings = _Headings(text)
    overlap_tokens = int(budget * overlap)
    chunks: list[Chunk] = []
    i = 0
    while units.has(i):
        j, used = i, 0
        while units.has(j) and used + units[j].tokens <= budget and units[j].end - units[i].start <= max_chars:
            if j > i and units[j].heading:
                break
            used += units[j].tokens
            j += 1
        j = max(j, i + 1)
        j = _prefer_paragraph_end(units, i, j, budget)
        body_tokens = pieces.count(text[units[i].start:units[j - 1].end])
        while body_tokens > budget and j > i + 1:  # sentences counted apart can join into more pieces
            j -= 1
            body_tokens = pieces.count(text[units[i].start:units[j - 1].end])
        start, end = units[i].start, units[j - 1].end
        chunks.append(Chunk(index=len(chunks), start=start, end=end, text=text[start:end], tokens=body_tokens,
                            heading=headings.before(start)))
        if not units.has(j):
            break
        i = _overlap_start(units, i, j, overlap_tokens)
        units.forget_before(i)
    return chunks


class _Window:
    """Units by position, pulled from a generator as the chunker reaches them and forgotten once
    behind it, so memory holds about one chunk's sentences whatever the text's length."""

    def __init__(self, units: Iterator[_Unit]):
        self._units = units
        self._held: list[_Unit] = []
        self._first = 0  # position of _held[0]

    def has(self, k: int) -> bool:
        while k >= self._first + len(self._held):
            unit = next(self._units, None)
            if unit is None:
                return False
            self._held.append(unit)
        return True

    def __getitem__(self, k: int) -> _Unit:
        return self._held[k - self._first]

    def forget_before(self, k: int) -> None:
        del self._held[:k - self._first]
        self._first = k


class _Headings:
    """The heading each chunk sits under (its own first line counts), found in one pass because
    chunks come in order of their start."""

    def __init__(self, text: str):
        self._lines = _HEADING_LINE.finditer(text)
        self._next = next(self._lines, None)
        self._current = ""

    def before(self, start: int) -> str:
        while self._next is not None and self._next.start() <= start:
            self._current = self._next.group().lstrip("#").strip()
            self._next = next(self._lines, None)
        return self._current


def _prefer_paragraph_end(units: _Window, i: int, j: int, max_tokens: int) -> int:
    """Move the end back to the last paragraph break if that keeps the chunk at least half full."""
    if not units.has(j) or units[j].paragraph != units[j - 1].paragraph:
        return j
    used = 0
    best = j
    for k in range(i, j):
        used += units[k].tokens
        if k + 1 < j and units[k + 1].paragraph != units[k].paragraph and used >= max_tokens // 2:
            best = k + 1
    return best


def _overlap_start(units: _Window, i: int, j: int, overlap_tokens: int) -> int:
    """Carry whole trailing sentences into the next chunk, never across a heading."""
    if units[j].heading:
        return j
    k, carried = j, 0
    while k - 1 > i and carried + units[k - 1].tokens <= overlap_tokens and not units[k - 1].heading:
        carried += units[k - 1].tokens
        k -= 1
    return k


def _units(text: str, pieces: Wordpieces, budget: int, max_chars: int) -> Iterator[_Unit]:
    """Sentences (or pieces of over-long sentences) with offsets, wordpieces and paragraph number.

    Sentences are counted a slice of text at a time: they are separated by white space, which the
    tokenizer never joins across, so each wordpiece of the slice belongs to exactly one sentence.
    """
    pending: list[tuple[int, int, int, bool]] = []
    for paragraph, (p_start, p_end) in enumerate(_spans(text)):
        heading = text.startswith("#", p_start)
        for sentence in iter_sentences(text[p_start:p_end], p_start):
            if sentence.end - sentence.start > max_chars:  # too long for one chunk whatever its count
                yield from _counted(text, pending, pieces, budget, max_chars)
                pending = []
                yield from _fit(text, sentence.start, sentence.end, pieces, budget, max_chars, paragraph, heading)
                continue
            pending.append((sentence.start, sentence.end, paragraph, heading))
            if sentence.end - pending[0][0] >= _SLICE_CHARS:
                yield from _counted(text, pending, pieces, budget, max_chars)
                pending = []
    yield from _counted(text, pending, pieces, budget, max_chars)


def _counted(text: str, sentences: list[tuple[int, int, int, bool]], pieces: Wordpieces, budget: int,
             max_chars: int) -> Iterator[_Unit]:
    if not sentences:
        return
    base = sentences[0][0]
    offsets = pieces.offsets(text[base:sentences[-1][1]])
    t = 0
    for start, end, paragraph, heading in sentences:
        while t < len(offsets) and base + offsets[t][0] < start:
            t += 1
        first = t
        while t < len(offsets) and base + offsets[t][0] < end:
            t += 1
        if t - first <= budget:
            yield _Unit(start, end, t - first, paragraph, heading)
        else:
            yield from _fit(text, start, end, pieces, budget, max_chars, paragraph, heading)


def _spans(text: str) -> Iterator[tuple[int, int]]:
    """Non-blank lines as (start, end), without their surrounding white space."""
    pos = 0
    for match in _LINE_BREAKS.finditer(text):
        if (span := _trimmed(text, pos, match.start())) is not None:
            yield span
        pos = match.end()
    if (span := _trimmed(text, pos, len(text))) is not None:
        yield span


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + lead + len(stripped)


def _fit(text: str, start: int, end: int, pieces: Wordpieces, budget: int, max_chars: int, paragraph: int,
         heading: bool) -> Iterator[_Unit]:
    """One sentence longer than a chunk: cut where the budget runs out, snapped back to a space.

    Each cut tokenises only a window ahead of it (about one chunk of ordinary text, wider where
    that holds fewer wordpieces than a chunk, never over ``max_chars``), so a sentence of any
    length costs time in proportion to its length.
    """
    pos, window = start, min(max_chars, budget * 5)
    while pos < end:
        stop = min(end, pos + window)
        offsets = pieces.offsets(text[pos:stop])
        if len(offsets) <= budget and stop < min(end, pos + max_chars):
            window = min(max_chars, window * 2)
            continue
        cut = pos + offsets[budget][0] if len(offsets) > budget else stop
        if cut <= pos:  # wordpieces sharing one character's offset (a ligature split in two): take the window
            cut = stop
        if cut < end:
            space = text.rfind(" ", pos + 1, cut)
            cut = space if space > pos else cut
        # The wordpieces before the cut: the model splits a word greedily from its start, so a
        # prefix of a word ending at a wordpiece boundary splits the same way on its own.
        tokens = bisect_left(offsets, cut - pos, key=lambda span: span[0])
        yield _Unit(pos, cut, tokens, paragraph, heading and pos == start)
        pos = cut
        while pos < end and text[pos] == " ":
            pos += 1
