"""Normalise text once, before anything is chunked, so offsets stay valid for the stored copy.

The cleaned text is what chunk offsets point into and what the UI shows around a quote, so every
later step treats it as the document's one true text.

Hard-wrapped paragraphs are joined back into one line. A PDF's text comes out one printed line
per line, and many plain-text and Markdown files are wrapped at 70-100 columns; a line break ends
a sentence for ``ragchat.text.sentences`` (headings and list items have no full stop), so without
this every printed line was a "sentence": quotes were fragments ("Officials said"), and an answer
split over two lines could not be quoted whole. For the same reason a PDF's running headers and
page numbers are dropped and a sentence cut by a page break is joined across it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# C0 and C1 controls but NEL (white space; a C1 CSI, \x9b, drives some terminals as ESC [ does),
# zero-width characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\u200b\u200c\u200d\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")
_LINE_EDGES = re.compile(r" ?\n ?")  # after _SPACES, a line's white space at either end is one space
_BLANKS = re.compile(r"\n{3,}")
# A line break between two lines of text; a blank line (a paragraph break) is never joined.
_BREAK = re.compile(r"(?<=[^\n])\n(?=[^\n])")
_LINE = re.compile(r"[^\n]+")
# A line that starts a block of its own: a list item, a Markdown heading, table row, quote or fence.
_BLOCK_START = re.compile(r"(?:[-*+\u2022\u25aa\u2013]\s|\d{1,3}[.)]\s|[#|>]|```|~~~)")
_FENCED = re.compile(r"^(?:```|~~~)[^\n]*\n.*?^(?:```|~~~)[^\n]*$", re.MULTILINE | re.DOTALL)
# A word broken at a line's end: "secu- | rity", "cross- | border" (the bar marking the break).
_HYPHENATED = re.compile(r"([^\W\d_]+)-\n([^\W\d_]+)")
_WORDS = re.compile(r"[^\W\d_]+")
_ENDS = re.compile(r"[.!?:][\"'\u201d\u2019)\]]*$")  # a line ending a sentence or introducing a list
# A wrapped document's lines are about as long as its wrap width; a line this much shorter ended
# its paragraph (a heading, a title, a paragraph's last line), so a capital after it starts anew.
_FULL_LINE = 0.7
# A document is wrapped when its long lines stay within this many characters (printed lines and
# text wrapped at 70-100 columns; a paragraph per line runs longer) and a tenth of its breaks fall
# in mid-sentence before a lower-case word. Elsewhere only such breaks are joined: a capital after
# an unpunctuated line there is a heading's or a new paragraph's.
_WRAP_WIDTH = 200
_WRAPPED_SHARE = 0.1
_FURNITURE_PAGES = 3  # a header or footer is told by recurring; fewer pages than this cannot show it


def clean(text: str) -> str:
    """Without splitting into lines: a million short lines would cost a million string objects."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _SPACES.sub(" ", _CONTROL.sub("", text.replace("\t", " ")))
    return _BLANKS.sub("\n\n", _LINE_EDGES.sub("\n", text)).strip()


def unwrapped(text: str, vocabulary: set[str]) -> str:
    """Hard-wrapped paragraphs as one line each; fenced code, lists, tables and headings as they were.

    A line break is joined when the line before it does not end a sentence and the next line does
    not start a block, and either the next line goes on in lower case ("... arrived in Islamabad on
    Monday | for three days of talks", the bar marking the break) or, in a wrapped document, the line
    before is as long as its wrapped lines (a name or figure starts the next line). A word broken
    by a hyphen at the break is whole again where the document writes it whole elsewhere
    (``vocabulary``, its words in lower case: "secu- | rity" reads "security"), and keeps its
    hyphen otherwise ("cross- | border" reads "cross-border").
    """
    width = _wrap_width(text)
    pieces, done = [], 0
    for fence in _FENCED.finditer(text):
        pieces += [_joined_lines(_rejoined_words(text[done:fence.start()], vocabulary), width), fence.group()]
        done = fence.end()
    pieces.append(_joined_lines(_rejoined_words(text[done:], vocabulary), width))
    return "".join(pieces)


def _words(texts: list[str]) -> set[str]:
    return {m.group().lower() for text in texts for m in _WORDS.finditer(text)}


def _rejoined_words(text: str, vocabulary: set[str]) -> str:
    def rejoin(match: re.Match) -> str:
        first, rest = match.groups()
        if not rest[0].islower():
            return match.group()
        return first + rest if (first + rest).lower() in vocabulary else f"{first}-{rest}"

    return _HYPHENATED.sub(rejoin, text)


def _wrap_width(text: str) -> int:
    """The length most long lines stay within: the 90th percentile of line lengths."""
    lengths = Counter(len(m.group()) for m in _LINE.finditer(text))
    total, seen = sum(lengths.values()), 0
    for length in sorted(lengths):
        seen += lengths[length]
        if seen >= 0.9 * total:
            return length
    return 0


def _joined_lines(text: str, width: int) -> str:
    def joins(match: re.Match, wrapped: bool) -> bool:
        at = match.start()
        before = text[text.rfind("\n", 0, at) + 1:at]
        after = text[at + 1:at + 12]
        if _ENDS.search(before) or _BLOCK_START.match(after) or before.startswith(("#", "|")):
            return False
        return after[:1].islower() or (wrapped and len(before) >= _FULL_LINE * width)

    def looks_wrapped() -> bool:
        breaks = sum(1 for _ in _BREAK.finditer(text))
        continued = sum(joins(m, False) for m in _BREAK.finditer(text))
        return continued >= max(2, _WRAPPED_SHARE * breaks)

    wrapped = width <= _WRAP_WIDTH and looks_wrapped()

    def join(match: re.Match) -> str:
        return " " if joins(match, wrapped) else "\n"

    return _BREAK.sub(join, text)


def join_pages(pages: list[str], wrapped: bool = True) -> tuple[str, list[int]]:
    """Clean each page and join them; returns the text and each page's start offset.

    Of a wrapped format's pages (a PDF's), the running headers and footers go (a line at a page's
    top or bottom that recurs, digits aside, on half the pages or more: "Border Report", "Page 3
    of 40"), so a page number is not glued onto the sentence it interrupts; and a sentence that a
    page break cuts ("... arrived in | Islamabad on Monday") is joined across it.
    """
    cleaned = [clean(page) for page in pages]
    if wrapped:
        cleaned = _without_furniture(cleaned)
        vocabulary = _words(cleaned)  # the whole document's: a word broken on one page is whole on another
        cleaned = [unwrapped(page, vocabulary) for page in cleaned]
    parts, starts, offset = [], [], 0
    for page in cleaned:
        if parts:
            parts.append(" " if wrapped and _continues(parts[-1], page) else "\n\n")
            offset += len(parts[-1])
        starts.append(offset)
        parts.append(page)
        offset += len(page)
    return "".join(parts), starts


def _without_furniture(pages: list[str]) -> list[str]:
    """The pages without the lines that recur at their tops and bottoms (two lines deep at most)."""
    if len(pages) < _FURNITURE_PAGES:
        return pages
    lines = [page.split("\n") for page in pages]
    for end in (0, -1):  # the top, then the bottom
        for _ in range(2):  # a header's second line is looked at only when its first went
            keys = Counter(_furniture_key(page[end]) for page in lines if page)
            recurring = {k for k, n in keys.items() if n >= max(_FURNITURE_PAGES, len(pages) / 2)}
            if not recurring:
                break
            lines = [(page[1:] if end == 0 else page[:-1]) if page and _furniture_key(page[end]) in recurring
                     else page for page in lines]
    return ["\n".join(page).strip() for page in lines]


def _furniture_key(line: str) -> str:
    """A header or footer line as it recurs: page numbers and dates vary, so digits are one mark."""
    return re.sub(r"\d+", "#", line.strip().lower())


def _continues(before: str, page: str) -> bool:
    """The page goes on with the sentence the one before ended in: no full stop, a lower-case word next."""
    return bool(before) and page[:1].islower() and not _ENDS.search(before[before.rfind("\n") + 1:])
