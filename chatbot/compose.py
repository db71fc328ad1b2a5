"""Composition: the retrieved passages' own sentences that answer the question.

Every sentence is quoted verbatim, so nothing can be misquoted; the work is in choosing, which
the learned chooser (``chatbot.chooser``) does: it scores each sentence with the probability that
it answers the question. The most probable sentence leads; more follow only while they are
probable answers too and add something the question asks, or are nearly as probable as the lead.
For a typed question ("how many", "who", "when") the short answer phrase inside the chosen
sentence is located as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chatbot import chooser as ch
from chatbot.chooser import Candidate
from chatbot.question import EXPANSION, REASON, Analysis, analyse
from ragchat.settings import ComposeSettings
from ragchat.text.dates import MONTHS
from ragchat.text.facts import contradicted_figures
from ragchat.text.sentences import Span
from ragchat.text.terms import tokenize

_SIM = ch.FEATURES.index("sim_question")
_MET, _BROKEN = ch.FEATURES.index("constraints_met"), ch.FEATURES.index("constraints_broken")
_NAMED = ch.FEATURES.index("names_sentence")
_SINCE_DATE = re.compile(r"\bsince\s+(?:(?:early|late|mid-?)\s*)?(?:\d|(?:" + "|".join(MONTHS) + r")\b)", re.I)


@dataclass(frozen=True)
class Composition:
    picks: list[Candidate]
    evidence: float  # the chooser's probability that the leading sentence answers the question
    similarity: float  # best cosine similarity of any passage sentence to the question
    ranked: list[Candidate] = field(default_factory=list)  # every shortlisted sentence, most probable first
    span: Span | None = None  # the short answer inside one of the picks (typed questions)
    uncovered: list[str] = field(default_factory=list)  # parts of a multi-part question no sentence answers
    analysis: Analysis | None = None  # the question taken apart (what would answer it)


def compose(question: str, query: str, passages: Sequence, models: ch.SentenceModels, model: ch.Chooser,
            config: ComposeSettings, *, strength: float = 1.0, about: dict[str, str] | None = None,
            unmentioned: ch.Unmentioned | None = None, idf: Callable[[str], float] | None = None) -> Composition:
    """Pick the answer sentences: a few for a factual question, more for a broad one.

    ``about`` maps a doc id to its title and author, so "according to <author>" favours that
    author's document although the author's name is not in its passages; ``unmentioned`` lets
    the chooser see that a name the question asks about is in no document at all.
    """
    analysis = analyse(question)
    found = ch.candidates(analysis, query, passages, strength, models, model.shortlist,
                          about=about, unmentioned=unmentioned, idf=idf)
    if not found:
        return Composition([], 0.0, 0.0, analysis=analysis)
    ranked = ch.scored(model, found)
    if analysis.abbreviation:
        # A sentence defining the abbreviation answers "what does it stand for?" outright; to the
        # chooser that is one feature ("holds the asked kind") among many, and a sentence that only
        # uses the abbreviation often reads closer to the question. Stable: each group keeps its order.
        ranked.sort(key=lambda c: not any(e.label == EXPANSION for e in c.entities))
    elif analysis.place and any(c.placed for c in ranked):
        # "What is the fourth step?": the item numbered "4." (or opening "Fourth,") leads, though it
        # shares no word with the question
        ranked.sort(key=lambda c: not c.placed)
    elif analysis.counted:
        # The policy refuses a "how many X" answer none of whose sentences counts X, so one that
        # does leads: "three books on terrorism" must not lead "how many terrorist attacks".
        ranked.sort(key=lambda c: not ch.counts_what_is_asked(analysis, c.span.text))
    if _off_constraint(ranked[0]):
        # "How many attacks in 2024?" led by "789 attacks took place in 2023 alone": a probable
        # sentence that does not state another year, month or source than asked leads instead
        better = next((c for c in ranked if not _off_constraint(c) and c.probability >= model.answer_threshold), None)
        if better is not None:
            ranked.remove(better)
            ranked.insert(0, better)
    picks = _picks(analysis, query, ranked, model.answer_threshold, config)
    if analysis.kind == REASON and len(picks) < config.broad_limit:
        picks = _with_cause(picks, ranked, passages, analysis.names)
    return Composition(picks, ranked[0].probability, max(float(c.features[_SIM]) for c in found), ranked,
                       lead_span(analysis, picks), analysis=analysis)


def closest(composition: Composition, config: ComposeSettings) -> Candidate:
    """The sentence a near miss quotes: of the sentences nearly as probable as the best
    (``alternative_ratio``), the one naming most of what the question names. "The documents don't
    say who carried out the Bisham attack. Closest: ..." must be about the Bisham attack; a sentence
    on attacks in general may rate a little higher, since neither answers."""
    best = composition.picks[0]
    if composition.analysis is None or len(composition.analysis.parts) > 1:
        return best  # its parts' picks are rated each against its part, not against each other
    near = [c for c in composition.ranked
            if c.probability >= config.alternative_ratio * best.probability and not _off_constraint(c)]
    return max([best, *near], key=lambda c: c.features[_NAMED])


def _picks(analysis: Analysis, query: str, ranked: list[Candidate], threshold: float,
           config: ComposeSettings) -> list[Candidate]:
    """The lead, then sentences the chooser also judges answers that add a term the question asks
    about and do not contradict it: one that names only another year, month or source than the
    question asks for is about something else, however probable.

    A sentence that adds no asked term follows too when the chooser finds it nearly as probable as
    the lead, unless it gives another figure of what the question counts ("Beyoncé's third
    fragrance" for "her first fragrance"): then it is another thing, not another answer. One that
    adds a term and gives such a figure stays, and the policy judges the answer by it ("released on
    26 October" for "16 October" is a near miss)."""
    lead = ranked[0]
    limit = config.broad_limit if analysis.broad else config.plain_limit
    wanted = _terms(analysis.text + " " + query)
    picks = [lead]
    covered = _terms(lead.span.text) & wanted
    for cand in ranked[1:]:
        if len(picks) >= limit or cand.probability < threshold:
            break
        if max(float(cand.vector @ p.vector) for p in picks) > config.duplicate_similarity:
            continue  # says what a picked sentence already says
        if _off_constraint(cand):
            continue
        adds = (_terms(cand.span.text) & wanted) - covered
        alternative = cand.probability >= config.alternative_ratio * lead.probability \
            and not contradicted_figures(analysis.text, cand.span.text)
        if analysis.broad or adds or alternative:
            picks.append(cand)
            covered |= _terms(cand.span.text) & wanted
    return picks


def _with_cause(picks: list[Candidate], ranked: Sequence[Candidate], passages: Sequence,
                names: frozenset[str]) -> list[Candidate]:
    """A why-question is answered by a cause. When no pick gives one, the most probable sentence
    of the lead's passage that does follows them, if it names all of the names a question gives ("TTP
    chose Chitral due to its rugged mountainous terrain") or directly follows a pick ("... appears
    unwilling to act decisively. This reluctance is rooted in ideological alignment"). The chooser,
    fitted on corpora where few questions ask why, rates a cause put in other words than the
    question's below the sentence that restates the question."""
    if any(_gives_cause(c) for c in picks):
        return picks
    passage = passages[picks[0].passage]
    for cand in ranked:
        if cand.passage != picks[0].passage or not _gives_cause(cand) or any(cand is p for p in picks):
            continue
        if (names and cand.features[_NAMED] >= 1) or any(_follows(passage, p, cand) for p in picks
                                                         if p.passage == cand.passage):
            return [*picks, cand]
    return picks


def _gives_cause(candidate: Candidate) -> bool:
    """The chooser's cause words, less a "since" that dates: "The board has met monthly since 2019"."""
    return bool(ch.CAUSE.search(_SINCE_DATE.sub(" ", candidate.span.text)))


def _follows(passage, before: Candidate, after: Candidate) -> bool:
    """``after`` is the sentence right after ``before`` in ``passage``."""
    gap = passage.text[before.span.end - passage.start:after.span.start - passage.start]
    return before.span.end <= after.span.start and not gap.strip()


def _terms(text: str) -> set[str]:
    """Words a sentence can add: not the "s" that "Beyonce's" leaves, which every possessive adds."""
    return {t for t in tokenize(text) if len(t) > 1 or t.isdigit()}


def _off_constraint(candidate: Candidate) -> bool:
    """It names only another year, month or source than the question asks for."""
    return bool(candidate.features[_BROKEN] > 0 and not candidate.features[_MET])


def lead_span(analysis: Analysis, picks: Sequence[Candidate]) -> Span | None:
    """The short answer: in the most probable pick that holds an entity of the asked kind."""
    for pick in picks:
        span = ch.answer_span(analysis, pick)
        if span is not None:
            return span
    return None
