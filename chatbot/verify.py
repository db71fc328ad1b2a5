"""Check each answer sentence against the passages it cites, and pick the quote that backs it.

A citation is only worth showing if a reader who opens it finds the claim there. Similarity alone
is fooled by a sentence that copies the passage's wording but changes a figure, so the facts a
reader would check first (numbers, dates, names) must literally occur in the cited passage; the
embedding similarity then grades how closely the quote says the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ingest.sentences import Span, split_sentences
from vectorstore.bm25 import STOPWORDS, tokenize
from vectorstore.embeddings import LocalEmbeddings

_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                      "ninety": "90", "hundred": "100", "dozen": "12"})
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_MONTHS = frozenset("january february march april may june july august september october november december".split())
# Capitalised words that start sentences or are too common in this kind of text to identify anything.
_NOT_NAMES = STOPWORDS | _MONTHS | frozenset(
    "according however moreover although while since after before during yes no it this these those there their "
    "both also meanwhile furthermore despite thus hence".split())


@dataclass(frozen=True)
class Facts:
    """What a reader would check a sentence for: its numbers and its names (lower case)."""

    numbers: frozenset[str]
    names: frozenset[str]

    @property
    def size(self) -> int:
        return len(self.numbers) + len(self.names)


def numbers_in(text: str) -> frozenset[str]:
    """Numbers as canonical strings, so "seven", "7" and "4,000" vs "4000" compare equal.

    A footnote number glued to a word ("stalemate1") is not a number of the text and is skipped.
    """
    found = {m.group().replace(",", "") for m in _NUMBER.finditer(text)}
    found.update(_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS)
    return frozenset(n[:-2] if n.endswith(".0") else n for n in found)


def names_in(text: str) -> frozenset[str]:
    """Capitalised words other than a sentence's first word: people, places, groups, acronyms.

    Hyphenated compounds count by their parts ("Pakistan-Afghanistan" names two countries).
    """
    words = list(_WORD.finditer(text.replace("-", " ")))
    names = set()
    for i, m in enumerate(words):
        word = m.group().strip("'’-")
        if not word[:1].isupper() or word.lower() in _NOT_NAMES or len(word) < 2:
            continue
        if i == 0 and not word.isupper():
            continue
        names.add(word.lower().removesuffix("'s").removesuffix("’s"))
    return frozenset(names)


def facts_of(text: str) -> Facts:
    return Facts(numbers_in(text), names_in(text))


def missing_facts(facts: Facts, evidence: str) -> set[str]:
    """Facts of a sentence that the evidence does not contain (names matched as words, loosely)."""
    numbers = numbers_in(evidence)
    lower = evidence.lower()
    missing = {n for n in facts.numbers if n not in numbers}
    missing.update(n for n in facts.names if _name_stem(n) not in lower)
    return missing


def _name_stem(name: str) -> str:
    """Enough of a name to match its other forms: "Pakistani" finds "Pakistan", "Iranian" "Iran"."""
    return name[:max(min(5, len(name)), len(name) - 3)]


class SentenceEncoder:
    """Embeddings of sentences, cached by text: passages recur across questions and turns."""

    def __init__(self, embeddings: LocalEmbeddings, limit: int = 20_000):
        self.embeddings = embeddings
        self.limit = limit
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            if len(self.cache) + len(todo) > self.limit:
                self.cache.clear()
            for text, vector in zip(todo, self.embeddings.encode(todo)):
                self.cache[text] = np.asarray(vector, dtype=np.float32)
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self.cache[t] for t in texts])


@dataclass(frozen=True)
class Check:
    """The verdict on one (answer sentence, cited passage) pair."""

    quote: Span  # offsets in the cleaned document
    support: float
    missing: frozenset[str]  # numbers and names of the sentence absent from the passage


def check(sentence: str, passage_text: str, passage_start: int, encoder: SentenceEncoder) -> Check:
    """Support of one sentence by one passage, and the passage's sentence(s) that back it best.

    Verbatim reuse of the passage is full support. Otherwise the quote is the passage sentence
    closest in meaning, widened to its neighbour when that brings in facts the sentence states;
    support is the similarity, scaled down by the share of the sentence's facts the passage lacks
    and halved when a figure is among them.
    """
    spans = split_sentences(passage_text, passage_start) or [Span(passage_text, passage_start, passage_start + len(passage_text))]
    facts = facts_of(sentence)
    missing = frozenset(missing_facts(facts, passage_text))
    exact = _normalise(passage_text).find(_normalise(sentence)) if len(sentence) > 20 else -1
    vectors = encoder.encode([sentence] + [s.text for s in spans])
    sims = vectors[1:] @ vectors[0]
    scores = [float(sims[i]) + 0.3 * _fact_share(facts, s.text) for i, s in enumerate(spans)]
    best = int(np.argmax(scores))
    quote = spans[best]
    if exact >= 0:
        quote = next((s for s in spans if _normalise(sentence) in _normalise(s.text)), quote)
        return Check(_span_of(passage_text, passage_start, quote, quote), 1.0, frozenset())
    if facts.size and _fact_share(facts, quote.text) < 1.0:
        for j in (best + 1, best - 1):
            if 0 <= j < len(spans) and _fact_share(facts, spans[j].text) > 0:
                first, last = (quote, spans[j]) if j > best else (spans[j], quote)
                if _fact_share(facts, passage_text[first.start - passage_start:last.end - passage_start]) > _fact_share(facts, quote.text):
                    quote = Span("", first.start, last.end)
                    break
    similarity = max(0.0, min(1.0, float(sims[best])))
    share = 1.0 - len(missing) / facts.size if facts.size else 1.0
    support = similarity * (0.4 + 0.6 * share) * (0.5 if missing & facts.numbers else 1.0)  # a wrong figure is the worst miss
    return Check(_span_of(passage_text, passage_start, quote, quote), round(support, 3), missing)


def _span_of(passage_text: str, passage_start: int, first: Span, last: Span) -> Span:
    start, end = first.start, last.end
    return Span(passage_text[start - passage_start:end - passage_start], start, end)


def _fact_share(facts: Facts, text: str) -> float:
    if not facts.size:
        return 0.0
    return 1.0 - len(missing_facts(facts, text)) / facts.size


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'").replace("“", '"').replace("”", '"')).strip().rstrip(".").lower()


def lexical_overlap(query: str, text: str) -> float:
    """Share of the query's content words that the text contains (stemmed like BM25)."""
    wanted = set(tokenize(query))
    return len(wanted & set(tokenize(text))) / len(wanted) if wanted else 0.0
