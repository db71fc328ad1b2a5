"""A text file's inline Markdown and HTML marks read as its rendered page shows them.

Text saved from the web, and Markdown files, carry their formatting inline: "a surge of almost
**73 percent**", "took over Kabul on 15<sup>th</sup> August 2021", "[the report](https://...)".
Stored as written, the marks are quoted to the reader as if the document said them, the short
answer misses "73 percent" behind its asterisks, and "15th August" is nowhere in the text. Here
they go, as a browser rendering the page would drop them: emphasis, links (their text stays),
images (their alt text stays) and the HTML tags that only style text (``<sup>``, ``<b>``,
``<span ...>``, comments). An unknown tag ("<your-key>") is kept: in a text file it is more likely
a placeholder than markup.

markdown-it-py parses, as CommonMark says (escapes, entities, nesting, a link's brackets and
parentheses), which a hand-written pattern would not. Two of CommonMark's readings are kept out,
since in a plain text file they are rarely meant: underscores mark nothing ("__init__.py" stays),
nor do asterisks inside a word ("2*3*4" stays).

Only paragraphs where a mark can close are parsed; fenced code is left as it is by the caller
(``ingest.cleaning.join_pages``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

# No linkify, no typographer: the text's own characters stay. No code spans: text saved from the
# web writes "Balochistan`s" for "Balochistan's", and two such apostrophes lines apart would make
# a code span of what lies between (and a space of its line breaks).
_PARSER = MarkdownIt("commonmark").disable("backticks")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
# Tags that style the text they hold and show nothing of their own (``br`` breaks the line).
_STYLING = frozenset("a abbr b bdi bdo big cite code del dfn em font i ins kbd mark q s samp small span strike "
                     "strong sub sup time tt u var wbr".split())
_GAPS = re.compile(r" *\n *| {2,}")  # what a dropped tag leaves: "a <span></span> b", "a <br> b"
_PIECE = 2_000
_EMPHASIS = ("em_open", "em_close", "strong_open", "strong_close")


def as_rendered(text: str) -> str:
    """``text`` with its inline marks gone; a piece without marks is kept as it is."""
    return "".join(_rendered(piece) if _may_hold_marks(piece) else piece for piece in _pieces(text))


def _may_hold_marks(piece: str) -> bool:
    """False where no mark can close ("a*", "x < y"): the parser costs far more than this."""
    return (piece.count("*") > 1 or "\\" in piece
            or ("<" in piece and ">" in piece) or ("[" in piece and "]" in piece) or ("&" in piece and ";" in piece))


def _pieces(text: str) -> Iterator[str]:
    """The text's paragraphs, each in pieces of at most ``_PIECE`` characters cut after a line
    break or else a space: no mark spans paragraphs, and the parser's cost grows with the square
    of a piece's marks in the worst case (a hostile line of 100,000 "*a" takes 20 s whole). A
    mark spanning a cut is kept as written."""
    start = 0
    while start < len(text):
        limit = min(start + _PIECE, len(text))
        blank = text.find("\n\n", start, limit)
        if blank >= 0:
            end = blank + 2
        elif limit == len(text):
            end = limit
        else:
            end = (text.rfind("\n", start, limit) + 1) or (text.rfind(" ", start, limit) + 1) or limit
        yield text[start:end]
        start = max(end, start + 1)


def _rendered(piece: str) -> str:
    tokens = _PARSER.parseInline(piece)[0].children or []
    shown = [_shown(token) for token in tokens]
    _restore_unmeant_emphasis(tokens, shown)
    text = unicodedata.normalize("NFKC", "".join(shown))  # as cleaning left the rest: "&nbsp;" is a space
    return _GAPS.sub(lambda gap: "\n" if "\n" in gap.group() else " ", text)


def _shown(token: Token) -> str:
    if token.type in ("text", "image"):  # an image shows its alt text
        return token.content
    if token.type == "html_inline":
        return _shown_tag(token.content)
    if token.type in ("softbreak", "hardbreak"):
        return "\n"
    return ""  # link and emphasis marks; put back by _restore_unmeant_emphasis where not meant


def _shown_tag(tag: str) -> str:
    if tag.startswith("<!--"):
        return ""
    name = _TAG_NAME.match(tag)
    if name is None:  # a processing instruction or declaration, kept
        return tag
    name = name.group(1).lower()
    return "\n" if name == "br" else "" if name in _STYLING else tag


def _restore_unmeant_emphasis(tokens: list[Token], shown: list[str]) -> None:
    """Puts back the marks of emphasis made with underscores or inside a word."""
    opened: list[int] = []
    for i, token in enumerate(tokens):
        if token.type not in _EMPHASIS:
            continue
        if token.nesting == 1:
            opened.append(i)
            continue
        start = opened.pop()
        before = next((shown[j] for j in range(start - 1, -1, -1) if shown[j]), "")[-1:]
        after = next((shown[j] for j in range(i + 1, len(shown)) if shown[j]), "")[:1]
        if token.markup.startswith("_") or before.isalnum() or after.isalnum():
            shown[start], shown[i] = token.markup, token.markup
