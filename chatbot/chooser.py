"""Which retrieved sentence answers the question, and how sure we are: a small learned model.

Every sentence of the retrieved passages is described by features that say whether it *answers*
the question rather than merely being *about* it: meaning similarity, how many of the question's
words it covers, whether it holds a thing of the expected kind (a date for "when", a person or
group for "who") that the question does not already name, whether it meets the question's
constraints (the asked year and month, the named source, what "how many" counts), and where it
sits (its passage's rank, its place in the passage). A logistic regression turns them into the
probability that the sentence holds the answer.

The weights, the feature scaling and the decision thresholds are fitted by ``python -m evals.fit``
on two corpora with cross-corpus checks and stored in ``chooser.json`` beside this module
(``settings.compose.chooser_file``); no weight is written in code. The fit also chooses which
features to use: one that helps on its training corpus but not on the other gets weight 0
(``chooser.json``'s ``"dropped"``), and is still computed, so a refit on other data may take it
back. The same ``candidates`` function serves fitting and answering, so what is fitted is what runs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatbot.entities import Entity, EntityTagger, fallback_entities
from chatbot.question import EXPANSION, PERSON, PLACE, REASON, WORK, Analysis, content_terms
from chatbot.reader import Reader
from chatbot.verify import SentenceEncoder
from ragchat.text.abbreviations import definitions, same_abbreviation
from ragchat.text.dates import ANY_YEAR, MONTHS, months_in, years_named, years_reported
from ragchat.text.facts import missing_names, names_in, numbers_in, respelt
from ragchat.text.ordinals import place_of
from ragchat.text.rows import Cell, cells
from ragchat.text.sentences import Span, split_sentences, without_list_marker, without_trailing_links
from ragchat.text.terms import folded, tokenize, without_possessives
from vectorstore.passages import Passage

FEATURES: tuple[str, ...] = (
    "reader",  # the fine-tuned cross-encoder's score that the sentence answers the question (chatbot.reader)
    "reader_gap",  # that score minus the best candidate's
    "sim_question",  # cosine similarity of the sentence to the question
    "sim_query",  # ... to the standalone query (differs for follow-ups)
    "sim_gap",  # similarity minus the best candidate's: the best-looking sentence of a weak set is still weak
    "sim_neighbour",  # best similarity of the sentence before or after it
    "coverage",  # share of the question's content words in the sentence (stems, prefix-matched)
    "coverage_idf",  # the same, weighted by how rare each word is in the library
    "coverage_gap",  # coverage minus the best candidate's
    "coverage_context",  # share covered by the sentence with its neighbours
    "coverage_passage",  # share covered by its whole passage and document title
    "coverage_predicate",  # share of the question's words other than its names: what it says happened
    "names_sentence",  # share of the question's names in the sentence
    "names_passage",  # ... in its passage or its document's title/author
    "facts_library",  # share of the question's names and figures found anywhere in the library
    "typed",  # the question expects an entity (person, place, date, number, percentage, title, long form)
    "answer_entity",  # typed question and the sentence holds an entity of that kind not in the question
    "new_entity",  # the sentence names something (any kind) the question does not
    # The question's constraints: the asked year (stated here or in the sentence before), the asked
    # month, the named source ("according to X" is the passage's document). Met and broken are
    # counted apart: a sentence stating only another year rarely answers (0.02-0.04 of such rows
    # hold the answer on both corpora, against 0.15-0.35 where the year is met), a pull a single
    # -1/0/+1 column hid from the linear model.
    "constraints_met",
    "constraints_broken",
    "counted",  # +1 "how many X" and the sentence counts X, -1 it counts nothing of that, 0 n/a
    "reason",  # "why" question and the sentence gives a cause (because, due to, led to ...)
    "position",  # place in its passage, 0 first .. 1 last
    "passage_rank",  # 1 / (1 + rank of its passage)
    "passage_score",  # its passage's fused score relative to the best passage
    "strength",  # retrieval's evidence strength for the question
    "length",  # log of its word count
)

CAUSE = re.compile(r"\b(because|due to|owing to|on account of|as a result|result(?:ed|s)? (?:in|from)|led to|"
                    r"leads to|lead to|caused|causes|in order to|so that|since|thanks to|reason|therefore|hence|aimed at|to protest|"
                    r"in response|rooted in|driven by|stem(?:s|med)? from|attributed to|motivated by|prompted by|"
                    r"triggered by|fu?ell?ed by|in an attempt to|an attempt to|given that|for fear)\b", re.I)
_NUMBERED = re.compile(r"\s*(?:\d{1,3}\.|\[\d{1,3}\])\s")  # "10. Baqai, Huma (2021) ...", "[1] A. Smith, ...", and "1. Capacity Building: ..."
# What makes a numbered entry a reference rather than a point of the text: a year in brackets
# ("Baqai, Huma (2021) ..."); a year closing a line of several parts, after a comma or a
# semicolon ("..., Agence France Press, 4 April, 2015.", "Geneva: WHO; 2018."; a point's
# "... takes effect on September 1, 2025." is no citation); Vancouver's "2019;12(3)"; an author
# written surname first with initials or before a year ("Smith, J. A.", "Khan, Ahmed. 2019."); or a
# citation's "ibid", "op. cit.", "n.d.", "et al." or closing page ("Dawn, p. 3."). A bracketed
# "[1]" opens IEEE's.
_CITATION = re.compile(r"\((?:1[5-9]|20)\d\d[a-z]?\)|(?:,[^,]*){3}\s*(?:1[5-9]|20)\d\d\W*$|"
                       r"(?:\.\s[^.]*){2}[;.]\s*(?:1[5-9]|20)\d\d\W*$|;\s*(?:1[5-9]|20)\d\d\W*$|\b(?:19|20)\d\d;\s*\d|"
                       r"^\s*\d{1,3}\.\s+[A-Z][\w'’-]+,\s+(?:[A-Z]\.\s*)+|"
                       r"^\s*\d{1,3}\.\s+[A-Z][\w'’-]+,\s+[A-Z][a-z]+\.\s+\(?(?:1[5-9]|20)\d\d|"
                       r"\b(?:ibid|op\.?\s*cit|n\.d|et al)\b|\bpp?\.\s*\d+(?:[-–]\d+)?\.?\s*$", re.I)
# "3.1 Dana Whitfield reported ...", "12. The Board agreed ...": a numbered paragraph's label, no value
_OUTLINE = re.compile(r"\s*(\d{1,3}(?:\.\d{1,3})+\.?|\d{1,3}\.)\s+(?=[A-Z])")  # "12 Afghan soldiers" has none
_LINK = re.compile(r"https?://|www\.|pic\.twitter|\(@\w+\)")
_CAPITALISED_RUN = re.compile(r"(?:\s+[A-Z][\w'’-]*)+")
# between two items of a list: ", ", " and ", ", or ", "”, “"
_LIST_JOIN = re.compile(r"[\s”\"’]*(?:,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+)[\s“\"‘]*")
_WORD_AFTER = re.compile(r"[ \u00a0]+[^\W\d_]")  # a word follows, not a comma or a full stop
_WORD = re.compile(r"[\w,.%]+")  # a word with the figures' punctuation: "1,087", "3.5", "95%"


@dataclass(frozen=True)
class Candidate:
    """One sentence of the retrieved passages, described for the model and scored by it."""

    span: Span  # offsets in the cleaned document
    passage: int  # index into the retrieval's passages
    vector: np.ndarray
    features: np.ndarray
    entities: tuple[Entity, ...]
    probability: float = 0.0
    cells: tuple[Cell, ...] = ()  # a table row's cells (``ragchat.text.rows``); () for prose
    placed: bool = False  # the list item at the place the question asks for (``Shortlist.placed``)


# Which of these figures and names no document of the library contains: "is this asked thing in
# any document at all", answered by the lexical index without reading the library.
Unmentioned = Callable[[frozenset[str], frozenset[str]], set[str]]


@dataclass(frozen=True)
class Chooser:
    """The fitted model: standardisation, weights, and the thresholds that turn probability into decisions."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    answer_threshold: float  # below this, the best sentence does not answer: refuse or near miss
    strength_threshold: float  # retrieval evidence strength below which nothing in the library is about it
    shortlist: int  # sentences per question that get entity tagging and a score
    meta: dict

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros(0)
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def answers(self, probability: float, strength: float) -> bool:
        """The decision to answer: the best sentence answers and the passages are about the question."""
        return probability >= self.answer_threshold and strength >= self.strength_threshold

    @classmethod
    def load(cls, path: Path) -> "Chooser":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            names = tuple(data["features"])
            model = cls(names, np.asarray(data["mean"]), np.asarray(data["scale"]), np.asarray(data["weights"]),
                        float(data["bias"]), float(data["answer_threshold"]), float(data["strength_threshold"]),
                        int(data["shortlist"]), data.get("meta", {}))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a chooser file ({exc}); write it with python -m evals.fit") from None
        if names != FEATURES:
            raise ValueError(f"{path}: fitted for features {names}, code computes {FEATURES}; refit with python -m evals.fit")
        return model

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": _rounded(self.mean), "scale": _rounded(self.scale),
                "weights": _rounded(self.weights), "bias": round(self.bias, 6),
                "answer_threshold": round(self.answer_threshold, 4),
                "strength_threshold": round(self.strength_threshold, 4), "shortlist": self.shortlist, "meta": self.meta}


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def usable(text: str, listed: bool = False) -> bool:
    """Whole prose sentences and list items only: no headings, bylines or link lines, and no question
    the text itself asks ("The question is, how can Pakistan and Afghanistan ensure a better
    response?"): it states nothing, so it answers nothing. A bulleted item needs no full stop ("Dr.
    Helena Voss, Chair of the Board", "laying forty new moorings on the east quay"); a heading has
    no bullet, though it may have a number."""
    if _LINK.search(text) or len(text.split()) < 4 or text.endswith("?"):
        return False
    return listed or text[-1] in ".!?\"”’)" or len(text.split()) >= 12


def _item_not_heading(marked: str, item: str) -> bool:
    """A bulleted line is a list item, unless it is a menu ("- Home | About us | Contact"); a numbered
    one may be a heading ("7. SMART METER PILOT", "3. Finance Report"), unless it reads as prose,
    most of its words in lower case ("4. Install CCTV at 40 stations by March 2025": figures and
    acronyms are neither)."""
    if "|" in item:
        return False
    words = [w for w in item.split() if w[0].isalpha() and not w.isupper()]
    return not marked[0].isdigit() or bool(words) and 2 * sum(w[0].islower() for w in words) >= len(words)


def _reference_entry(line: str) -> bool:
    """A numbered line that cites: a document's numbered points ("1. Capacity Building: Invest in
    ...") are its text, and were dropped with its references."""
    return _NUMBERED.match(line) is not None and _CITATION.search(line) is not None


def _in_reference_entry(text: str, offset: int) -> bool:
    """Every sentence of a numbered reference is as much a reference as its line: "10. Islamabad,
    Kabul should work together. Islamabad, Kabul should work for common goals (2023) Deccan Herald,
    18 September, 2023." must not be quoted as an answer. ``text`` begins with the passage's
    ``line_before``: a passage may begin after the number."""
    line = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return _reference_entry(text[line:end if end >= 0 else len(text)])


@dataclass(frozen=True)
class Shortlist:
    """The usable sentences of the retrieved passages most like the question, best first."""

    rows: list[tuple[int, int, Span, list[Span]]]  # passage, index in passage, sentence, passage's sentences
    order: np.ndarray  # indexes into rows, best first, at most ``shortlist`` of them
    vectors: np.ndarray  # embedding of every row
    sim_question: np.ndarray  # per row
    sim_query: np.ndarray  # per row
    coverage: np.ndarray  # per row: share of the question's (and query's) words it covers
    terms: frozenset[str]
    placed: np.ndarray  # per row: the list item at the place the question asks for ("the fourth step")

    @property
    def texts(self) -> list[str]:
        return [self.rows[i][2].text for i in self.order]


def shortlisted(question: Analysis, query: str, passages: Sequence, encoder: SentenceEncoder,
                shortlist: int) -> Shortlist | None:
    """Every usable sentence is embedded; the ``shortlist`` best by similarity and coverage go on
    to be tagged, read and scored, which bounds the cost of the NER model and the reader per question."""
    rows: list[tuple[int, int, Span, list[Span]]] = []
    seen: set[tuple[str, int]] = set()  # two passages of one document can share sentences: each is read once
    placed: list[bool] = []
    for i, passage in enumerate(passages):
        spans = split_sentences(passage.text, passage.start)
        lines = passage.line_before + passage.text  # what a sentence's entry number is looked for in
        offset = len(passage.line_before) - passage.start  # a document offset's place in ``lines``
        for j, s in enumerate(spans):
            s = without_trailing_links(s)  # a post's sentence is prose up to the link glued to its end
            item = without_list_marker(s)
            listed = item is not s and _item_not_heading(s.text, item.text)
            if usable(item.text, listed) and not _in_reference_entry(lines, s.start + offset) \
                    and (passage.doc_id, s.start) not in seen:
                seen.add((passage.doc_id, s.start))
                rows.append((i, j, item, spans))
                placed.append(_at_place(question, s.text, lines))
    if not rows:
        return None
    vectors = encoder.encode([question.text, query] + [r[2].text for r in rows])
    q_vec, query_vec, s_vecs = vectors[0], vectors[1], vectors[2:]
    sim_q, sim_query = s_vecs @ q_vec, s_vecs @ query_vec
    terms = question.terms | frozenset(content_terms(query))  # a follow-up's query brings the earlier turn's words
    coverage = np.array([_coverage(terms, r[2].text) for r in rows])
    # A sentence spelling out the asked abbreviation answers it, however little else it shares with the question.
    defines = np.array([bool(question.abbreviation and long_forms(question.abbreviation, r[2].text)) for r in rows])
    # ... and so does the item at the place asked, though it shares no word with the question
    order = np.lexsort((-(np.maximum(sim_q, sim_query) + coverage), ~(defines | np.array(placed))))[:shortlist]
    return Shortlist(rows, order, s_vecs, sim_q, sim_query, coverage, terms, np.array(placed))


def _at_place(question: Analysis, sentence: str, passage_text: str) -> bool:
    """The sentence (its list marker included) is the item at the place the question asks for, in a
    passage that names what is listed: "4. You move to the Discharge Lounge" under "The steps on
    your day of discharge" for "the fourth step"."""
    return bool(question.place) and place_of(sentence) == question.place \
        and _coverage(frozenset(tokenize(question.listed)), passage_text) > 0


@dataclass(frozen=True)
class SentenceModels:
    """The models that describe a sentence: embeddings, named entities, and the reader's score."""

    encoder: SentenceEncoder
    tagger: EntityTagger
    reader: Reader


def candidates(question: Analysis, query: str, passages: Sequence, strength: float, models: SentenceModels,
               shortlist: int, *, about: dict[str, str] | None = None, unmentioned: Unmentioned | None = None,
               idf: Callable[[str], float] | None = None) -> list[Candidate]:
    """The shortlisted sentences of ``passages`` with their features (probability not yet set)."""
    about = about or {}
    found = shortlisted(question, query, passages, models.encoder, shortlist)
    if found is None:
        return []
    rows, order, s_vecs, terms = found.rows, found.order, found.vectors, found.terms
    sim_q, sim_query, coverage = found.sim_question, found.sim_query, found.coverage
    # "Who carried out the Bisham attack?": a sentence naming Bisham but not what was carried out does not answer.
    predicate = question.terms - frozenset(tokenize(" ".join(question.names)))
    chosen = [rows[i] for i in order]
    tags = models.tagger.tag([r[2].text for r in chosen])
    if question.abbreviation:
        tags = [tuple(found) + long_forms(question.abbreviation, r[2].text) for found, r in zip(tags, chosen)]
    read = models.reader.scores(question.text, [r[2].text for r in chosen])
    best_read = float(read.max())

    by_position = {(r[0], r[3][r[1]].start): k for k, r in enumerate(rows)}
    sims = np.maximum(sim_q, sim_query)
    best_sim, best_cov = float(sims[order].max()), float(coverage[order].max())
    top_score = max(p.score for p in passages) or 1.0
    facts_library = _library_share(question, unmentioned)
    question_folded = folded(question.text)
    result = []
    for k, (i, j, span, spans), entities, logit in zip(order, chosen, tags, read):
        passage = passages[i]
        title = about.get(passage.doc_id, "")
        row = table_row(passage, span)
        neighbours = [by_position.get((i, spans[n].start)) for n in (j - 1, j + 1) if 0 <= n < len(spans)]
        previous = spans[j - 1].text if j else ""
        context = " ".join(s.text for s in spans[max(0, j - 1):j + 2])
        constraints = (_year_constraint(question.years, span.text if ANY_YEAR.search(span.text) else previous),
                       _constraint(question.months, months_in(span.text)),
                       _source_match(question.source, passage.text + " " + title))
        features = {
            "reader": float(logit), "reader_gap": float(logit) - best_read,
            "sim_question": float(sim_q[k]), "sim_query": float(sim_query[k]), "sim_gap": float(sims[k]) - best_sim,
            "sim_neighbour": max((float(sims[n]) for n in neighbours if n is not None), default=0.0),
            "coverage": float(coverage[k]), "coverage_idf": _coverage(terms, span.text, idf),
            "coverage_gap": float(coverage[k]) - best_cov, "coverage_context": _coverage(terms, context),
            "coverage_passage": _coverage(terms, passage.text + " " + title),
            "coverage_predicate": _coverage(predicate, span.text) if predicate else 1.0,
            "names_sentence": _share_named(question.names, span.text),
            "names_passage": _share_named(question.names, passage.text + " " + title),
            "facts_library": facts_library,
            "typed": float(question.typed),
            "answer_entity": float(bool(answer_entities(question, entities, span.text, question_folded)
                                        or _row_names(question, row, span.text))),
            "new_entity": float(any(not _in_question(e.text, question_folded) for e in entities)),
            "constraints_met": sum(c > 0 for c in constraints), "constraints_broken": sum(c < 0 for c in constraints),
            "counted": (1.0 if counts(span.text, question.counted) else -1.0) if question.counted else 0.0,
            "reason": float(question.kind == REASON and bool(CAUSE.search(span.text))),
            "position": j / max(1, len(spans) - 1),
            "passage_rank": 1.0 / (1 + i),
            "passage_score": float(passage.score) / top_score,
            "strength": float(strength),
            "length": math.log1p(len(span.text.split())),
        }
        result.append(Candidate(span, i, s_vecs[k], np.array([features[f] for f in FEATURES], dtype=np.float64),
                                entities, cells=tuple(row), placed=bool(found.placed[k])))
    return result


def table_row(passage: Passage, span: Span) -> list[Cell]:
    """The cells of a sentence that is a whole line of its passage and reads as a table row: ingest
    writes a row a line of its own, and prose that looks like one mid-paragraph ("talks were held
    in Doha: the Taliban sent twelve; the government: none") is not one."""
    at, end = span.start - passage.start, span.end - passage.start
    whole = (passage.starts_line if at == 0 else passage.text[at - 1] == "\n") \
        and (passage.ends_line if end == len(passage.text) else passage.text[end] == "\n")
    return cells(span.text) if whole else []


def scored(chooser: Chooser, found: Sequence[Candidate]) -> list[Candidate]:
    """The candidates with their probabilities, most probable first."""
    if not found:
        return []
    probs = chooser.probabilities(np.stack([c.features for c in found]))
    ranked = [dataclasses.replace(c, probability=float(p)) for c, p in zip(found, probs)]
    return sorted(ranked, key=lambda c: -c.probability)


def answer_entities(question: Analysis, entities: Sequence[Entity], text: str,
                    question_folded: str | None = None) -> list[Entity]:
    """Entities of the kind the question asks for that the question does not itself name, in ``text``."""
    if not question.typed:
        return []
    asked = question_folded if question_folded is not None else folded(question.text)
    outline = _OUTLINE.match(text)
    return [e for e in entities if question.answered_by(e.label, e.text) and not _in_question(e.text, asked)
            and not _describes(e, text) and not (outline and e.end <= outline.end(1))]


def _describes(entity: Entity, text: str) -> bool:
    """A nationality or group before another word describes something rather than naming who:
    "Afghan soil", "an Afghan delegation led by ...", "Chinese writers". A plural ("the Afghans
    met") names people."""
    return entity.label == "NORP" and not entity.text.endswith("s") and bool(_WORD_AFTER.match(text, entity.end))


def long_forms(abbreviation: str, text: str) -> tuple[Entity, ...]:
    """What ``text`` says ``abbreviation`` stands for, as entities of the EXPANSION kind."""
    return tuple(Entity(d.long, EXPANSION, d.start, d.end) for d in definitions(text)
                 if same_abbreviation(d.short, abbreviation))


def _in_question(entity: str, question_folded: str) -> bool:
    """An entity the question already names ("Pakistan" in "Who attacked Pakistan?") does not answer it;
    compared folded and without a possessive, so "Beyoncé" and "the Yongle Emperor's" are named by
    a question typed "Beyonce" or "the Yongle emperor", and "Jan Achakzai" by one typed "Achakzay"."""
    words = [w for w in re.findall(r"\w+", without_possessives(folded(entity))) if w not in ("the", "a", "an", "of")]
    asked = re.findall(r"\w+", question_folded)
    return bool(words) and all(re.search(rf"\b{re.escape(w)}", question_folded) or respelt(w, asked) for w in words)


def _inflected(word: str, form: str) -> bool:
    """``form`` is ``word`` with a verb ending: the prefix rule below starts at five letters, so
    "How long did the hiatus last?" never found "lasted"."""
    if len(word) < 3 or not form.startswith(word):
        return False
    ending = form[len(word):]
    return ending in ("ed", "ing") or ending == "d" and word.endswith("e")


def _stems(text: str) -> set[str]:
    return set(tokenize(text))


def _matches(term: str, stems: set[str]) -> bool:
    """Equal stems, a word and its inflection ("last" finds "lasted", "close" "closed", "sign"
    "signing"), or one a prefix of the other past four letters: "injur" finds "injuri"."""
    if term in stems or any(_inflected(term, s) or _inflected(s, term) for s in stems):
        return True
    if len(term) < 5:
        return False
    return any(len(s) >= 5 and (s.startswith(term[:-1]) or term.startswith(s[:-1])) for s in stems)


def _coverage(terms: frozenset[str], text: str, idf: Callable[[str], float] | None = None) -> float:
    if not terms:
        return 0.0
    stems = _stems(text)
    weight = idf or (lambda t: 1.0)
    total = sum(weight(t) for t in terms)
    return sum(weight(t) for t in terms if _matches(t, stems)) / total if total else 0.0


def _share_named(names: frozenset[str], text: str) -> float:
    if not names:
        return 1.0
    return 1.0 - len(missing_names(names, text)) / len(names)


def _library_share(question: Analysis, unmentioned: Unmentioned | None) -> float:
    """Share of the question's names and non-year figures that some document mentions."""
    if unmentioned is None:
        return 1.0
    numbers = frozenset(n for n in question.numbers if n not in question.years)
    asked = len(question.names) + len(numbers)
    if not asked:
        return 1.0
    return 1.0 - len(unmentioned(numbers, frozenset(question.names))) / asked


def _constraint(asked: frozenset[str], stated: set[str]) -> float:
    if not asked:
        return 0.0
    if asked & stated:
        return 1.0
    return -1.0 if stated else 0.0


def _year_constraint(asked: frozenset[str], text: str) -> float:
    """Met when the text names the asked year; broken when it reports figures for others, not when
    it only compares with them ("up from 81 in 2023")."""
    if not asked:
        return 0.0
    if asked & years_named(text):
        return 1.0
    return -1.0 if years_reported(text) else 0.0


def _source_match(source: str, text: str) -> float:
    if not source:
        return 0.0
    return 1.0 if names_source(source, text) else -1.0


def names_source(source: str, text: str) -> bool:
    """``text`` (a passage, or a document's author) names every name of "according to <source>"."""
    names = names_in("according to " + source) or frozenset(tokenize(source))
    return bool(names) and _share_named(frozenset(names), text) == 1.0


def counts_what_is_asked(question: Analysis, text: str) -> bool:
    """Whether the text counts what "how many" asks, with the names that qualify it ("TTP fighters"):
    the figure must count the noun, not the name ("two hundred TTP militants" counts no fighters)."""
    return counts(text, _counted_nouns(question)) and not missing_names(question.counted_names, text)


def _counted_nouns(question: Analysis) -> frozenset[str]:
    return question.counted - question.counted_names or question.counted


def counts(text: str, nouns: frozenset[str]) -> bool:
    """Whether a number in the text counts the thing asked: "521 total attacks", "seven soldiers"."""
    words = _WORD.findall(text.lower())
    for i, word in enumerate(words):
        if word.endswith("%") or i + 1 < len(words) and words[i + 1].startswith("percent"):
            continue  # a share is not a count
        if ANY_YEAR.fullmatch(word.strip(",.")) or i and words[i - 1].strip(",.") in MONTHS:
            continue  # nor is a date: "in 2024, ...", "March 26, 2024"
        if numbers_in(word.strip(",.")) and _counted_by(words[i + 1:], nouns):
            return True
    return False


def _counted_by(following: Sequence[str], nouns: frozenset[str]) -> bool:
    """The three words after a figure name what it counts: "521 total attacks", "seven soldiers"."""
    return any(set(tokenize(w)) & nouns for w in following[:3])


def answer_span(question: Analysis, candidate: Candidate) -> Span | None:
    """The phrase of a typed question's answer inside the sentence, with offsets in the document.

    Among the entities of the expected kind that the question does not name, the one nearest the
    words the sentence shares with the question: in "In 2023, 789 attacks took place, the most
    since 2017", "how many attacks" finds "789", next to "attacks". For a name (person, place,
    title) the NER model may have missed or mislabelled, a capitalised run stands in ("the
    Mianwali Training Air Base", tagged a person's name up to "Training"), and a name is
    extended over the capitalised words that follow it. In a table row ("Crossing: Chaman; Days
    closed in 2024: 83."), a value, never a column's label, and the one in the column whose label
    shares most words with the question.
    """
    text = candidate.span.text
    row = candidate.cells
    found = _values(row, answer_entities(question, candidate.entities, text))
    if not found and not row and question.kind in (PERSON, PLACE, WORK):
        asked = folded(question.text)
        found = [e for e in fallback_entities(text) if e.label == "PROPER" and not _in_question(e.text, asked)]
    found += _row_names(question, row, text)
    if not found:
        return None
    found = _in_asked_column(question, row, found) if row else _counting(question, text, found)
    anchors = [m.start() for m in re.finditer(r"\w+", text) if _matches_any(m.group(), question.terms)]
    best = min(found, key=lambda e: (min(abs(a - e.start) for a in anchors), e.start)) if anchors else found[0]
    start, end = best.start, best.end
    if question.kind in (PERSON, PLACE, WORK):
        follow = _CAPITALISED_RUN.match(text, end)
        end = follow.end() if follow else end
    if question.several:
        end = _listed(question, candidate.entities, text, end)
    return Span(text[start:end], candidate.span.start + start, candidate.span.start + end)


def _row_names(question: Analysis, row: Sequence[Cell], text: str) -> list[Entity]:
    """A table row's capitalised values, for a question asking a name: a cell's name is a word or
    two the tagger has no sentence to read in ("Main crossing: Ghulam Khan" is no place to it)."""
    if not row or question.kind not in (PERSON, PLACE, WORK):
        return []
    asked = folded(question.text)
    return _values(row, [e for e in fallback_entities(text) if e.label == "PROPER" and not _in_question(e.text, asked)])


def _values(row: Sequence[Cell], found: list[Entity]) -> list[Entity]:
    """The entities that start inside a table row's values, cut at the value's end (a capitalised
    run takes the row's full stop: "Chaman."); all of them when the sentence is no row."""
    if not row:
        return found
    return [Entity(e.text[:min(e.end, c.end) - e.start], e.label, e.start, min(e.end, c.end))
            for e in found for c in row if c.start <= e.start < c.end]


def _in_asked_column(question: Analysis, row: Sequence[Cell], found: list[Entity]) -> list[Entity]:
    """Of a row's entities, those in the cells whose labels share most words with the question
    ("How many days was Chaman closed?": "Days closed in 2024"), and of those the labels with
    fewest other words ("how many attacks": "Attacks" before "Suicide attacks"); all of them when
    no label shares a word."""
    def fit(cell: Cell) -> tuple[int, int]:
        words = [_matches_any(w, question.terms) for w in re.findall(r"\w+", cell.label)]
        return sum(words), -words.count(False)

    held = [c for c in row if any(c.start <= e.start and e.end <= c.end for e in found)]
    best = max(held, key=fit, default=None)
    if best is None or not fit(best)[0]:
        return found
    return [e for e in found if any(fit(c) == fit(best) and c.start <= e.start and e.end <= c.end for c in row)]


def _listed(question: Analysis, entities: Sequence[Entity], text: str, end: int) -> int:
    """Where a list that the short answer starts ends: "Which countries ...?" is answered by "Iran,
    Tajikistan and China", and "What books ...?" by three titles, not by the first of them."""
    for entity in sorted(entities, key=lambda e: e.start):
        if entity.start < end:
            continue
        if entity.label not in question.labels or not _LIST_JOIN.fullmatch(text, end, entity.start):
            break
        end = entity.end
    return end


def _counting(question: Analysis, text: str, found: list[Entity]) -> list[Entity]:
    """For "how many X", the figures followed by X: in "445 people lost their lives and 440 suffered
    injuries from as many as 190 terror attacks", "how many attacks" is 190, though 440 stands as
    near the words of the question. All of them when none counts X."""
    if not question.counted:
        return found
    nouns = _counted_nouns(question)
    near = [e for e in found if _counted_by(_WORD.findall(text[e.end:].lower()), nouns)]
    return near or found


def _matches_any(word: str, terms: frozenset[str]) -> bool:
    stems = _stems(word)
    return any(_matches(t, stems) for t in terms)
