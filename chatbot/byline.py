"""Who wrote a document, who published it and when: answered from what the document says of itself.

"Who wrote <title>?" asks about a document, not about anything its text says. A search for it
finds passages on the title's subject, and the chooser then names whoever those passages mention
(the Taliban, for "Who wrote Security Cooperation between Pakistan and Afghanistan?"). The
document's record holds its author, publisher and date, read at ingest from its byline, its
file's properties or a manifest (``ingest.metadata``). This answers with the line of the text
that states the asked one, quoted and cited like any answer, so the reader can check it; with the
record's value, said to come from the metadata and citing nothing, when the text never states
it. A document whose record names none, or words that match no title, take the ordinary path: in
an encyclopedia the title names the subject, and "Who wrote To Kill a Mockingbird?" is answered
by the article's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ragchat.text.dates import date_in
from ragchat.text.sentences import Span, split_sentences
from ragchat.text.terms import tokenize
from vectorstore.store import DocRecord

_W = r"(?P<work>.+?)"
# "Can you tell me who wrote X?" asks what "Who wrote X?" asks
_POLITE = r"(?:(?:can|could|would)\s+you\s+(?:please\s+)?tell\s+me\s+|do\s+you\s+know\s+|(?:please\s+)?tell\s+me\s+)?"
_ASKS: dict[str, list[re.Pattern]] = {field: [re.compile(rf"^\s*{_POLITE}{p}\W*$", re.I) for p in patterns]
                                      for field, patterns in {
    "author": [rf"(?:who|whom)(?:\s+(?:wrote|authored|penned)|(?:\s+(?:is|was)|'s|’s)\s+the\s+(?:author|writer)\s+of)\s+{_W}",
               rf"(?:who|by\s+whom)\s+(?:is|was)\s+{_W}\s+(?:written|authored)(?:\s+by)?",
               rf"(?:what\s+is\s+the\s+name\s+of\s+the|name\s+the)\s+(?:author|writer)\s+of\s+{_W}"],
    "publisher": [rf"(?:who|which\s+\w+|what\s+\w+)\s+published\s+{_W}",
                  rf"(?:who|what|which\s+\w+)\s+(?:is|was)\s+the\s+publisher\s+of\s+{_W}",
                  rf"where\s+(?:is|was)\s+{_W}\s+published"],
    "date": [rf"(?:when|on\s+what\s+date|in\s+what\s+year)\s+(?:is|was)\s+{_W}\s+(?:published|written|posted|issued|dated)",
             rf"(?:what\s+is|what's)\s+the\s+(?:publication\s+)?date\s+of\s+{_W}"],
}.items()}
# Words naming a kind of document, not its subject: "the article on X" asks about X's title, and
# when no title holds X, about the document the search ranks first for the question.
_KIND_WORDS = "article report piece paper analysis editorial essay document study op-ed column commentary".split()
_KINDS = frozenset(tokenize(" ".join(_KIND_WORDS) + " articles reports text titled called named"))
_DESCRIBED = re.compile(rf"^(?:the|this|that|an?)\s+(?:[\w-]+\s+){{0,4}}?(?:{'|'.join(_KIND_WORDS)})s?\b", re.I)
# "Who wrote it?" after a question about a document: the document the conversation's last answer cited
_REFERENCE = re.compile(rf"^(?:it|this|that|(?:the|this|that)\s+(?:{'|'.join(_KIND_WORDS)}))$", re.I)
_TOPIC = re.compile(r"^(?:about|on|regarding|concerning)\s", re.I)  # "who wrote about X": the documents about X
_TOPIC_DOCUMENTS = 3  # a topic is in several documents; the answer names the few the search ranks first
_LINE_LIMIT = 200  # a byline is a short line; a longer line is a paragraph, and its sentence is quoted instead
# "Who wrote X, and when was it published?": each part asks its own field, "it" being the first part's document
_PARTS = re.compile(r",?\s+and\s+(?=(?:who|whom|when|where|what|which|by\s+whom|on\s+what|in\s+what)\b)", re.I)


@dataclass(frozen=True)
class Asked:
    field: str  # "author", "publisher" or "date" (a DocRecord field)
    work: str  # the question's words for the document


@dataclass(frozen=True)
class Byline:
    """What a document's record says of the asked field, and where its text says so."""

    record: DocRecord
    field: str
    value: str  # the record's value; "" when it names none
    line: Span | None  # the quoted line (or sentence), offsets in the document's text; None: the text never states it
    mention: Span | None  # the value as the line writes it


def asked(question: str) -> Asked | None:
    """What the question asks of a document ("author" of "Security Cooperation between ..."), if anything."""
    for field, patterns in _ASKS.items():
        match = next((m for m in (p.match(question) for p in patterns) if m), None)
        if match:
            return Asked(field, match.group("work").strip(" \"'“”‘’"))
    return None


def bylines(question: str, records: Mapping[str, DocRecord], text_of: Callable[[str], str],
            ranked: Iterable[str] = (), previous: Sequence[str] = ()) -> list[Byline] | None:
    """The asked field of the documents the question names, each located in its text; None when
    the question asks no such thing of a document, so the ordinary path answers it.

    Only documents whose record holds the field answer: a title is often the name of what a text
    is about ("To Kill a Mockingbird"), and then the text itself says who wrote it.

    A title matches when it holds every word the question uses for the document (besides words
    such as "article" and "the"; "Pak" finds "Pakistan"); of several, the one those words cover
    most of, then the one the search ranked first (``ranked``: doc ids in the search's order). A
    topic ("who wrote about terrorism?") is in the first few documents the search ranks, whatever
    their titles; with no title matching, a document described ("the editorial on the delegation's
    visit") is the one the search ranks first; other words ("who wrote to parliament?") ask about
    the text, not a document. In a conversation, "it" or "the article" is the document the last
    answer cited first (``previous``: doc ids). Each part of "Who wrote X, and when was it
    published?" is answered so, its "it" being the first part's document.
    """
    parts = _PARTS.split(question)
    asks = [a for a in map(asked, parts) if a is not None]
    if not asks or len(asks) < len(parts):  # a part asks about the text, not a document: the ordinary path answers
        return None
    order = list(dict.fromkeys(d for d in ranked if d in records))
    found: list[Byline] = []
    for ask in asks:
        if found and _REFERENCE.match(ask.work):  # "... and when was it published?": the first part's document
            ask = Asked(ask.field, asks[0].work)
        one = _bylines_of(ask, records, text_of, order, previous)
        if one is None:
            return None
        found += one
    return found


def _bylines_of(ask: Asked, records: Mapping[str, DocRecord], text_of: Callable[[str], str],
                order: Sequence[str], previous: Sequence[str]) -> list[Byline] | None:
    """One part's documents: ``order`` is the search's ranking of ``records``' ids."""
    if _REFERENCE.match(ask.work):  # outside a conversation "it" refers to nothing
        # "it" is a document, never a subject an encyclopedia names in a title: one naming no
        # author is answered "the documents don't say"
        return [_byline(records[d], ask.field, text_of(d)) for d in previous if d in records][:1] or None
    wanted = set(tokenize(ask.work)) - _KINDS
    if not wanted:
        return None
    if _TOPIC.match(ask.work):
        return _stated(records, ask.field, order[:_TOPIC_DOCUMENTS], text_of)
    place = {d: i for i, d in enumerate(order)}
    matching = [(len(wanted) / len(set(tokenize(r.title))), -place.get(d, len(order)), d)
                for d, r in records.items() if r.title and _covers(set(tokenize(r.title)), wanted)]
    if matching:
        return _stated(records, ask.field, [max(matching)[2]], text_of)
    return _stated(records, ask.field, order[:1], text_of) if _DESCRIBED.match(ask.work) else None


def _stated(records: Mapping[str, DocRecord], field: str, chosen: Sequence[str],
            text_of: Callable[[str], str]) -> list[Byline] | None:
    """The chosen documents whose record holds the field; None (the ordinary path) when none does."""
    found = [_byline(records[d], field, text_of(d)) for d in chosen if getattr(records[d], field)]
    return found or None


def _covers(title: set[str], wanted: set[str]) -> bool:
    """Every wanted word is a title word or the start of one, or one starts it ("Pak", "Pakistan")."""
    return all(w in title or any(len(min(w, t, key=len)) >= 3 and (t.startswith(w) or w.startswith(t)) for t in title)
               for w in wanted)


def _byline(record: DocRecord, field: str, text: str) -> Byline:
    value = getattr(record, field)
    mention = _mention(field, value, text) if value else None
    return Byline(record, field, value, _line(text, mention) if mention else None, mention)


def _mention(field: str, value: str, text: str) -> Span | None:
    """Where the text first states the value: the name, or a date written in any form that means it."""
    if field != "date":
        found = re.search(re.escape(value), text, re.I)
        return Span(found.group(), *found.span()) if found else None
    at = 0
    for line in text.splitlines(keepends=True):
        date = date_in(line)
        if date is not None and date.iso == value:
            return Span(line[date.start:date.end], at + date.start, at + date.end)
        at += len(line)
    return None


def _line(text: str, mention: Span) -> Span:
    """The line holding the mention if it is short, else its sentence."""
    start = text.rfind("\n", 0, mention.start) + 1
    end = text.find("\n", mention.start)
    end = len(text) if end < 0 else end
    if end - start > _LINE_LIMIT:
        return next((s for s in split_sentences(text[start:end], start) if s.start <= mention.start < s.end), mention)
    raw = text[start:end]
    lead = len(raw) - len(raw.lstrip())
    return Span(raw.strip(), start + lead, start + lead + len(raw.strip()))
