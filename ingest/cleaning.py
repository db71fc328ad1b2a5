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
from collections.abc import Callable

from ingest.markup import as_rendered
from ingest.tables import Allowance, labelled_tables
from ragchat.text.sentences import stop_ends_sentence, stop_never_ends_sentence

# C0 and C1 controls but NEL (white space; a C1 CSI, \x9b, drives some terminals as ESC [ does),
# zero-width characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\u200b\u200c\u200d\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")
_LINE_EDGES = re.compile(r" ?\n ?")  # after _SPACES, a line's white space at either end is one space
_BLANKS = re.compile(r"\n{3,}")
# A line break between two lines of text; a blank line (a paragraph break) is never joined.
_BREAK = re.compile(r"(?<=[^\n])\n(?=[^\n])")
_LINE = re.compile(r"[^\n]+")
# A line that starts a block of its own: a list item ("- ", "3. ", "b) "), a Markdown heading, quote,
# fence, rule or front matter ("---"), or a link.
_BLOCK_START = re.compile(r"(?:[-*+\u2022\u25aa\u2013]\s|\d{1,3}[.)]\s|[a-z][.)]\s|[#>]|```|~~~|---|https?://)")
# A line that is only a page number: "12", "iv", "Page 3", "3 of 40", "- 7 -".
_PAGE_NUMBER = re.compile(r"(?:page\s+)?(?:\d+|[ivxlcdm]+)(?:\s+of\s+\d+)?|[-\u2013]\s*\d+\s*[-\u2013]", re.IGNORECASE)
# A page's last line that is a footnote: a marker first ("1 ", "*", "†", "¹") or a link last.
_FOOT = re.compile(r"^(?:\d{1,3}\s|[*\u2020\u2021\u00b9\u00b2\u00b3\u2070-\u2079])|https?://\S+$")
_FENCED = re.compile(r"^(?:```|~~~)[^\n]*\n.*?^(?:```|~~~)[^\n]*$", re.MULTILINE | re.DOTALL)
# A word broken at a line's end: "secu- | rity", "cross- | border" (the bar marking the break).
# (Anchored at a word's start: tried at every letter of a long run, it would rescan the run each time.)
_HYPHENATED = re.compile(r"(?<![^\W\d_])([^\W\d_]+)-\n([^\W\d_]+)")
_WORDS = re.compile(r"[^\W\d_]+")
_ENDS = re.compile(r"[.!?:][\"'\u201d\u2019)\]]*$")  # a line ending a sentence or introducing a list
# A wrapped document's lines are about as long as its wrap width; a line this much shorter ended
# its paragraph (a heading, a title, a byline, a paragraph's last line), so what follows starts anew.
_FULL_LINE = 0.7
_WORD_END = re.compile(r"[ \n]|$")
# A document is wrapped when its long lines stay within these bounds (printed lines and text
# wrapped at 70-100 columns; a paragraph per line runs longer, and lines shorter than a narrow
# newspaper column are verse, code, lists or key-value pairs) and a tenth of its breaks fall in
# mid-sentence before a lower-case word. Nothing is joined in any other document.
_MIN_WRAP_WIDTH = 40
_WRAP_WIDTH = 200
_WRAPPED_SHARE = 0.1
_FURNITURE_PAGES = 3  # a header or footer is told by recurring; fewer pages than this cannot show it


def clean(text: str) -> str:
    """Without splitting into lines: a million short lines would cost a million string objects."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _SPACES.sub(" ", _CONTROL.sub("", text.replace("\t", " ")))
    return _BLANKS.sub("\n\n", _LINE_EDGES.sub("\n", text)).strip()


def unwrapped(text: str, vocabulary: set[str], width: int) -> str:
    """Hard-wrapped paragraphs as one line each; fenced code, list items, table rows (lines with a
    "|"), headings and page numbers keep their lines.

    ``width`` is the document's wrap width (``_wrap_width``). A line break is joined when the line
    before is about that long and does not end a sentence, and the next line does not start a block
    ("... arrived in Islamabad on Monday | for three days of talks", the bar marking the break; a
    name or a figure may start the next line). A word broken by a hyphen at the break is whole again
    where the document writes it whole elsewhere (``vocabulary``, its words in lower case: "secu- |
    rity" reads "security"), and keeps its hyphen otherwise ("cross- | border" reads "cross-border").
    """
    return _outside_code(text, lambda piece: _joined_lines(_rejoined_words(piece, vocabulary), width))


def _outside_code(text: str, change: Callable[[str], str]) -> str:
    """``text`` with ``change`` applied to what lies outside its fenced code blocks."""
    pieces, done = [], 0
    for fence in _FENCED.finditer(text):
        pieces += [change(text[done:fence.start()]), fence.group()]
        done = fence.end()
    pieces.append(change(text[done:]))
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


def _wrap_width(pages: list[str]) -> int | None:
    """The length the document's lines are wrapped at (the 90th percentile of line lengths), or None
    when it is not wrapped: lines longer than ``_WRAP_WIDTH`` or shorter than ``_MIN_WRAP_WIDTH``,
    or too few full lines (a tenth of its line breaks, two at least) going on in lower case into the next."""
    lengths = Counter(len(m.group()) for page in pages for m in _LINE.finditer(page))
    total, seen, width = sum(lengths.values()), 0, 0
    for length in sorted(lengths):
        seen += lengths[length]
        if seen >= 0.9 * total:
            width = length
            break
    if not _MIN_WRAP_WIDTH <= width <= _WRAP_WIDTH:
        return None
    breaks = continued = 0
    for page in pages:
        for match in _BREAK.finditer(page):
            breaks += 1
            continued += page[match.end()].islower() and _full(page, match.start(), width) and _may_join(page, match.start())
    return width if continued >= max(2, _WRAPPED_SHARE * breaks) else None


def _full(text: str, at: int, width: int) -> bool:
    """The line ending at ``at`` is about as long as the document's wrapped lines, or the next
    line's first word would not have fitted on it: "says [the annual" is short only because
    "report](https://example.org/...)" is long."""
    length = at - text.rfind("\n", 0, at) - 1
    if length >= _FULL_LINE * width:
        return True
    next_word_end = _WORD_END.search(text, at + 1, at + 2 + width).start()  # "$" matches at the window's end
    return length + next_word_end - at > width


def _may_join(text: str, at: int) -> bool:
    """The line ending at ``at`` may go on into the next (``_goes_on``)."""
    end = text.find("\n", at + 1)
    return _goes_on(text[text.rfind("\n", 0, at) + 1:at], text[at + 1:end if end >= 0 else len(text)])


def _goes_on(before: str, after: str) -> bool:
    """Line ``before`` may go on into line ``after``: no sentence end, no block, no page number."""
    return not (_ends(before, after) or _BLOCK_START.match(after) or before.startswith("#")
                or "|" in before or "|" in after or _PAGE_NUMBER.fullmatch(before) or _PAGE_NUMBER.fullmatch(after))


def _ends(line: str, after: str) -> bool:
    """The line ends a sentence or introduces a list. A title's or an initialism's full stop ends
    neither: a shop "open from 6:30 a.m. to 9:00 p.m. | Monday to Saturday" was cut in two at the
    printed line. Another abbreviation's may ("the answer was no. | The next ..."): it goes on only
    into a lower-case word or a figure."""
    end = _ENDS.search(line)
    if not end or not end.group().startswith(".") or stop_ends_sentence(line):
        return bool(end)
    return not (stop_never_ends_sentence(line) or after[:1].islower() or after[:1].isdigit())


def _joined_lines(text: str, width: int) -> str:
    def join(match: re.Match) -> str:
        return " " if _full(text, match.start(), width) and _may_join(text, match.start()) else "\n"

    return _BREAK.sub(join, text)


def join_pages(pages: list[str], wrapped: bool = True, marked_up: bool = False) -> tuple[str, list[int]]:
    """Clean each page and join them; returns the text and each page's start offset.

    Of a wrapped format's pages (a PDF's), the running headers and footers go (a line at a page's
    top or bottom that recurs, digits aside, on half the pages or more: "Border Report", "Page 3
    of 40"), so a page number is not glued onto the sentence it interrupts; and a sentence that a
    page break cuts ("... arrived in | Islamabad on Monday") is joined across it. Markdown pipe
    tables are written a labelled row per line (``ingest.tables``). Of a ``marked_up`` text (a
    text or Markdown file), the inline Markdown and HTML marks go first (``ingest.markup``); a
    cell's escaped bar is no mark, and stays for the table's reading.
    """
    cleaned = [clean(page) for page in pages]
    width = None
    if wrapped:  # text formats: HTML and DOCX mark their paragraphs, and their loaders label their tables
        cleaned = _without_furniture(cleaned)
        width = _wrap_width(cleaned)  # read over the whole document: a page is too short to tell
        if width is not None:
            vocabulary = _words(cleaned)  # a word broken on one page is whole on another
            cleaned = [unwrapped(page, vocabulary, width) for page in cleaned]
        if marked_up:  # after unwrapping, so a line is a paragraph; before a cell's "; " is rewritten
            cleaned = [_without_marks(page) for page in cleaned]
        allowance = Allowance.for_text(sum(map(len, cleaned)))  # after unwrapping: a labelled row is no wrapped line
        cleaned = [_outside_code(page, lambda piece: labelled_tables(piece, allowance)) for page in cleaned]
    parts, starts, offset = [], [], 0
    for page in cleaned:
        if parts:
            parts.append(" " if width is not None and _continues(parts[-1], page, width) else "\n\n")
            offset += len(parts[-1])
        starts.append(offset)
        parts.append(page)
        offset += len(page)
    return "".join(parts), starts


def _without_marks(page: str) -> str:
    """The page without its inline marks, cleaned again where one went: a dropped tag leaves spaces,
    and an entity may decode to a control character."""
    rendered = _outside_code(page, as_rendered)
    return clean(rendered) if rendered != page else page


def _without_furniture(pages: list[str]) -> list[str]:
    """The pages without their page numbers and the lines that recur at their tops and bottoms (two
    lines deep at most); a page's only line is never taken. Lines are found with ``find``, not split
    out: a 2,000-page PDF of short lines would cost a string per line."""
    if len(pages) < 2:
        return pages
    for top in (True, False):
        pages = [_cut(page, top) if _PAGE_NUMBER.fullmatch(_edge(page, top)) else page for page in pages]
    if len(pages) < _FURNITURE_PAGES:
        return pages
    for top in (True, False):
        for _ in range(2):  # a header's second line is looked at only when its first went
            keys = [_furniture_key(_edge(page, top)) for page in pages]
            counts = Counter(key for key, page in zip(keys, pages) if page)
            recurring = {k for k, n in counts.items() if n >= max(_FURNITURE_PAGES, len(pages) / 2)}
            if not recurring:
                break
            pages = [_cut(page, top) if key in recurring else page for key, page in zip(keys, pages)]
    return pages


def _edge(page: str, top: bool) -> str:
    """A page's first or last line."""
    if not top:
        return page[page.rfind("\n") + 1:]
    end = page.find("\n")
    return page if end < 0 else page[:end]


def _cut(page: str, top: bool) -> str:
    """The page without its first or last line; a page of one line is kept whole."""
    if "\n" not in page:
        return page
    return page[page.find("\n") + 1:].lstrip("\n") if top else page[:page.rfind("\n")].rstrip("\n")


def _furniture_key(line: str) -> str:
    """A header or footer line as it recurs: a page number or year varies, so one figure is one mark;
    a line with more figures (a table row) recurs only as itself."""
    line = line.strip().lower()
    return re.sub(r"\d+", "#", line) if len(re.findall(r"\d+", line)) <= 1 else line


def _continues(before: str, page: str, width: int) -> bool:
    """The page goes on with the sentence the one before ended in: its last line may go on into the
    page's first (the test within a page), and either that line is full length, as a line that
    joins within a page is, or the next page goes on in lower case. A footnote at a page's foot
    ("1 UNHCR situation update, see https://...") is full length too and never goes on."""
    last = _edge(before, False)
    return (bool(before) and _goes_on(last, _edge(page, True)) and not _FOOT.search(last)
            and (page[:1].islower() or _full(before, len(before), width)))
