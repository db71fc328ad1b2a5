"""Turn a file on disk into plain text, one string per page, or say clearly why it cannot be read.

Every failure is an ``UnreadableFile`` whose message is the one line a user sees next to the file
name, so it should say what is wrong and, where there is one, what to do about it.

Files come from anyone, so every format is read as a stream against the limits in ``Settings``
(file size, unpacked size, text length, pages): a file is refused as soon as it passes one, never
after it has been read whole, and no single file can take the memory or the hours of a whole run.
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ingest.tables import Allowance
from ragchat.settings import Settings
from ragchat.text.display import one_line
from ragchat.text.rows import labelled_row

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")

_BLOCK = 1 << 20  # bytes read at a time
_SNIFF = 4096  # bytes looked at for a byte-order mark or NUL bytes
_SAMPLE = 1 << 20  # bytes charset-normalizer guesses a legacy encoding from
_MB = 1_000_000
T = TypeVar("T")


class UnreadableFile(Exception):
    """The file was skipped; the message is the reason shown to the user."""


@dataclass
class LoadedFile:
    pages: list[str]  # one entry for page-less formats
    paged: bool = False  # True when pages are real (PDF), so page numbers are worth keeping
    found: dict[str, str] = field(default_factory=dict)  # metadata the format itself carries
    # Its line breaks may fall inside paragraphs (a PDF's printed lines, text wrapped at 80 columns),
    # so cleaning joins them back; HTML and DOCX mark their paragraphs, and their line breaks stay.
    wrapped: bool = True
    # Its text may carry Markdown's and HTML's inline marks ("**73 percent**", "15<sup>th</sup>"),
    # which cleaning drops as a rendered page does: text and Markdown files.
    marked_up: bool = False


def load(path: Path, settings: Settings) -> LoadedFile:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise UnreadableFile(f"unsupported type {suffix or '(no extension)'}; supported: {', '.join(SUPPORTED)}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from None
    if size > settings.ingest.max_file_mb * _MB:
        raise UnreadableFile(f"file is {size / _MB:,.1f} MB, {_over('max_file_mb', settings)}")
    try:
        if suffix == ".pdf":
            return _load_pdf(path, settings)
        if suffix == ".docx":
            return _load_docx(path, settings)
        if suffix in (".html", ".htm"):
            return _read_text(path, settings, lambda blocks: _load_html(blocks, settings))
        text = _read_text(path, settings, lambda blocks: _joined(blocks, settings))
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from None
    if not text.strip():
        raise UnreadableFile("empty file")
    return LoadedFile(pages=[text], marked_up=True)


def _over(limit: str, settings: Settings) -> str:
    """The end of a skip line: which limit, and the variable that raises it."""
    unit = {"max_file_mb": " MB", "max_unpacked_mb": " MB", "max_pdf_pages": "-page", "max_text_chars": "-character"}[limit]
    return f"over the {settings.get(limit):,}{unit} limit (raise RAGCHAT_{limit.upper()} to read it)"


class _TextBudget:
    """Counts characters as they are produced and stops the read at the text-length limit."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.used = 0
        # what table labels may add beyond the text: a stream's length is not known in advance
        self.labels = Allowance(settings.ingest.max_text_chars)

    def spend(self, text: str) -> str:
        self.charge(len(text))
        return text

    def charge(self, count: int) -> None:
        self.used += count
        if self.used > self.settings.ingest.max_text_chars:
            raise UnreadableFile(f"text is {_over('max_text_chars', self.settings)}")


# -- plain text and HTML: streamed, decoded with the encoding the bytes are in ---------------------

class _BadByte(Exception):
    def __init__(self, offset: int):
        self.offset = offset


def _read_text(path: Path, settings: Settings, consume: Callable[[Iterator[str]], T]) -> T:
    """``consume`` applied to the file's text as decoded blocks: UTF-8 (or what a byte-order mark
    says), else the legacy encoding charset-normalizer finds; only binary content is refused."""
    with path.open("rb") as f:
        head = f.read(_SNIFF)
    if not head:
        raise UnreadableFile("empty file")
    declared = _declared_encoding(head)
    if declared is None and b"\x00" in head:
        raise UnreadableFile("binary content, not text")
    encoding = declared or "utf-8"
    try:
        return consume(_decoded(path, encoding, settings))
    except _BadByte as bad:
        if declared:
            raise UnreadableFile(f"not valid {declared} text (bad byte at offset {bad.offset})") from None
        guess = _guess_encoding(path, bad.offset)
    if guess is None:
        raise UnreadableFile("binary content, not text")
    try:
        return consume(_decoded(path, guess, settings))
    except _BadByte as bad:
        raise UnreadableFile(f"mixes text encodings: neither UTF-8 nor {guess} throughout (byte {bad.offset}); "
                             "re-save it as UTF-8") from None


def _declared_encoding(head: bytes) -> str | None:
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
                      (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return name
    return None


def _decoded(path: Path, encoding: str, settings: Settings) -> Iterator[str]:
    """Decoded blocks of the file; stops at the file-size limit (a file may grow while it is read)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            if offset + len(block) > settings.ingest.max_file_mb * _MB:
                raise UnreadableFile(f"file is {_over('max_file_mb', settings)}")
            try:
                yield decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise _BadByte(offset + exc.start) from None
            offset += len(block)
    try:
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _BadByte(offset + exc.start) from None


def _guess_encoding(path: Path, bad_offset: int) -> str | None:
    """The legacy encoding of the text around the first byte that is not UTF-8, or None for binary.

    charset-normalizer cannot tell the Windows code pages apart on short Western text: "Die
    Grenzübergänge sind für Händler geschlossen." in Latin-1 scores as well or a little better as
    the Baltic cp775 ("Grenz³bergõnge"). Windows-1252 is what a Western Windows editor writes, and
    it reads Latin-1 text the same, so it wins whenever it reads the sample as cleanly (chaos) and
    nearly as coherently (within 0.1) as the best guess: Polish in cp1250, Russian and Greek still go
    to their own code pages; short Czech and Turkish text is misread either way (re-save as UTF-8).
    """
    from charset_normalizer import from_bytes

    with path.open("rb") as f:
        f.seek(max(0, bad_offset - _SNIFF))
        sample = f.read(_SAMPLE)
    matches = list(from_bytes(sample))
    if not matches:
        return None
    best = matches[0]
    western = next(iter(from_bytes(sample, cp_isolation=["cp1252"])), None)
    if western is not None and western.chaos <= best.chaos + 0.01 and western.coherence >= best.coherence - 0.1:
        return "cp1252"
    return best.encoding


def _joined(blocks: Iterable[str], settings: Settings) -> str:
    budget = _TextBudget(settings)
    return "".join(budget.spend(block) for block in blocks)


_BLOCK_TAGS = frozenset(("p", "div", "li", "tr", "br", "section", "article", "blockquote", "pre", "caption", "main",
                         "header", "footer", "aside", "figure", "figcaption"))
_HIDDEN_TAGS = frozenset(("script", "style", "noscript", "template", "head", "svg", "iframe", "nav"))
# A footer belongs to what it sits in: an article's or section's author and date, a quote's
# speaker, a figure's or a cell's source; outside all of them it is the site's ("© 2025 ... Cookie
# settings"), as a navigation bar is, and neither is the page's text.
_SECTIONING = frozenset(("article", "section", "main", "aside", "blockquote", "figure", "td", "th"))
_SITE_ROLES = frozenset(("navigation", "contentinfo"))
# The page's own content, which no menu holds: one of these inside a hidden <nav> (nothing but the
# menu hiding it) means the menu was never closed, and a browser would still show the page, so the
# hiding ends. A logo's <h1> may sit in a menu; a <main> or <article> does not.
_CONTENT_ROOTS = frozenset(("main", "article"))
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_WHITE_SPACE = re.compile(r"\s+")


_MAX_SPAN = 100  # HTML's own limits are 1,000 columns and 65,534 rows; a wider span is markup, not a table


@dataclass(frozen=True)
class _CellRead:
    text: str
    header: bool  # a <th>, or a cell of <thead>
    columns: int = 1  # colspan
    rows: int = 1  # rowspan


@dataclass
class _Table:
    """A table being read: its column headers (its leading rows of ``<th>`` cells), whether a row
    of data came yet, the row being read, the cell being read, and the cells that span down into
    the rows to come (by column: the cell and how many rows it still fills)."""

    header: list[str] | None = None
    data: bool = False
    head: bool = False  # inside <thead>, whose cells head their columns whatever their tag
    row: list[_CellRead] | None = None
    cell: list[str] | None = None
    cell_read: _CellRead = _CellRead("", False)  # the cell being read's tag and spans, its text aside
    below: dict[int, tuple[_CellRead, int]] = field(default_factory=dict)

    def laid_out(self, cells: list[_CellRead]) -> list[_CellRead]:
        """The row's cells by column: a cell spanning columns in each of them, and a cell of a row
        above spanning down into this one in its place."""
        out: list[_CellRead] = []
        queue = iter(cells)
        while True:
            column = len(out)
            if column in self.below:
                cell, left = self.below.pop(column)
                if left > 1:
                    self.below[column] = (cell, left - 1)
                out.append(cell)
                continue
            cell = next(queue, None)
            if cell is None and any(c > column for c in self.below):  # a short row: cells above still fill its end
                out.append(_CellRead("", False))
                continue
            if cell is None:
                return out
            for _ in range(cell.columns):
                if cell.rows > 1:
                    self.below[len(out)] = (cell, cell.rows - 1)
                out.append(cell)


class _VisibleText:
    """lxml parser target collecting what a browser shows: headings become markdown headings so
    chunking sees the structure, block tags start paragraphs, scripts and styles are dropped, and
    line breaks in the markup are spaces as a browser shows them (outside ``<pre>``): a paragraph
    wrapped in the source is one line, not a "sentence" per source line.

    A data table's row is one line, its cells labelled with their column's header (the table's
    leading ``<th>`` rows, merged cells spread over the columns they span), or with the row's own
    ``<th>`` ("Capital: Kabul."), as ``ingest.tables`` writes Markdown's. A table with no header is
    laid out as a page, its cells blocks of their own, as before tables were read.

    A target parser keeps no tree, so memory does not grow with the markup.
    """

    def __init__(self, budget: _TextBudget):
        self.budget = budget
        self.text = io.StringIO()  # one buffer: a list of a million one-letter pieces would outweigh the text
        self.hidden = 0  # depth inside tags whose text is not shown
        self.chrome = False  # only a menu hides it: no script, template or footer besides
        self.heading: tuple[int, list[str]] | None = None
        self.title: list[str] | None = None
        self.in_title = False
        self.preformatted = 0  # depth inside <pre>, whose line breaks are shown
        self.tables: list[_Table] = []  # nested tables, innermost last
        self.sections = 0  # depth inside <article> and <section>

    def start(self, tag: str, attrib) -> None:
        self.preformatted += tag == "pre"
        if tag == "title" and self.title is None:
            self.title, self.in_title = [], True
        if self.hidden and self.chrome and tag in _CONTENT_ROOTS:
            self.hidden, self.chrome = 0, False  # an unclosed menu: the page's content starts here
        roles = set(attrib.get("role", "").lower().split())
        menu = tag == "nav" or "navigation" in roles
        if self.hidden or tag in _HIDDEN_TAGS or roles & _SITE_ROLES or (tag == "footer" and not self.sections):
            if not self.hidden:
                self.chrome = menu  # a menu opened on visible text may be one left unclosed
            elif tag in _HIDDEN_TAGS - {"nav"} or tag == "footer" or "contentinfo" in roles:
                self.chrome = False  # a script, template or footer inside it: not the menu alone hides now
            self.hidden += 1
            return
        self.sections += tag in _SECTIONING
        if self.heading is not None:
            return
        if tag == "table":
            self._write("\n\n")
            self.tables.append(_Table())
        elif self.tables and self._cell() is None and tag == "thead":
            self.tables[-1].head = True
        elif self.tables and self._cell() is None and tag in ("tr", "td", "th"):
            table = self.tables[-1]
            if tag == "tr" or table.row is None:  # a cell outside a row starts one
                self._end_row(table)
                table.row = []
            if tag != "tr":
                table.cell = []
                table.cell_read = _CellRead("", tag == "th" or table.head, _span(attrib, "colspan"), _span(attrib, "rowspan"))
        elif tag in _HEADINGS:
            self.heading = (_HEADINGS[tag], [])
        elif tag in _BLOCK_TAGS or tag in ("td", "th"):  # a cell outside any table is a block
            self._write("\n\n")

    def end(self, tag: str) -> None:
        if tag == "pre" and self.preformatted:
            self.preformatted -= 1
        if tag == "title":
            self.in_title = False
        if self.hidden:
            self.hidden -= 1
            if not self.hidden and (tag in _BLOCK_TAGS or tag == "nav"):  # what follows a hidden menu or footer is a block
                self._write("\n\n")
            return
        self.sections -= tag in _SECTIONING and self.sections > 0
        if self.heading is not None and tag in _HEADINGS and self.heading[0] == _HEADINGS[tag]:
            level, words = self.heading
            self.heading = None
            self._write(f"\n\n{'#' * level} {' '.join(words)}\n\n")
        elif self.heading is not None:
            return
        elif tag in ("td", "th") and self._cell() is not None:
            table = self.tables[-1]
            table.row.append(dataclasses.replace(table.cell_read, text="".join(table.cell).strip()))
            table.cell = None
        elif tag == "thead" and self.tables and self._cell() is None:
            self._end_row(self.tables[-1])
            self.tables[-1].head = False
        elif tag in ("tr", "table") and self.tables and self._cell() is None:
            self._end_row(self.tables[-1])
            if tag == "table":
                table = self.tables.pop()
                if table.header and not table.data:  # a header with no rows under it is a line of its own
                    self._write(" | ".join(table.header) + "\n\n")
        elif tag in _BLOCK_TAGS or (tag in ("td", "th") and not self.tables):  # text after a block is a block of its own
            self._write("\n\n")

    def data(self, text: str) -> None:
        if self.in_title:
            self.title.append(text)
        if self.hidden:
            return
        if self.heading is not None:
            self.heading[1].extend(text.split())
        else:
            self._write(text if self.preformatted else _WHITE_SPACE.sub(" ", text))

    def close(self) -> None:
        return None

    def _cell(self) -> list[str] | None:
        return self.tables[-1].cell if self.tables else None

    def _write(self, text: str) -> None:
        """Spent here, so a cell's text counts once."""
        self._put(self.budget.spend(text))

    def _put(self, text: str) -> None:
        """Into the innermost cell being read (a table nested in a cell is that cell's text), or the page."""
        cell = next((table.cell for table in reversed(self.tables) if table.cell is not None), None)
        if cell is not None:
            cell.append(text)
        else:
            self.text.write(text)

    def _end_row(self, table: _Table) -> None:
        """The row read, if any: a title or note when one cell spans the columns; the header while
        no data came and its cells are all ``<th>`` (or ``<thead>`` cells, an empty corner cell
        aside); else a line labelled by the header or its own ``<th>``, else its cells as blocks."""
        if table.row is None:
            return
        read, table.row = table.row, None
        if len(read) == 1 and read[0].columns > 1 and not table.below:  # a title over the columns, or a note
            text = _flat(read[0].text)
            self._put(f"\n\n{text}\n\n" if text else "")
            return
        cells = table.laid_out(read)
        flat = [_flat(cell.text) for cell in cells]
        if not any(flat):
            return
        headers = any(c.header for c in cells) and all(c.header or not t for c, t in zip(cells, flat))
        if headers and not table.data:
            table.header = flat if table.header is None else _stacked(table.header, flat)
            return
        table.data = True
        plain = " | ".join(t for t in flat if t)
        if table.header and len(flat) == len(table.header):
            line = self.budget.labels.labelled(labelled_row(table.header, flat), plain)
        elif cells[0].header and not headers and not table.header:  # <th>Capital</th><td>Kabul</td>
            line = self.budget.labels.labelled(labelled_row(flat[:1], [", ".join(t for t in flat[1:] if t)]), plain)
        elif table.header:  # a row that does not line up with the header
            line = plain
        else:  # no header: a table used to lay out a page
            self._put("".join(f"\n\n{cell.text}\n\n" for cell in read))
            return
        self.budget.charge(max(0, len(plain) - sum(len(_flat(c.text)) for c in read)))  # cells repeated by their spans
        self._put(f"\n{line}\n")


def _flat(text: str) -> str:
    """A cell's text on one line, without the marks of headings written inside it."""
    return " ".join(_HEADING_MARK.sub(" ", text).split())


_HEADING_MARK = re.compile(r"(?:^|(?<=\n))#+ ")


def _span(attrib, name: str) -> int:
    """A cell's ``colspan`` or ``rowspan``, 1 when absent or not a number."""
    try:
        return min(max(int(attrib.get(name, 1)), 1), _MAX_SPAN)
    except ValueError:
        return 1


def _stacked(header: list[str], row: list[str]) -> list[str]:
    """Two header rows as one ("Lorries" over "2023" and "2024": "Lorries 2023", "Lorries 2024")."""
    if len(row) != len(header):
        return header
    return [f"{top} {below}".strip() if below != top else top for top, below in zip(header, row)]


def _load_html(blocks: Iterable[str], settings: Settings) -> LoadedFile:
    """Visible text only, read with libxml2's HTML parser as a stream of events."""
    from lxml import etree

    target = _VisibleText(_TextBudget(settings))
    parser = etree.HTMLParser(target=target, no_network=True, recover=True)
    try:
        for block in blocks:
            parser.feed(block)
        parser.close()
    except (UnreadableFile, _BadByte):
        raise
    except Exception as exc:  # lxml's errors have many types; any of them means this file only
        raise UnreadableFile(f"unreadable HTML ({one_line(exc)})") from None
    title = " ".join(" ".join(target.title or []).split())
    return LoadedFile(pages=[target.text.getvalue()], found={"title": title} if title else {}, wrapped=False)


# -- PDF -------------------------------------------------------------------------------------------

def _load_pdf(path: Path, settings: Settings) -> LoadedFile:
    from pypdf import PdfReader

    budget = _TextBudget(settings)
    try:
        reader = PdfReader(path)
        count = len(reader.pages)
        if count > settings.ingest.max_pdf_pages:
            raise UnreadableFile(f"PDF has {count:,} pages, {_over('max_pdf_pages', settings)}")
        pages = [budget.spend(page.extract_text() or "") for page in reader.pages]
        info = reader.metadata or {}
        found = {"title": str(info.get("/Title") or ""), "author": str(info.get("/Author") or "")}
    except UnreadableFile:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files; each is this file's problem
        raise UnreadableFile(f"corrupt PDF ({one_line(exc)})") from None
    if not any(p.strip() for p in pages):
        raise UnreadableFile("PDF has no extractable text (a scan? run OCR on it first)")
    return LoadedFile(pages=pages, paged=True, found={k: v.strip() for k, v in found.items() if v.strip()})


# -- DOCX: the zip's declared sizes are checked first, then its XML is read as a stream -------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_DC = "{http://purl.org/dc/elements/1.1/}"
# Elements one paragraph or table row may hold: far above any real one (a run per character of a
# long paragraph is a few thousand), low enough that one hostile paragraph cannot fill memory.
_MAX_PARTS = 100_000


def _load_docx(path: Path, settings: Settings) -> LoadedFile:
    try:
        with zipfile.ZipFile(path) as archive:
            main = _related(archive, "", "officeDocument", settings) or "word/document.xml"
            styles = _related(archive, main, "styles", settings)
            numbering = _related(archive, main, "numbering", settings)
            core = _related(archive, "", "core-properties", settings)
            _check_unpacked(archive, [main, styles, numbering, core], settings)
            names = _style_names(archive, styles, settings)
            lists = _Lists(_number_formats(archive, numbering, settings))
            lines = list(_docx_lines(archive, main, names, lists, _TextBudget(settings)))
            found = {}
            for element in _elements(archive, core, (_DC + "title", _DC + "creator"), settings):
                found["title" if element.tag == _DC + "title" else "author"] = (element.text or "").strip()
    except UnreadableFile:
        raise
    except Exception as exc:  # zipfile, lxml and python-docx raise many types; each is this file's problem
        raise UnreadableFile(f"corrupt .docx ({one_line(exc)})") from None
    return LoadedFile(pages=["\n\n".join(lines)], found={k: v for k, v in found.items() if v}, wrapped=False)


def _check_unpacked(archive: zipfile.ZipFile, parts: list[str | None], settings: Settings) -> None:
    """Refuse before unpacking: Python's zipfile stops each entry at its declared size, so the
    declared sizes bound what reading can cost."""
    names = set(archive.namelist())
    if parts[0] not in names:
        raise UnreadableFile(f"corrupt .docx (no {parts[0]} inside)")
    size = sum(archive.getinfo(part).file_size for part in parts if part in names)
    if size > settings.ingest.max_unpacked_mb * _MB:
        raise UnreadableFile(f"unpacks to {size / _MB:,.1f} MB of document XML, {_over('max_unpacked_mb', settings)}")


def _elements(archive: zipfile.ZipFile, part: str | None, tags: tuple[str, ...], settings: Settings) -> Iterator:
    """Elements of a small XML part (relationships, styles, properties), dropped as they are read."""
    from lxml import etree

    if part is None or part not in archive.namelist():
        return
    _check_unpacked(archive, [part], settings)
    with archive.open(part) as stream:
        for _, element in etree.iterparse(stream, events=("end",), tag=tags, resolve_entities=False, no_network=True):
            yield element
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]


def _related(archive: zipfile.ZipFile, source: str, kind: str, settings: Settings) -> str | None:
    """The part that ``source``'s relationships point to with a type ending in ``kind``."""
    folder, name = posixpath.split(source)
    for rel in _elements(archive, posixpath.join(folder, "_rels", f"{name}.rels"), (_REL,), settings):
        if rel.get("Type", "").endswith("/" + kind) and rel.get("TargetMode") != "External":
            return posixpath.normpath(posixpath.join(folder, rel.get("Target", ""))).lstrip("/")
    return None


def _style_names(archive: zipfile.ZipFile, styles: str | None, settings: Settings) -> dict[str, str]:
    """Style id -> the name Word shows ("Heading1" -> "Heading 1"), as python-docx names styles."""
    from docx.styles import BabelFish

    names = {}
    for style in _elements(archive, styles, (_W + "style",), settings):
        name = style.find(_W + "name")
        if name is not None:
            names[style.get(_W + "styleId", "")] = BabelFish.internal2ui(name.get(_W + "val", ""))
    return names


def _number_formats(archive: zipfile.ZipFile, numbering: str | None, settings: Settings) -> dict[str, dict[int, str]]:
    """numbering.xml's list id -> level -> Word's number format there ("decimal", "bullet",
    "lowerLetter" ...): what the Numbering and Bullets buttons set on a paragraph."""
    levels: dict[str, dict[int, str]] = {}
    lists: dict[str, str] = {}
    for element in _elements(archive, numbering, (_W + "abstractNum", _W + "num"), settings):
        if element.tag == _W + "abstractNum":
            levels[element.get(_W + "abstractNumId", "")] = {
                int(level.get(_W + "ilvl", "0")): level.find(_W + "numFmt").get(_W + "val", "")
                for level in element.findall(_W + "lvl")
                if level.find(_W + "numFmt") is not None and level.get(_W + "ilvl", "0").isdigit()}
        elif (ref := element.find(_W + "abstractNumId")) is not None:
            lists[element.get(_W + "numId", "")] = ref.get(_W + "val", "")
    return {number: levels.get(abstract, {}) for number, abstract in lists.items()}


def _docx_lines(archive: zipfile.ZipFile, main: str, styles: dict[str, str], lists: "_Lists",
                budget: _TextBudget) -> Iterator[str]:
    """Body paragraphs and table rows in document order, each read with python-docx's own classes
    and dropped once read, so memory holds one paragraph or row, never the document.

    A table's first row is its header when it says so (Word's "repeat as header row", or bold
    throughout) or the table has three columns or more: each later row's cells are labelled with it
    (``ragchat.text.rows``), a merged cell spread over the columns it spans. A two-column table
    without one is read as pairs ("Born: 5 October 1952."): it is a fact sheet as often as not, and
    its first row a fact, not a header."""
    from docx.oxml.parser import element_class_lookup
    from docx.table import _Cell
    from docx.text.paragraph import Paragraph
    from lxml import etree

    with archive.open(main) as stream:
        events = etree.iterparse(stream, events=("start", "end"), resolve_entities=False, no_network=True)
        events.set_element_class_lookup(element_class_lookup)
        reading, parts = None, 0
        header: list[str] | None = None  # the body table being read's header; None before its first row
        rows = 0
        for event, element in events:
            if event == "start":
                if reading is None and _is_block(element):
                    reading = element
                elif reading is None and element.tag == _W + "tbl" and _in_body(element):
                    header, rows = None, 0
                continue
            if element is reading:
                if element.tag == _W + "p":
                    text = Paragraph(element, None).text
                    style = styles.get(element.style or "", "")
                    heading = _heading_prefix(style)
                    if heading:
                        lists.heading()
                    prefix = heading or lists.prefix(element, style)
                    yield budget.spend(prefix + text if text.strip() else "")
                else:
                    cells = [_Cell(tc, None).text for tc in element.tc_lst for _ in range(max(1, tc.grid_span))]
                    if len(element.tc_lst) == 1 and len(cells) > 1:  # a title or note across the columns
                        yield budget.spend(cells[0].strip())
                    elif header is None and _is_header_row(element, cells):
                        header = cells
                    else:
                        header = header or []
                        budget.charge(sum(map(len, cells)))
                        line = _docx_row(header, cells, budget.labels)
                        if line:
                            yield line
                            rows += 1
                reading, parts = None, 0
            elif reading is not None:
                parts += 1
                if parts > _MAX_PARTS:
                    raise UnreadableFile(f"corrupt .docx (a paragraph or table row of over {_MAX_PARTS:,} parts)")
                continue
            if element.tag == _W + "tbl" and _in_body(element):
                if header and not rows:  # a header with no rows under it is a line of its own
                    yield budget.spend(" | ".join(header))
                header, rows = None, 0
            element.clear()  # read or never needed (sections, content controls): drop it and what came before
            while element.getprevious() is not None:
                del element.getparent()[0]


def _in_body(element) -> bool:
    parent = element.getparent()
    return parent is not None and parent.tag == _W + "body"


def _is_header_row(row, cells: list[str]) -> bool:
    """A table's first row says it is its header, or the table is too wide to be a list of pairs."""
    if len(cells) >= 3 or row.find(f"{_W}trPr/{_W}tblHeader") is not None:
        return True
    runs = [r for r in row.iter(_W + "r") if "".join(t.text or "" for t in r.iter(_W + "t")).strip()]
    return bool(runs) and all(_bold(r) for r in runs)


def _bold(run) -> bool:
    flag = run.find(f"{_W}rPr/{_W}b")
    return flag is not None and flag.get(_W + "val", "true") not in ("0", "false")


def _docx_row(header: list[str], cells: list[str], labels: Allowance) -> str:
    """A row labelled by its table's header; a pair or a single cell without one; a line of cells
    when it does not line up with the header, or the labels' ``Allowance`` is spent."""
    plain = " | ".join(c.strip() for c in cells if c.strip())
    if header and len(cells) == len(header):
        return labels.labelled(labelled_row(header, cells), plain)
    if not header and len(cells) == 2:
        return labels.labelled(labelled_row(cells[:1], cells[1:]), plain) if cells[0].strip() else cells[1].strip()
    return plain


def _is_block(element) -> bool:
    """A paragraph of the body or a row of a body table: what python-docx's body content yields."""
    if element.tag == _W + "p":
        return _in_body(element)
    parent = element.getparent()
    return element.tag == _W + "tr" and parent is not None and parent.tag == _W + "tbl" and _in_body(parent)


_LIST_NUMBER = re.compile(r"List Number(?: (\d))?$")


@dataclass
class _Lists:
    """A list item written as Word shows it: "3. " for the third item of a numbered list, "• " for a
    bulleted one. Stored as a bare line, an item was no item: "the third recommendation" had no
    number to find, and an item without a full stop was never quoted.

    A list is numbered by its style ("List Number", "List Number 2") or by the Numbering button,
    which points the paragraph at a list of numbering.xml (``formats``: list id -> level -> Word's
    format). Counts go on past paragraphs between items, as Word's do, and an item of a higher level
    starts the levels below it again; a heading starts a style's lists again. Letters and Roman
    numerals are written as bullets."""

    formats: dict[str, dict[int, str]]
    counts: dict[str, dict[int, int]] = field(default_factory=dict)  # list id ("" for a style's) -> level -> items

    def heading(self) -> None:
        self.counts.pop("", None)

    def prefix(self, paragraph, style: str) -> str:
        by_style = _LIST_NUMBER.match(style)
        if by_style:
            return self._next("", int(by_style.group(1) or 1))
        number = paragraph.find(f"{_W}pPr/{_W}numPr/{_W}numId")
        numbered = number is not None and number.get(_W + "val") not in (None, "0")
        if numbered:
            level = paragraph.find(f"{_W}pPr/{_W}numPr/{_W}ilvl")
            depth = int(level.get(_W + "val", "0")) if level is not None and level.get(_W + "val", "").isdigit() else 0
            if self.formats.get(number.get(_W + "val"), {}).get(depth, "").startswith("decimal"):
                return self._next(number.get(_W + "val"), depth)
        return "• " if numbered or style.startswith("List Bullet") else ""

    def _next(self, list_id: str, depth: int) -> str:
        levels = self.counts.setdefault(list_id, {})
        levels[depth] = levels.get(depth, 0) + 1
        for deeper in [d for d in levels if d > depth]:  # a list has a few levels, not thousands
            del levels[deeper]
        return f"{levels[depth]}. "


def _heading_prefix(style: str) -> str:
    level = re.match(r"Heading (\d)", style)
    return "#" * int(level.group(1)) + " " if level else ("# " if style == "Title" else "")
