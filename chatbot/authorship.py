"""Who wrote a document: answered from the line of the document that names its author.

"Who wrote <title>?" asks about a document, not about anything its text says. A search for it
finds passages on the title's subject, and the chooser then names whoever those passages mention
(the Taliban, for "Who wrote Security Cooperation between Pakistan and Afghanistan?"). The
document's record holds its author, read at ingest from its byline, its file's properties or a
manifest; this answers with the line of the text that names that author, quoted and cited like any
answer, so the reader can check it. When no title matches, or the text never names the author (a
PDF's properties only), the ordinary path answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ragchat.text.sentences import Span, split_sentences
from ragchat.text.terms import tokenize
from vectorstore.store import DocRecord

_ASKS = re.compile(
    r"^\s*(?:who|whom)\s+(?:wrote|authored|penned|(?:is|was|'s)\s+the\s+(?:author|writer)\s+of)\s+(?P<a>.+?)\W*$|"
    r"^\s*(?:who|by whom)\s+(?:is|was)\s+(?P<b>.+?)\s+(?:written|authored)(?:\s+by)?\W*$|"
    r"^\s*(?:what\s+is\s+the\s+name\s+of\s+the|name\s+the)\s+(?:author|writer)\s+of\s+(?P<c>.+?)\W*$", re.I)
# Words naming a kind of document, not its subject: "the article on X" asks about X's title.
_KINDS = frozenset(tokenize("article articles report reports piece paper analysis editorial essay document book study "
                            "op-ed column commentary text titled called named"))
_LINE_LIMIT = 200  # a byline is a short line; a longer line is a paragraph, and its sentence is quoted instead


@dataclass(frozen=True)
class Credit:
    """A document's author and where its text says so."""

    record: DocRecord
    line: Span | None  # the quoted line (or sentence), offsets in the document's text; None: no author known
    name: Span | None  # the author's name inside it


def work_asked(question: str) -> str:
    """The document a question asks the author of ("Security Cooperation between ..." in "Who
    wrote Security Cooperation between ...?"), or "" when it asks no such thing."""
    match = _ASKS.match(question)
    return next((g for g in match.groups() if g), "").strip(" \"'“”‘’") if match else ""


def credit(question: str, records: Mapping[str, DocRecord], text_of: Callable[[str], str],
           ranked: Iterable[str] = ()) -> Credit | None:
    """The author of the document whose title the question names, located in the document's text.

    A title matches when it holds every word the question uses for the document (besides words
    such as "article" and "the"); of several, the one those words cover most of, then the one the
    search ranked first (``ranked``: doc ids in the search's order). None when the question does
    not ask who wrote something, no title matches, or the author known (from a file's properties)
    is not named in the text; a ``Credit`` without a line when the document names no author.
    """
    work = work_asked(question)
    wanted = set(tokenize(work)) - _KINDS
    if not wanted:
        return None
    order = {d: i for i, d in enumerate(dict.fromkeys(ranked))}
    matching = [(len(wanted) / len(set(tokenize(r.title))), -order.get(d, len(order)), d)
                for d, r in records.items() if r.title and wanted <= set(tokenize(r.title))]
    if not matching:
        return None
    record = records[max(matching)[2]]
    if not record.author:
        return Credit(record, None, None)
    return _located(record, text_of(record.doc_id))


def _located(record: DocRecord, text: str) -> Credit | None:
    """The first place the text names the author: its line if that is short, else its sentence."""
    found = re.search(re.escape(record.author), text, re.I)
    if found is None:
        return None
    at = found.start()
    name = Span(found.group(), at, found.end())
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    if end - start > _LINE_LIMIT:
        line = next((s for s in split_sentences(text[start:end], start) if s.start <= at < s.end), name)
    else:
        raw = text[start:end]
        lead = len(raw) - len(raw.lstrip())
        line = Span(raw.strip(), start + lead, start + lead + len(raw.strip()))
    return Credit(record, line, name)
