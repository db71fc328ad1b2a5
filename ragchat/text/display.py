"""Make file names and document text safe to print on a terminal or in a log line.

A file name or a document is data written by someone else. Printed raw, an ANSI escape sequence
in it recolours or retitles the user's terminal, a newline or carriage return lets it print a line
that looks like ours ("skipped FAKE.txt: ..."), and a bidirectional override makes the line read in
another order than it is stored. Such characters are shown as Python-style escapes instead, so the
reader sees exactly which bytes the name holds.
"""

from __future__ import annotations

import unicodedata

# Bidirectional embeddings, overrides and isolates (Unicode category Cf): they reorder what follows.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str, keep_newlines: bool = False) -> str:
    """``text`` with control, line-separator and bidi-override characters written as escapes.

    ``keep_newlines`` keeps ``\\n`` for multi-line output (an answer, a quote), where a line break
    is the writer's own; every other control character is still escaped.
    """
    return "".join(_shown(ch, keep_newlines) for ch in text)


def _shown(ch: str, keep_newlines: bool) -> str:
    if ch == "\n" and keep_newlines:
        return ch
    if ch in _NAMED:
        return _NAMED[ch]
    if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch


def one_line(exc: BaseException, limit: int | None = 200) -> str:
    """An exception's message on one line (parsers and tantivy write several), cut at ``limit``
    characters with an ellipsis; its type's name when it has no message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"

