"""The offline answer: the retrieved passages' own sentences that best answer the question.

Every sentence is quoted verbatim, so nothing can be misquoted; the work is in choosing. A
sentence scores by meaning (embedding similarity to the question), by sharing the question's
words and figures, and by containing the kind of thing asked for (a number for "how many", a date
for "when"). The best one leads; more follow only while they add something the question asks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chatbot.citations import Span, split_sentences
from chatbot.verify import Facts, SentenceEncoder, facts_of, lexical_overlap, missing_facts, names_in, numbers_in
from vectorstore.bm25 import tokenize

_BROAD = re.compile(r"^(why|how (could|can|should|do|does|did|has|have|is|are|would)|what (are|were) the (main|key|major)|"
                    r"what role|what (has|have) .* said|describe|explain|discuss|summari[sz]e|what .* (drivers|causes|reasons|factors|options))\b|"
                    r"\band how do they differ\b|\bwhat attacks\b", re.I)
_QUANTITY = re.compile(r"^(how (many|much|long|often|far)|what (share|percentage|proportion|number|fraction)|by (how much|what percentage|roughly what))\b|"
                       r"\b(how many|how much|what percentage|what share|by how much)\b", re.I)
_WHEN = re.compile(r"^(when|on what date|in what year|since when)\b|\bsince when\b|\bwhat date\b", re.I)
_WHO = re.compile(r"^(who|whom|which|what is the name|name)\b", re.I)
_REFERENCE = re.compile(r"^\s*\d{1,3}\.\s|https?://|www\.|pic\.twitter|\(@\w+\)|^—|\((?:19|20)\d\d\)\s*:?\s")
_PERCENT_ASKED = re.compile(r"\b(percent|percentage|share|proportion|fraction|by how much|rate)\b", re.I)
_PERCENT = re.compile(r"\d\s*(%|percent)", re.I)
_COUNTED = re.compile(r"\bhow many ((?:[\w-]+ ){0,3}?[\w-]+?)(?= (?:did|do|does|were|was|are|is|have|has|had|will|would|could|in|of|on|at|from|per|across)\b|\?|$)", re.I)
_MULTI_PART = re.compile(r"\band (how|what|which|who|when|where|why)\b|\b(each|both)\b|:", re.I)
_DATE = re.compile(r"\b(1[89]\d\d|20\d\d)\b|\b(january|february|march|april|may|june|july|august|september|october|"
                   r"november|december)\b", re.I)


_MONTH = re.compile(r"\b(january|february|march|april|may|june|july|august|september|october|november|december)\b", re.I)


@dataclass(frozen=True)
class Candidate:
    span: Span  # offsets in the cleaned document
    passage: int  # index into the retrieval's passages
    score: float
    vector: np.ndarray


@dataclass(frozen=True)
class Composition:
    picks: list[Candidate]
    evidence: float  # score of the leading sentence: how squarely the passages answer
    similarity: float  # best cosine similarity of any passage sentence to the question (or its rewrite)


def is_broad(question: str) -> bool:
    return bool(_BROAD.search(question.strip())) or question.count("?") > 1


def compose(question: str, query: str, passages: Sequence, encoder: SentenceEncoder) -> Composition:
    """Pick the answer sentences: 1-3 for a factual question, up to 5 for a broad one."""
    candidates, similarity = _candidates(question, query, passages, encoder)
    if not candidates:
        return Composition([], 0.0, 0.0)
    ranked = sorted(candidates, key=lambda c: -c.score)
    lead = ranked[0]
    broad = is_broad(question)
    multi = bool(_MULTI_PART.search(question))
    limit, margin = (5, 0.35) if broad else (3, 0.45) if multi else (3, 0.2)
    wanted = _question_terms(question + " " + query)
    picks = [lead]
    covered = _terms(lead.span.text) & wanted
    for cand in ranked[1:]:
        if len(picks) >= limit or cand.score < lead.score - margin:
            break
        if max(float(cand.vector @ p.vector) for p in picks) > 0.8:
            continue  # says what a picked sentence already says
        adds = (_terms(cand.span.text) & wanted) - covered
        if broad or adds:
            picks.append(cand)
            covered |= _terms(cand.span.text) & wanted
    return Composition(picks, lead.score, similarity)


def _candidates(question: str, query: str, passages: Sequence, encoder: SentenceEncoder) -> tuple[list[Candidate], float]:
    spans: list[tuple[int, Span]] = []
    for i, passage in enumerate(passages):
        spans.extend((i, s) for s in split_sentences(passage.text, passage.start) if _usable(s.text))
    if not spans:
        return [], 0.0
    texts = [s.text for _, s in spans]
    vectors = encoder.encode([question, query] + texts)
    q_vec, query_vec, s_vecs = vectors[0], vectors[1], vectors[2:]
    # A follow-up's own words say what is new; the rewritten query only supplies the context.
    sims = np.maximum(s_vecs @ q_vec, 0.9 * (s_vecs @ query_vec))
    counted = _counted_nouns(question)
    top_passage = max(p.score for p in passages) or 1.0
    q_numbers = numbers_in(question + " " + query)
    q_names = names_in(question + " " + query)
    q_months = _months(question)
    # A sentence from a passage about the names the question asks about is more likely the answer.
    name_share = [1.0 - len(missing_facts(Facts(frozenset(), q_names), p.text)) / len(q_names) if q_names else 1.0
                  for p in passages]
    result = []
    for (i, span), sim, vector in zip(spans, sims, s_vecs):
        text = span.text
        score = (float(sim) + 0.35 * lexical_overlap(question, text) + 0.15 * lexical_overlap(query, text)
                 + 0.1 * passages[i].score / top_passage + 0.2 * name_share[i])
        numbers = numbers_in(text)
        if q_numbers:
            score += 0.15 * len(q_numbers & numbers) / len(q_numbers)
        if q_months:  # "January 2023" asks about January, not about July-September of that year
            months = _months(text)
            score += 0.15 * len(q_months & months) / len(q_months) - (0.15 if months and not q_months & months else 0.0)
        score += _answer_type_bonus(question, text, numbers, q_numbers, q_names)
        if counted and _counts(text, counted):
            score += 0.25
        if len(text.split()) < 6:
            score -= 0.3
        result.append(Candidate(span, i, score, vector))
    return result, float(np.max(sims))


def _answer_type_bonus(question: str, text: str, numbers: frozenset[str], q_numbers: frozenset[str],
                       q_names: frozenset[str]) -> float:
    """Reward sentences holding what the question asks for and that the question does not already say."""
    if _QUANTITY.search(question):
        if not numbers - q_numbers - _years(numbers):
            return -0.1
        return 0.2 if bool(_PERCENT.search(text)) == bool(_PERCENT_ASKED.search(question)) else 0.05
    if _WHEN.search(question):
        return 0.2 if _DATE.search(text) else -0.1
    if _WHO.search(question):
        return 0.1 if names_in(text) - q_names else 0.0
    return 0.0


def _counted_nouns(question: str) -> frozenset[str]:
    """Stems of what "how many X" counts ("terrorist", "attack" in "how many terrorist attacks did ...")."""
    match = _COUNTED.search(question)
    return frozenset(tokenize(match.group(1))) if match else frozenset()


def _counts(text: str, nouns: frozenset[str]) -> bool:
    """Whether a number in the text counts the thing asked: "521 total attacks", "seven Pakistani soldiers"."""
    words = re.findall(r"[\w,.]+", text.lower())
    for i, word in enumerate(words):
        if numbers_in(word.strip(",.")) and any(set(tokenize(w)) & nouns for w in words[i + 1:i + 4]):
            return True
    return False


def _months(text: str) -> set[str]:
    return {m.group().lower() for m in _MONTH.finditer(text)}


def _years(numbers: frozenset[str]) -> set[str]:
    return {n for n in numbers if len(n) == 4 and n.startswith(("19", "20"))}


def _usable(text: str) -> bool:
    """Whole prose sentences only: no headings, bylines, link lines or reference-list entries."""
    if _REFERENCE.search(text) or len(text.split()) < 4:
        return False
    return text[-1] in ".!?\"”’)" or len(text.split()) >= 12


def _question_terms(text: str) -> set[str]:
    facts = facts_of(text)
    return set(facts.numbers) | set(facts.names) | _terms(text)


def _terms(text: str) -> set[str]:
    return set(tokenize(text)) | set(numbers_in(text))
