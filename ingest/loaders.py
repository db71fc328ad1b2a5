"""Turn a file on disk into plain text, one string per page, or say clearly why it cannot be read.

Every failure is an ``UnreadableFile`` whose message is the one line a user sees next to the file
name, so it should say what is wrong and, where there is one, what to do about it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")


class UnreadableFile(Exception):
    """The file was skipped; the message is the reason shown to the user."""


@dataclass
class LoadedFile:
    pages: list[str]  # one entry for page-less formats
    paged: bool = False  # True when pages are real (PDF), so page numbers are worth keeping
    found: dict[str, str] = field(default_factory=dict)  # metadata the format itself carries


def load(path: Path) -> LoadedFile:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise UnreadableFile(f"unsupported type {suffix or '(no extension)'}; supported: {', '.join(SUPPORTED)}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from None
    if not data.strip():
        raise UnreadableFile("empty file")
    if suffix == ".pdf":
        return _load_pdf(data)
    if suffix == ".docx":
        return _load_docx(data)
    text = _decode(data)
    if suffix in (".html", ".htm"):
        return _load_html(text)
    return LoadedFile(pages=[text])


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise UnreadableFile("binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text (bad byte at offset {exc.start}); re-save the file as UTF-8") from None


def _load_pdf(data: bytes) -> LoadedFile:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise UnreadableFile(f"corrupt PDF ({exc})") from None
    if not any(p.strip() for p in pages):
        raise UnreadableFile("PDF has no extractable text (a scan? run OCR on it first)")
    found = {"title": str(info.get("/Title") or ""), "author": str(info.get("/Author") or "")}
    return LoadedFile(pages=pages, paged=True, found={k: v.strip() for k, v in found.items() if v.strip()})


def _load_docx(data: bytes) -> LoadedFile:
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableFile(f"corrupt .docx ({exc})") from None
    lines = []
    for para in document.paragraphs:
        style = (para.style.name if para.style is not None else "") or ""
        level = re.match(r"Heading (\d)", style)
        prefix = "#" * int(level.group(1)) + " " if level else ("# " if style == "Title" else "")
        lines.append(prefix + para.text if para.text.strip() else "")
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    props = document.core_properties
    found = {"title": props.title or "", "author": props.author or ""}
    return LoadedFile(pages=["\n\n".join(lines)], found={k: v for k, v in found.items() if v})


_BLOCK_TAGS = ("p", "div", "li", "tr", "br", "section", "article", "blockquote", "pre", "td", "th")


def _load_html(text: str) -> LoadedFile:
    """Visible text only; headings become markdown headings so chunking sees the structure."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe"]):
        tag.decompose()
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            tag.replace_with(f"\n\n{'#' * level} {tag.get_text(' ', strip=True)}\n\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n")
    return LoadedFile(pages=[soup.get_text()], found={"title": title} if title else {})
