"""A text file's inline Markdown and HTML marks read as its rendered page shows them.

Text saved from the web, and Markdown files, carry their formatting inline: "a surge of almost
**73 percent**", "took over Kabul on 15<sup>th</sup> August 2021", "[the report](https://...)".
Stored as written, the marks are quoted to the reader as if the document said them, the short
answer misses "73 percent" behind its asterisks, and "15th August" is nowhere in the text. Here
they go, as a browser rendering the page would drop them: emphasis, links (their text stays),
images (their alt text stays) and the HTML tags that only style text (``<sup>``, ``<b>``,
``<span ...>``, comments) when closed on the same line. An unknown tag ("<your-key>") or one
never closed is kept: in a text file it is more likely a placeholder than markup. A code span is
kept as written, as are backslashes before anything but a mark ("C:\\Users").

markdown-it-py parses, as CommonMark says (escapes, entities, nesting, a link's brackets and
parentheses), which a hand-written pattern would not. Two of CommonMark's readings are kept out,
since in a plain text file they are rarely meant: underscores mark nothing ("__init__.py" stays),
nor do asterisks inside a word ("2*3*4" stays).

Only lines where a mark can close are parsed; fenced code is left as it is, and the spaces that
dropped tags leave are tidied, by the caller (``ingest.cleaning.join_pages``).
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

# No linkify, no typographer: the text's own characters stay. A code span is kept as written,
# backticks and all: it only shields what it holds ("`**bold**`"), and text saved from the web
# writes "Balochistan`s" for "Balochistan's", so a span may be no code at all.
_PARSER = MarkdownIt("commonmark")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")
# Tags that style the text they hold and show nothing of their own.
_STYLING = frozenset("a abbr b bdi bdo big cite code del dfn em font i ins kbd mark q s samp small span strike "
                     "strong sub sup time tt u var".split())
_VOID = frozenset({"br", "wbr"})  # tags with no close: a line break is a space in a line that is a paragraph
_MARKED_LINE = re.compile(r"^[^\n]*[*<\[&][^\n]*$", re.MULTILINE)
# A backslash escapes only what could start a mark here; elsewhere it is text ("C:\Users\bob\_archive").
_LITERAL_BACKSLASH = re.compile(r"\\(?![*\[\]<>&!])")
_PIECE = 2_000
_EMPHASIS = ("em_open", "em_close", "strong_open", "strong_close")


def as_rendered(text: str) -> str:
    """``text`` with its inline marks gone, line by line: when this runs, a line is a paragraph, a
    heading, a list item or a table row (wrapped paragraphs are joined first), and no mark spans
    two of them. A line without marks is kept as it is."""
    return _MARKED_LINE.sub(lambda line: _rendered_line(line.group()), text)


def _rendered_line(line: str) -> str:
    if not _may_hold_marks(line):
        return line
    return "".join(map(_rendered, _pieces(line)))


def _may_hold_marks(line: str) -> bool:
    """False where no mark can close ("a*", "x < y"): the parser costs far more than this."""
    return line.count("*") > 1 or ("<" in line and ">" in line) or ("[" in line and "]" in line) \
        or ("&" in line and ";" in line)


def _pieces(line: str) -> list[str]:
    """The line in pieces of at most ``_PIECE`` characters, cut after a space: the parser's cost
    grows with the square of a piece's marks in the worst case (a hostile line of 100,000 "*a"
    takes 20 s whole). A mark spanning a cut is kept as written."""
    pieces, start = [], 0
    while len(line) - start > _PIECE:
        cut = line.rfind(" ", start + 1, start + _PIECE) + 1 or start + _PIECE
        pieces.append(line[start:cut])
        start = cut
    pieces.append(line[start:])
    return pieces


def _rendered(piece: str) -> str:
    tokens = _PARSER.parseInline(_LITERAL_BACKSLASH.sub(r"\\\\", piece))[0].children or []
    tags = [(name, token.content.startswith("</")) for token in tokens if (name := _tag_name(token))]
    opened, closed = {name for name, closing in tags if not closing}, {name for name, closing in tags if closing}
    shown = [_shown(token, opened, closed) for token in tokens]
    _restore_unmeant_emphasis(tokens, shown)
    return "".join(shown)


def _tag_name(token: Token) -> str:
    """The lower-case name of an HTML tag token ("sup" for "</sup>"); "" for anything else."""
    name = _TAG_NAME.match(token.content) if token.type == "html_inline" else None
    return name.group(1).lower() if name else ""


def _shown(token: Token, opened: set[str], closed: set[str]) -> str:
    if token.type == "text":  # a decoded "&#10;" is a space
        return token.content.replace("\n", " ").replace("\r", " ")
    if token.type == "image":  # its alt text, read like any other
        return "".join(_shown(child, opened, closed) for child in token.children or [])
    if token.type == "code_inline":  # as written
        return _as_written(token.markup + token.content + token.markup)
    if token.type == "html_inline":
        return _shown_tag(_as_written(token.content), _tag_name(token), opened, closed)
    if token.type in ("softbreak", "hardbreak"):
        return " "
    return ""  # link and emphasis marks; put back by _restore_unmeant_emphasis where not meant


def _as_written(raw: str) -> str:
    """A token's raw text with the backslashes that were doubled for the parser single again."""
    return raw.replace("\\\\", "\\")


def _shown_tag(tag: str, name: str, opened: set[str], closed: set[str]) -> str:
    """A styling tag goes when it styles something: it is opened and closed in the same line. A
    lone "<code>" or "<b>" in a text file is a placeholder or a tag the text talks about, and
    "if a<b and c>d" is no tag at all; both stay."""
    if tag.startswith("<!--"):
        return ""
    if name in _VOID:
        return " "
    if name not in _STYLING:
        return tag
    return "" if name in (opened if tag.startswith("</") else closed) else tag


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
