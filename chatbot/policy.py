"""When ragchat refuses, and what it says instead: every reason and every refusal's wording lives here.

Refusing is the product's promise to analysts: an answer is only given when the passages state it.
Two fitted signals decide (both chosen together across two corpora by ``python -m evals.fit``): the
retrieval's evidence strength says whether the library is about the question at all, and the
chooser's probability says whether its best sentence answers it. Three generic checks of what the
question names then catch near misses the probability cannot see: a name or figure no document
contains, an answer drawn from documents that lack a name the question asks about, and a sentence
that does not state the very thing asked (a figure question answered without a figure, "how many
TTP fighters" answered with another group's).

What the reader is told depends on how close the library came: "nothing in the library is about
this" when retrieval found nothing of substance, otherwise an honest near miss ("The documents
don't say who carried out the Bisham attack. Closest: ... [1]") quoting the closest sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chatbot.chooser import Chooser, Unmentioned, counts_what_is_asked
from chatbot.compose import Composition
from chatbot.question import MEASURED, REASON, Analysis
from prompts import load
from ragchat.text.dates import months_in, years_named, years_reported
from ragchat.text.facts import (contradicted_figures, facts_of, missing_facts, missing_names, missing_phrases,
                                name_phrases, reversed_comparisons, states_a_figure)
from ragchat.text.negation import asks_negated, denied_terms, denies_anything, verbs_after_not
from ragchat.text.terms import tokenize
from vectorstore.passages import Passage
from vectorstore.retrieval import Retrieval

REFUSAL = load("refusal")  # what the answer prompt tells an LLM to reply, word for word
_ALIASES = re.compile(r"\([^)]*\)")
_CONTRACTIONS = (("don't", "do not"), ("does not", "do not"), ("doesn't", "do not"))
_NEGATED = re.compile(r"\bdo not \w+")
_FUNCTION_WORDS = frozenset("what which who whom whose when where why how is are was were do does did has have had can "
                            "could will would should may might must in on at by for from of to with during since "
                            "according the a an".split())
_WH = frozenset("what which who whom whose when where why how".split())
_ADVERBIAL_WH = frozenset("when where why how".split())  # never the subject: "where is X" is always inverted
_AUXILIARIES = frozenset("is are was were am be do does did has have had can could will would shall should may "
                         "might must".split())
_DO = frozenset({"do", "does", "did"})  # do-support always puts the subject after it
_SUBJECT_STARTS = frozenset("the a an this that these those his her its their our my your he she it they we you i "
                            "there some any each every all both".split())
_LEAD = re.compile(r"^(?:and|but|so|also|then|ok|okay)[, ]+", re.I)
_UNIT = re.compile(r"\bin (kilomet(?:er|re)s?|km|miles?|met(?:er|re)s?|kilograms?|kg|tonnes?|tons?|dollars?|rupees?|euros?|"
                   r"hours?|days?|weeks?|months?|years?)\W*$", re.I)
# "How much did the repair cost?", "What was the price ...?": answered by an amount of money (or a
# share of one: "cost no less than one percent of the province's budget"), not by "two scanners"
_MONEY_ASKED = re.compile(r"\bhow much (?!time\b|effort\b|energy\b)(?:money )?(?:\w+ ){0,12}?(?:cost|costs|pay|paid|spend|"
                          r"spent|earn|earned|raise|raised|charge|charged|worth|owe|owed|invest|invested|sell for|sold for)\b|"
                          r"^\W*what (?:is|was|were|are|will be) the (?:total |estimated |annual )?(?:cost|price|fee|fare)s?\b",
                          re.I)
_MONEY = re.compile(r"[%\u00a2-\u00a5\u20a0-\u20cf$]|\b(?:dollars?|euros?|pounds?|rupees?|yen|yuan|francs?|cents?|afghanis?|"
                    r"usd|eur|gbp|pkr|inr|afn|rs|crores?|lakhs?|millions?|billions?|bn|percent|per cent)\b", re.I)
_UNIT_FORMS = {"kilomet": ("kilomet", "km"), "km": ("kilomet", "km"), "mile": ("mile",), "met": ("met", " m "),
               "kilogram": ("kilogram", "kg"), "kg": ("kilogram", "kg"), "tonne": ("tonne", "ton"), "ton": ("ton",),
               "dollar": ("dollar", "$", "usd"), "rupee": ("rupee", "rs", "pkr"), "euro": ("euro", "€"),
               "hour": ("hour",), "day": ("day",), "week": ("week",), "month": ("month",), "year": ("year",)}


@dataclass(frozen=True)
class Refusal:
    reason: str  # why, for the notices ("refused: ...")
    reply: str  # what the reader is told
    near_miss: bool  # the closest sentence is quoted after the reply


def refusal(question: str, retrieval: Retrieval, composition: Composition | None, passages: Sequence[Passage],
            model: Chooser, about: dict[str, str], unmentioned: Unmentioned,
            document_text: Callable[[str], str]) -> Refusal | None:
    """Why the documents do not answer and what to say, or None when they do.

    ``passages`` are the retrieval's plus a multi-part question's own; ``about`` maps a doc id to
    its title and author (they count as what a document says: "according to Taut Bataut" names
    an author); ``unmentioned`` says which names and figures no document contains (the lexical
    index knows, whatever the library's size); ``document_text`` gives one document's text by its id.
    """
    if not retrieval.passages or composition is None or not composition.picks:
        return Refusal("no passage sentence to answer from", not_in_library(), False)
    if retrieval.strength < model.strength_threshold:
        return Refusal(f"evidence strength {retrieval.strength:.2f} is below {model.strength_threshold:.2f}",
                       not_in_library(), False)
    titles = " ".join(about.values())
    # A multi-part question answered in part is judged by the parts answered; the rest are named as not covered.
    asked = " ".join(p for p in composition.analysis.parts if p not in composition.uncovered) \
        if composition.uncovered and composition.analysis is not None else question
    never = never_mentioned(asked, " ".join(p.text for p in passages) + " " + titles, unmentioned)
    if never:  # only what no document says; a fact the search missed is not grounds to refuse
        return Refusal(f"the documents never mention {', '.join(sorted(never))}", near_miss(question), True)
    # the item at the place asked ("4." for "the fourth step") answers by its place, which the chooser cannot read
    if composition.evidence < model.answer_threshold and not composition.picks[0].placed:
        return Refusal(f"the best sentence answers with probability {composition.evidence:.2f}, "
                       f"below {model.answer_threshold:.2f}", near_miss(question), True)
    picks = composition.picks
    analysis = composition.analysis
    missed = unanswered_part(analysis, [c.span.text for c in picks]) if analysis is not None else ""
    if missed:
        return Refusal(missed, near_miss(question), True)
    # Against the whole documents answered from, not only their passages: a Wikipedia paragraph says "he".
    chosen = dict.fromkeys(passages[c.passage].doc_id for c in picks)
    unnamed = unnamed_in(asked, " ".join(document_text(d) for d in chosen) + " " + titles)
    if unnamed:
        return Refusal(f"the documents that come closest do not mention {', '.join(sorted(unnamed))}",
                       near_miss(question), True)
    return None


def never_mentioned(question: str, passages_text: str, unmentioned: Unmentioned) -> set[str]:
    """The question's names and figures that neither the passages nor any document contains."""
    asked = facts_of(_ALIASES.sub(" ", question))  # names in brackets are aliases: "Daesh-K (ISIS-K)"
    absent = missing_facts(asked, passages_text)
    return unmentioned(asked.numbers & absent, asked.names & absent) if absent else set()


def unnamed_in(question: str, chosen_text: str) -> set[str]:
    """The question's names that the documents chosen to answer from lack (Iran asked, Pakistan
    answered), word by word and as the many-word names the question writes ("Radar Princess" asked,
    "Twilight Princess" answered)."""
    unasked = _ALIASES.sub(" ", question)
    return missing_names(facts_of(unasked).names, chosen_text) | missing_phrases(name_phrases(unasked), chosen_text)


def unanswered_part(analysis: Analysis, sentences: Sequence[str]) -> str:
    """What the question asks that none of the answer sentences states, or "" when they do.

    A near-miss answer talks about the right things but not the thing asked: "What is the
    population of Kabul?" answered with a sentence about a population that gives no figure, "How
    many TTP fighters ...?" with Daesh-K's fighters, "How long ..., in kilometres?" with a figure
    in years, "Who tells Bond he has five minutes?" with "three minutes", "What was not used?" with
    "the demo was used". Ten checks, each only when the question has that shape, each kept because
    on the leads the shipped thresholds answer (``python -m evals.near_misses``) it refuses at least
    as many wrong answers and unanswerable questions as right answers, on the SQuAD articles as on
    the bundled set: a figure the question gives must not be given only as another figure, nor
    compared the other way ("$20 million more" asked, "$20 million less" said); a question asking
    what did not happen needs a sentence that denies something, and a sentence denying the very
    verb asked ("Who will return?", "he will not return") does not answer; a figure asked for one
    year, or one month, must not be given only for other years or months; a figure question needs
    a figure besides its own; a count the question qualifies with names ("how many TTP fighters")
    must be counted, with them; a unit asked for must appear, and a cost or price asked for must be
    an amount of money.
    Checks that asked for the question's own words ("the street address of ...", "how many units"
    answered "5.82 million copies") refused right answers written in other words and were dropped;
    the count check stays where names qualify the count, which none of those right answers had.
    """
    text = " ".join(sentences)
    contradicted = contradicted_figures(analysis.text, text)
    if contradicted:  # "five minutes to escape" asked, "three minutes to escape" said
        return "the answer gives other figures for " + ", ".join(f'"{w}"' for w in contradicted) + " than the question"
    reversed_ = reversed_comparisons(analysis.text, text)
    if reversed_:  # "$20 million more than Skyfall" asked, "$20 million less than Skyfall" said
        return "the answer compares " + ", ".join(f'"{w}"' for w in reversed_) + " the other way"
    if asks_negated(analysis.text):
        # "What was not used?" answered "the demo was used"; "Why didn't it ...?" is answered by a cause
        if analysis.kind != REASON and not any(denies_anything(s) for s in sentences):
            return "the question asks what did not happen; no sentence says what did not"
    else:
        # what the question denies itself ("who told Pakistan not to blame Afghanistan") it asks about
        asked = set(tokenize(analysis.text)) - verbs_after_not(analysis.text)
        denied = [denied_terms(s) & asked for s in sentences]
        if sentences and all(denied):  # "Who will return to direct?" answered "he will not return to direct"
            return "the answer says " + ", ".join(f'"not {w}"' for w in sorted(set().union(*denied)))
    # "How many TTP attacks took place in 2024?" answered "789 TTP attacks ... in 2023 alone", "How many
    # died in February 2023?" answered "January 2023 ... 134 people lost their lives"
    for asked, named_in, reported_in in ((analysis.years, years_named, years_reported), (analysis.months, months_in, months_in)):
        if analysis.kind in MEASURED and len(asked) == 1:
            # only when every sentence giving a figure reports other years: one naming none may give the
            # figure asked ("up from 81 in 2023" compares with 2023, its figure may be 2024's), and a
            # sentence giving no figure says nothing either way
            giving = [s for s in sentences if states_a_figure(s, analysis.numbers)]
            if giving and all(reported_in(s) and not named_in(s) & asked for s in giving):
                reported = set().union(*(reported_in(s) for s in giving))
                return f"the answer gives figures for {', '.join(s.title() for s in sorted(reported))}, " \
                       f"not {next(iter(asked)).title()}"
    if analysis.kind in MEASURED and not any(states_a_figure(s, analysis.numbers) for s in sentences):
        return "no sentence gives a figure"
    if analysis.counted_names and not any(counts_what_is_asked(analysis, s) for s in sentences):
        # a count named ("TTP fighters") is answered by a figure of that very thing, with its names
        return f'no sentence counts "{analysis.counted_phrase}"'
    if analysis.kind in MEASURED and _MONEY_ASKED.search(analysis.text) and not _MONEY.search(text):
        return "no sentence gives an amount of money"
    unit = _UNIT.search(analysis.text)
    if unit and analysis.kind in MEASURED:
        forms = next(f for stem, f in _UNIT_FORMS.items() if unit.group(1).lower().startswith(stem))
        if not any(form in f" {text.lower()} " for form in forms):
            return f"no sentence gives a figure in {unit.group(1)}"
    return ""


def asked_clause(question: str) -> str | None:
    """The question as a clause to follow "The documents don't say": "Who carried out the Bisham
    attack?" -> "who carried out the Bisham attack"; None when the question puts its verb before
    its subject ("Where do the children watch the trial?", "When was the album released?"), which
    no clause keeps grammatical without re-inflecting the verb ("where the children watched"); the
    reply then quotes the question instead."""
    text = _tidied(question)
    if not text:
        return "that"
    if _inverted(text):
        return None
    first, _, rest = text.partition(" ")
    if first.lower() in _FUNCTION_WORDS:  # "Who ..." -> "who ..."; names and acronyms keep their capitals
        first = first.lower()
    return f"{first} {rest}".strip()


def _tidied(question: str) -> str:
    return _LEAD.sub("", " ".join(question.strip().split())).rstrip(" ?.!")


def _inverted(text: str) -> bool:
    """Subject-auxiliary inversion: "where is X", "how many attacks did the TTP carry out", "did the
    TTP claim it"; not "who was killed" or "how many were injured", where the question word is the
    subject. Quoting a question that needed no inversion is still English, so doubt quotes."""
    original = [w.strip(",;:\"'()“”‘’") for w in re.sub(r"(?i)^(\w+)['’]s\b", r"\1 is", text).split()]
    words = [w.lower() for w in original]
    if not words or words[0] in _AUXILIARIES:  # a yes/no question: "Did the TTP claim the attack?"
        return bool(words)
    if words[0] not in _WH:
        return False
    adverbial = words[0] in _ADVERBIAL_WH and not (words[0] == "how" and words[1:2] in (["many"], ["much"]))
    for i, word in enumerate(words[1:6], start=1):
        if word in _AUXILIARIES:
            if adverbial or word in _DO:  # "what do analysts expect", "how many did militants carry out"
                return True
            following = original[i + 1] if i + 1 < len(original) else ""
            return following.lower() in _SUBJECT_STARTS or following[:1].isupper() or following[:1].isdigit()
    return False


def near_miss(question: str) -> str:
    return _not_said("near_miss", question)


def not_said(asked: str) -> str:
    """A statement that the documents don't say it, with nothing quoted after (a part of a question
    no sentence answers; a document that names no author)."""
    return _not_said("not_said", asked)


def _not_said(wording: str, asked: str) -> str:
    """``prompts/<wording>.txt`` naming what was asked as a clause, or its ``_quoted`` form quoting it."""
    clause = asked_clause(asked)
    if clause is not None:
        return load(wording).format(asked=clause)
    tidy = _tidied(asked)
    return load(wording + "_quoted").format(question=tidy[:1].upper() + tidy[1:] + "?")


def not_in_library() -> str:
    return load("not_in_library")


def says_refusal(text: str) -> bool:
    """An LLM reply that refuses: it says what ``REFUSAL`` says ("do not answer"), contracted or not."""
    return _folded(_NEGATED.search(_folded(REFUSAL)).group()) in _folded(text)


def _folded(text: str) -> str:
    lowered = text.lower()
    for contracted, plain in _CONTRACTIONS:
        lowered = lowered.replace(contracted, plain)
    return lowered
