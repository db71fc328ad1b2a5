"""What a document says about itself: title, author, publisher, date.

Order of trust: a ``<file>.meta.json`` sidecar, then ``manifest.json`` in the file's folder, then
what the format carries (PDF/DOCX properties, HTML <title>), then lines in the text itself. A field
that a manifest or sidecar lists as null stays empty: that is a statement that the document does
not say, and guessing would put words in its mouth.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ragchat.text.dates import MONTHS, date_in, without_dates

FIELDS = ("title", "author", "publisher", "date")

_AUTHOR = re.compile(r"^\s*(?:author|by)\s*:?\s+(.+?)\s*$", re.IGNORECASE)
_FIELD = re.compile(r"^[A-Z]\w*(?: \w+)?: \S")  # "Date: 3 February 2025", "Ref no: 12"; not "Visiting the port: ..."
_FORMULA = re.compile(r"(?:for (?:immediate )?release|embargoed|(?:table of )?contents\b|dear\b|to whom)", re.IGNORECASE)
# A line that only dates the document: "Updated May 2024", "Published 3 February 2025", "May 2024"
_DATE_LINE = re.compile(rf"(?:\w+\s+){{0,2}}(?:\d{{1,2}}\s+)?(?:{'|'.join(MONTHS)})\.?\s+(?:\d{{1,2}},\s+)?\d{{4}}",
                        re.IGNORECASE)


class MetadataError(Exception):
    """A manifest or sidecar exists but cannot be used; the message names the file."""


def declared(path: Path) -> dict[str, str | None]:
    """Fields declared for ``path`` by its sidecar or its folder's manifest (None = 'not stated')."""
    result: dict[str, str | None] = {}
    manifest = path.parent / "manifest.json"
    if manifest.exists():
        docs = _read_json(manifest)
        docs = docs.get("documents", docs) if isinstance(docs, dict) else {}
        entry = docs.get(path.name)
        if isinstance(entry, dict):
            result.update({k: entry[k] for k in FIELDS if k in entry})
    sidecar = path.with_name(path.name + ".meta.json")
    if sidecar.exists():
        entry = _read_json(sidecar)
        if isinstance(entry, dict):
            result.update({k: entry[k] for k in FIELDS if k in entry})
    return result


def resolve(path: Path, text: str, found: dict[str, str]) -> dict[str, str]:
    """Final metadata: declared fields win, then format properties, then the text's own lines."""
    given = declared(path)
    extracted = {**extract(text), **{k: v for k, v in found.items() if v}}
    return {k: str(given[k] or "") if k in given else extracted.get(k, "") for k in FIELDS}


def extract(text: str) -> dict[str, str]:
    head = [line.strip() for line in text.split("\n", 40)[:40] if line.strip()]
    found: dict[str, str] = {}
    headings = [line.lstrip("#").strip() for line in head if line.startswith("#")]
    if headings:
        found["title"] = headings[0]
    elif head and _title_like(head[0]):
        found["title"] = _under_letterhead(text) or head[0]
    for line in head:
        match = _AUTHOR.match(line)
        if match:
            found["author"] = without_dates(match.group(1)).strip(" ,;-")
            break
    for line in head[:10]:  # a date deep in the text is an event, not the document's date
        date = date_in(line)
        if date:
            found["date"] = date.iso
            break
    return found


def _title_like(line: str) -> bool:
    return len(line) <= 150 and not line.endswith((".", ":"))


def _under_letterhead(text: str) -> str:
    """The headline under a letterhead: a press release or memo opens with capitals and fields
    ("CALDERPORT REGIONAL TRANSIT AUTHORITY", "PRESS RELEASE", "Date: 3 February 2025") and names
    itself in the first line that stands alone below them ("CRTA announces student discount ...").
    "" when the text opens otherwise, or nothing stands alone in its first blocks: a capitalised
    line standing alone is then the title itself ("ANNUAL REPORT 2024")."""
    blocks = [block.strip() for block in re.split(r"\n\s*\n", text[:2000]) if block.strip()][:4]
    opening = [line.strip() for line in blocks[0].splitlines()] if blocks else []
    heads = next((i for i, line in enumerate(opening) if not (_letterhead(line) or _FORMULA.match(line))),
                 len(opening))
    if heads < len(opening):  # "LARKSPUR GENERAL HOSPITAL" over "Getting here, parking and on-site facilities"
        return opening[heads] if heads and _headline(opening[heads]) else ""
    if heads < 2:
        return ""
    return next((b for b in blocks[1:] if "\n" not in b and _headline(b)), "")


def _headline(line: str) -> bool:
    """A line that can be a document's title: three words or more, no full stop or closing comma
    ("Dear colleagues,"), not a byline, a date line or a letter's formula ("For immediate release",
    "Contents")."""
    return _title_like(line) and len(line.split()) >= 3 and not line.endswith(",") and not _letterhead(line) \
        and not _AUTHOR.match(line) and date_in(line) is None and not _DATE_LINE.fullmatch(line) \
        and not _FORMULA.match(line)


def _letterhead(line: str) -> bool:
    """A line in capitals ("PRESS RELEASE - FOR IMMEDIATE RELEASE") or a field ("Date: ...")."""
    line = line.strip()
    letters = [ch for ch in line if ch.isalpha()]
    return bool(letters) and all(ch.isupper() for ch in letters) or bool(_FIELD.match(line))


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetadataError(f"{path}: unreadable metadata ({exc}); fix or remove it") from None
