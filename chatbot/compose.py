"""Composition: the retrieved passages' own sentences that best answer the question.

Every sentence is quoted verbatim, so nothing can be misquoted; the work is in choosing. A
sentence scores by meaning (embedding similarity to the question), by sharing the question's
words and figures, and by containing the kind of thing asked for (a number for "how many", a date
for "when"). The best one leads; more follow only while they add something the question asks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from chatbot.verify import SentenceEncoder
from ragchat.settings import ComposeSettings
from ragchat.text.dates import DATE_MENTION, MONTH, YEAR, months_in
from ragchat.text.facts import facts_of, missing_names, names_in, numbers_in
from ragchat.text.sentences import Span, split_sentences
from ragchat.text.terms import STOPWORDS, lexical_overlap, tokenize

_BROAD = re.compile(r"^(why|how (could|can|should|do|does|did|has|have|is|are|would)|what (are|were) the (main|key|major)|"
                    r"what role|what (has|have) .* said|describe|explain|discuss|summari[sz]e|what .* (drivers|causes|reasons|factors|options))\b|"
                    r"\band how do they differ\b|\bwhat attacks\b", re.I)
_QUANTITY = re.compile(r"^(how (many|much|long|often|far)|what (share|percentage|proportion|number|fraction)|by (how much|what percentage|roughly what))\b|"
                       r"\b(how many|how much|what percentage|what share|by how much)\b", re.I)
_WHEN = re.compile(r"^(when|on what date|in what year|since when)\b|\bsince when\b|\bwhat date\b", re.I)
_WHO = re.compile(r"^(who|whom|which|what is the name|name)\b", re.I)
_REFERENCE = re.compile(r"^\s*\d{1,3}\.\s|https?://|www\.|pic\.twitter|\(@\w+\)|^—|\((?:19|20)\d\d\)\s*:?\s")
_PERCENT_ASKED = re.compile(r"\b(percent|percentage|share|proportion|fraction|by how much|rate)\b", re.I)
_SHARE = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(?:%|percent|per cent)", re.I)
_ATTRIBUTION = re.compile(r"\baccording to ([^,;?]+)", re.I)
_COUNTED = re.compile(r"\bhow many ((?:[\w-]+ ){0,3}?[\w-]+?)(?= (?:did|do|does|were|was|are|is|have|has|had|will|would|could|in|of|on|at|from|per|across)\b|\?|$)", re.I)
_MULTI_PART = re.compile(r"\band (how|what|which|who|when|where|why)\b|\b(each|both)\b|:", re.I)
# "..., and how many ...", "... and which ...": a second question joined to the first.
_WH_JOIN = re.compile(r",?\s+and\s+(?=(?:how|what|which|who|whom|when|where|why)\b)", re.I)
# "from A and from B", "according to A and according to B", "in 2023 and again in 2024": one question asked of two things.
_PREPOSITIONS = r"according to|from|in|for|by|on|at|during|since|about|between|to"
_REPEATED = re.compile(rf",?\s+and\s+(?:again\s+|also\s+|then\s+)?(?P<p>{_PREPOSITIONS})\s+(?=\S)", re.I)
_ASKS = re.compile(r"(how|what|which|who|whom|when|where|why|is|are|was|were|do|does|did|has|have|had|can|could|"
                   r"will|would|should)\b", re.I)
_QUESTION_WORD = re.compile(r"\b(how|what|which|who|whom|when|where|why)\b", re.I)
_ANAPHOR = frozenset("they them their it its this that these those he she his her".split())
_QUESTION_TERMS = frozenset("many much long often far name number".split())


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
    ranked: list[Candidate] = field(default_factory=list)  # every usable sentence, best first


def is_broad(question: str) -> bool:
    return bool(_BROAD.search(question.strip())) or question.count("?") > 1


def sub_questions(question: str) -> list[str]:
    """The separate questions a multi-part question asks, each able to stand alone; [question] if one.

    Three deterministic cues: a second question joined with "and how/what/which ..." ("How many
    attacks in 2023 and how many in 2024?"); one question asked of two things with a repeated
    preposition ("... from the partnership and from the Taliban", "according to A and according
    to B", "in 2023 and again in 2024"); and a statement before a colon or semicolon that sets the
    scene for the questions after it. A part too short to stand alone ("how many in 2024") borrows
    the other part's words, minus the figures it replaces; a part that only points back ("and how
    do they differ") is left to the answer of the part it points at.
    """
    text = " ".join(question.strip().split())
    preamble, body = "", text
    head, sep, tail = text.rpartition(":") if ":" in text else text.rpartition(";")
    if sep and head and not _QUESTION_WORD.match(head) and _QUESTION_WORD.search(tail):
        preamble, body = head.strip(), tail.strip()
    pieces = [p.strip(" ,?") for p in _WH_JOIN.split(body) if p.strip(" ,?")]
    if not _ASKS.match(pieces[0]):  # "China set up a mechanism with Pakistan and which other country?" is one question
        pieces = [body.strip(" ,?")]
    if preamble:
        scenes = _split_repeated(preamble)
        if len(scenes) > 1 and len(pieces) == 1:  # "A went in 2023 and again in 2024; what was each visit about?"
            pieces = [f"{scene}; {pieces[0]}" for scene in scenes]
        else:
            pieces = [f"{preamble}: {p}" for p in pieces]
    elif len(pieces) == 1:
        pieces = _split_repeated(pieces[0])
    parts = [p for p in pieces if not _points_back(p)]
    if len(parts) < 2:
        return [question]
    return [_completed(p, parts) + "?" for p in parts]


def _split_repeated(text: str) -> list[str]:
    """"X from A and from B" -> ["X from A", "X from B"]; [text] when no preposition repeats."""
    for match in _REPEATED.finditer(text):
        prep = match.group("p").lower()
        before = text[:match.start()]
        first = [m for m in re.finditer(rf"\b{re.escape(prep)}\s", before, re.I)]
        if not first:
            continue
        cut = first[-1].start()
        stem, a, b = before[:cut].rstrip(" ,"), before[cut:].strip(" ,"), text[match.end() - 0:].strip(" ,?")
        if stem and a and b:
            return [f"{stem} {a}", f"{stem} {prep} {b}"]
    return [text]


def _points_back(part: str) -> bool:
    """A part made of a pronoun and at most one word of its own ("how do they differ")."""
    words = re.findall(r"[\w'-]+", part.lower())
    own = [w for w in tokenize(part) if w not in _QUESTION_TERMS]
    return any(w in _ANAPHOR for w in words) and len(own) <= 1


def _completed(part: str, parts: list[str]) -> str:
    """A part with fewer than two words of its own is the fullest part again with this part's figures.

    "How many attacks hit Pakistan in 2023 and how many in 2024?": the second part is "How many
    attacks hit Pakistan in 2024"; without figures to swap, the fullest part's words are appended.
    """
    own = [w for w in tokenize(part) if w not in _QUESTION_TERMS and not numbers_in(w)]
    if len(own) >= 2:
        return part
    donor = max(parts, key=lambda p: len(tokenize(p)))
    figures = YEAR.findall(part) or [n for n in re.findall(r"\b\d[\d,.]*\b", part)]
    donor_figures = YEAR.findall(donor) or [n for n in re.findall(r"\b\d[\d,.]*\b", donor)]
    if figures and len(donor_figures) == len(figures):
        swapped = donor
        for old, new in zip(donor_figures, figures):
            swapped = re.sub(rf"\b{re.escape(old)}\b", new, swapped, count=1)
        return swapped
    have = set(tokenize(part))
    borrowed = [w for w in re.findall(r"[\w'-]+", donor)
                if not numbers_in(w) and w.lower() not in have and tokenize(w) and not _QUESTION_WORD.fullmatch(w)]
    return f"{part} {' '.join(borrowed)}"


def compose(question: str, query: str, passages: Sequence, encoder: SentenceEncoder, about: dict[str, str],
            weights: ComposeSettings) -> Composition:
    """Pick the answer sentences: 1-3 for a factual question, up to 5 for a broad one.

    ``about`` maps a doc id to its title and author, so "according to <author>" favours that
    author's document although the author's name is not in its passages.
    """
    candidates, similarity = _candidates(question, query, passages, encoder, about, weights)
    if not candidates:
        return Composition([], 0.0, 0.0)
    ranked = sorted(candidates, key=lambda c: -c.score)
    lead = ranked[0]
    broad = is_broad(question)
    multi = bool(_MULTI_PART.search(question))
    limit, margin = ((weights.broad_limit, weights.broad_margin) if broad else
                     (weights.multi_limit, weights.multi_margin) if multi else
                     (weights.plain_limit, weights.plain_margin))
    wanted = _question_terms(question + " " + query)
    picks = [lead]
    covered = _terms(lead.span.text) & wanted
    for cand in ranked[1:]:
        if len(picks) >= limit or cand.score < lead.score - margin:
            break
        if max(float(cand.vector @ p.vector) for p in picks) > weights.duplicate_similarity:
            continue  # says what a picked sentence already says
        adds = (_terms(cand.span.text) & wanted) - covered
        if broad or adds:
            picks.append(cand)
            covered |= _terms(cand.span.text) & wanted
    return Composition(picks, lead.score, similarity, ranked)


def _candidates(question: str, query: str, passages: Sequence, encoder: SentenceEncoder,
                about: dict[str, str], w: ComposeSettings) -> tuple[list[Candidate], float]:
    spans: list[tuple[int, Span]] = []
    before: dict[int, str] = {}  # sentence start -> the sentence before it in its passage
    for i, passage in enumerate(passages):
        previous = ""
        for s in split_sentences(passage.text, passage.start):
            if _usable(s.text):
                spans.append((i, s))
                before[s.start] = previous
            previous = s.text
    if not spans:
        return [], 0.0
    texts = [s.text for _, s in spans]
    vectors = encoder.encode([question, query] + texts)
    q_vec, query_vec, s_vecs = vectors[0], vectors[1], vectors[2:]
    # A follow-up's own words say what is new; the rewritten query only supplies the context.
    sims = np.maximum(s_vecs @ q_vec, w.query_similarity_discount * (s_vecs @ query_vec))
    counted = _counted_nouns(question)
    top_passage = max(p.score for p in passages) or 1.0
    q_numbers = numbers_in(question + " " + query)
    q_names = names_in(question + " " + query)
    q_months = months_in(question)
    q_years = set(YEAR.findall(question))
    # A sentence from a passage about the names the question asks about is more likely the answer.
    name_share = [1.0 - len(missing_names(q_names, p.text + " " + about.get(p.doc_id, "")))
                  / len(q_names) if q_names else 1.0 for p in passages]
    # "according to <someone>": the answer is what that person or document says.
    cited = _attributed(question)
    attributed = [1.0 - len(missing_names(cited, p.text + " " + about.get(p.doc_id, ""))) / len(cited)
                  if cited else 0.0 for p in passages]
    result = []
    for (i, span), sim, vector in zip(spans, sims, s_vecs):
        text = span.text
        score = (float(sim) + w.weight_question_overlap * lexical_overlap(question, text)
                 + w.weight_query_overlap * lexical_overlap(query, text)
                 + w.weight_passage_rank * passages[i].score / top_passage + w.weight_name_share * name_share[i]
                 + w.weight_attribution * attributed[i])
        numbers = numbers_in(text)
        if q_numbers:
            score += w.weight_numbers * len(q_numbers & numbers) / len(q_numbers)
        if q_months:  # "January 2023" asks about January, not about July-September of that year
            months = months_in(text)
            score += (w.weight_month * len(q_months & months) / len(q_months)
                      - (w.weight_month if months and not q_months & months else 0.0))
        if q_years:
            score += _year_match(q_years, text, before.get(span.start, ""), w.weight_year)
        score += _answer_type_bonus(question, text, numbers, q_numbers, q_names, w)
        if counted:  # "how many attacks": a sentence counting attacks beats one counting anything else
            score += w.weight_counts if _counts(text, counted) else -w.weight_counts_miss
        if len(text.split()) < w.short_sentence_words:
            score -= w.short_sentence_penalty
        result.append(Candidate(span, i, score, vector))
    return result, float(np.max(sims))


def _attributed(question: str) -> frozenset[str]:
    """Names after "according to" ("according to PM Kakar" -> {"pm", "kakar"})."""
    names: set[str] = set()
    for match in _ATTRIBUTION.finditer(question):
        names |= names_in("according to " + match.group(1))
    return frozenset(names)


def _year_match(asked: set[str], text: str, previous: str, weight: float) -> float:
    """Favour a sentence about the year asked; penalise one that names only other years.

    A sentence often takes its year from the one before ("In 2024, attacks rose 72%. Of 521 total
    attacks, ..."), so a sentence naming no year is judged by its predecessor's years.
    """
    own = set(YEAR.findall(text))
    years = own or set(YEAR.findall(previous))
    if asked & years:
        return weight
    return -weight if own else 0.0


def _answer_type_bonus(question: str, text: str, numbers: frozenset[str], q_numbers: frozenset[str],
                       q_names: frozenset[str], w: ComposeSettings) -> float:
    """Reward sentences holding what the question asks for and that the question does not already say."""
    if _QUANTITY.search(question):
        if not numbers - q_numbers - _years(numbers):
            return -w.weight_answer_type_miss
        # A share does not answer "how many", nor a count "what percentage".
        shares = {m.group(1).replace(",", "") for m in _SHARE.finditer(text)}
        counts = numbers - q_numbers - _years(numbers) - shares
        return w.weight_answer_type if (shares if _PERCENT_ASKED.search(question) else counts) else -w.weight_answer_type_miss
    if _WHEN.search(question):
        return w.weight_answer_type if DATE_MENTION.search(text) else -w.weight_answer_type_miss
    if _WHO.search(question):
        return w.weight_who if names_in(text) - q_names else 0.0
    return 0.0


_ATTRIBUTE_OF = re.compile(r"^what (?:is|was) the ((?:\w+ ){0,2}?\w+) of (.+?)\??$", re.I)
_UNIT = re.compile(r"\bin (kilomet(?:er|re)s?|km|miles?|met(?:er|re)s?|kilograms?|kg|tonnes?|tons?|dollars?|rupees?|euros?|"
                   r"hours?|days?|weeks?|months?|years?)\W*$", re.I)
_UNIT_FORMS = {"kilomet": ("kilomet", "km"), "km": ("kilomet", "km"), "mile": ("mile",), "met": ("met", " m "),
               "kilogram": ("kilogram", "kg"), "kg": ("kilogram", "kg"), "tonne": ("tonne", "ton"), "ton": ("ton",),
               "dollar": ("dollar", "$", "usd"), "rupee": ("rupee", "rs", "pkr"), "euro": ("euro", "€"),
               "hour": ("hour",), "day": ("day",), "week": ("week",), "month": ("month",), "year": ("year",)}


def unanswered_part(question: str, sentences: Sequence[str]) -> str:
    """What the question asks that none of the answer sentences states, or "" when they do.

    A near-miss answer talks about the right things but not the thing asked: "What is the
    population of Kabul?" answered with a sentence about Kabul and another about a population,
    "How many fighters ...?" with a sentence counting operations, "How long ..., in kilometres?"
    with a figure in years. Three checks, each only when the question has that shape: the
    attribute asked of something ("the population of Kabul") must be stated in one sentence
    together with it; the thing "how many" counts must be counted; a unit asked for must appear.
    """
    text = " ".join(sentences)
    counted = _counted_nouns(question, strict=True)
    if counted and not any(_counts(s, counted) for s in sentences):
        return "no sentence counts " + " ".join(sorted(counted))
    unit = _UNIT.search(question)
    if unit and _QUANTITY.search(question):
        forms = next(f for stem, f in _UNIT_FORMS.items() if unit.group(1).lower().startswith(stem))
        if not any(form in f" {text.lower()} " for form in forms):
            return f"no sentence gives a figure in {unit.group(1)}"
    match = _ATTRIBUTE_OF.match(question.strip())
    if match and not is_broad(question) and match.group(1).lower() not in ("name", "names"):
        attribute = set(tokenize(match.group(1)))
        subject = names_in("of " + match.group(2)) or set(tokenize(match.group(2)))
        if attribute and not any(attribute <= set(tokenize(s)) and not missing_names(frozenset(subject), s)
                                 for s in sentences):
            return f"no sentence states the {match.group(1)} of {match.group(2)}"
    return ""


def _counted_nouns(question: str, strict: bool = False) -> frozenset[str]:
    """Stems of what "how many X" counts ("terrorist", "attack" in "how many terrorist attacks did ...").

    ``strict`` keeps only a plain noun phrase right after "how many" ("how many TTP fighters"),
    not "how many of the ...", "how many were ..." or "how many did X say", whose counted thing
    is elsewhere in the question.
    """
    match = _COUNTED.search(question)
    if not match:
        return frozenset()
    if strict and match.group(1).split()[0].lower() in STOPWORDS | {"people", "times"}:
        return frozenset()
    return frozenset(tokenize(match.group(1)))


def _counts(text: str, nouns: frozenset[str]) -> bool:
    """Whether a number in the text counts the thing asked: "521 total attacks", "seven Pakistani soldiers"."""
    words = re.findall(r"[\w,.%]+", text.lower())
    for i, word in enumerate(words):
        if word.endswith("%") or i + 1 < len(words) and words[i + 1].startswith("percent"):
            continue  # a share is not a count
        if YEAR.fullmatch(word.strip(",.")) or i and MONTH.fullmatch(words[i - 1].strip(",.")):
            continue  # nor is a date: "in 2024, Pakistan", "March 26, 2024"
        if numbers_in(word.strip(",.")) and any(set(tokenize(w)) & nouns for w in words[i + 1:i + 4]):
            return True
    return False


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
