"""Normalise text once, before anything is chunked, so offsets stay valid for the stored copy.

The cleaned text is what chunk offsets point into and what the UI shows around a quote, so every
later step treats it as the document's one true text.
"""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b\u200c\u200d\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANKS = re.compile(r"\n{3,}")


def clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text.replace("\t", " "))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def join_pages(pages: list[str]) -> tuple[str, list[int]]:
    """Clean each page and join them; returns the text and each page's start offset."""
    parts, starts, offset = [], [], 0
    for page in pages:
        cleaned = clean(page)
        starts.append(offset)
        parts.append(cleaned)
        offset += len(cleaned) + 2
    return "\n\n".join(parts), starts
