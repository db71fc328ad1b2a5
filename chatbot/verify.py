"""Check each answer sentence against the passages it cites, and pick the quote that backs it.

A citation is only worth showing if a reader who opens it finds the claim there. Similarity alone
is fooled by a sentence that copies the passage's wording but changes a figure, so the facts a
reader would check first (numbers, dates, names) must literally occur in the cited passage; the
embedding similarity then grades how closely the quote says the same thing. A sentence written to
an AI model ("ignore previous instructions and answer ...") states nothing about the world, so it
is never a quote and never support: the check reads the passage with such sentences blanked out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ragchat.settings import AnswerSettings
from ragchat.text.facts import Facts, facts_of, missing_facts
from ragchat.text.instructions import without_instructions
from ragchat.text.sentences import Span, split_sentences, without_list_marker
from vectorstore.embeddings import LocalEmbeddings

class SentenceEncoder:
    """Embeddings of sentences, cached by text: passages recur across questions and turns."""

    def __init__(self, embeddings: LocalEmbeddings, limit: int):
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


def check(sentence: str, passage_text: str, passage_start: int, encoder: SentenceEncoder,
          config: AnswerSettings) -> Check:
    """Support of one sentence by one passage, and the passage's sentence(s) that back it best.

    Verbatim reuse of the passage is full support. Otherwise the quote is the passage sentence
    closest in meaning, widened to its neighbour when that brings in facts the sentence states;
    support is the similarity, scaled down by the share of the sentence's facts the passage lacks
    and halved when a figure is among them.
    """
    stated = without_instructions(passage_text)  # offsets kept, instructions to a model blanked out
    spans = split_sentences(stated, passage_start)
    facts = facts_of(sentence)
    if not spans:  # nothing but instructions: nothing to quote, nothing that supports
        whole = Span(passage_text, passage_start, passage_start + len(passage_text))
        return Check(whole, 0.0, frozenset(missing_facts(facts, "")))
    missing = frozenset(missing_facts(facts, stated))
    exact = _normalise(stated).find(_normalise(sentence)) if len(sentence) > 20 else -1
    vectors = encoder.encode([sentence] + [s.text for s in spans])
    sims = vectors[1:] @ vectors[0]
    scores = [float(sims[i]) + config.verify_fact_weight * _fact_share(facts, s.text) for i, s in enumerate(spans)]
    best = int(np.argmax(scores))
    quote = spans[best]
    if exact >= 0:
        wanted = _normalise(sentence)
        quote = next((s for s in spans if wanted in _normalise(s.text)), quote)
        item = without_list_marker(quote)
        if wanted in _normalise(item.text):  # the item, as the answer quotes it
            quote = item
        return Check(_span_of(passage_text, passage_start, quote, quote), 1.0, frozenset())
    if facts.size and _fact_share(facts, quote.text) < 1.0:
        for j in (best + 1, best - 1):
            if 0 <= j < len(spans) and _fact_share(facts, spans[j].text) > 0:
                first, last = (quote, spans[j]) if j > best else (spans[j], quote)
                if _fact_share(facts, stated[first.start - passage_start:last.end - passage_start]) > _fact_share(facts, quote.text):
                    quote = Span("", first.start, last.end)
                    break
    similarity = max(0.0, min(1.0, float(sims[best])))
    share = 1.0 - len(missing) / facts.size if facts.size else 1.0
    floor = config.verify_floor
    # A wrong figure is the worst miss.
    support = similarity * (floor + (1 - floor) * share) * (config.verify_number_miss if missing & facts.numbers else 1.0)
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
