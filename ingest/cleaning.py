"""Normalise text once, before anything is chunked, so offsets stay valid for the stored copy.

The cleaned text is what chunk offsets point into and what the UI shows around a quote, so every
later step treats it as the document's one true text.
"""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls but NEL (white space; a C1 CSI, \x9b, drives some terminals as ESC [ does),
# zero-width characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\u200b\u200c\u200d\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")
_LINE_EDGES = re.compile(r" ?\n ?")  # after _SPACES, a line's white space at either end is one space
_BLANKS = re.compile(r"\n{3,}")


def clean(text: str) -> str:
    """Without splitting into lines: a million short lines would cost a million string objects."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _SPACES.sub(" ", _CONTROL.sub("", text.replace("\t", " ")))
    return _BLANKS.sub("\n\n", _LINE_EDGES.sub("\n", text)).strip()


def join_pages(pages: list[str]) -> tuple[str, list[int]]:
    """Clean each page and join them; returns the text and each page's start offset."""
    parts, starts, offset = [], [], 0
    for page in pages:
        cleaned = clean(page)
        starts.append(offset)
        parts.append(cleaned)
        offset += len(cleaned) + 2
    return "\n\n".join(parts), starts
