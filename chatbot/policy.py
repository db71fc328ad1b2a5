"""When ragchat refuses: every reason to say "the documents do not answer this" lives here.

Refusing is the product's promise to analysts: an answer is only given when the passages state it.
The checks run in order from cheapest to dearest, and each returns the reason a reader is shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatbot.compose import Composition, unanswered_part
from chatbot.resources import Resources
from prompts import load
from ragchat.settings import AnswerSettings
from ragchat.text.facts import Facts, facts_of, missing_facts, missing_names
from vectorstore.passages import Passage
from vectorstore.retrieval import Retrieval

REFUSAL = load("refusal")  # also what the answer prompt tells an LLM to reply, word for word
_ALIASES = re.compile(r"\([^)]*\)")
_CONTRACTIONS = (("don't", "do not"), ("does not", "do not"), ("doesn't", "do not"))
_NEGATED = re.compile(r"\bdo not \w+")


def refusal_reason(question: str, retrieval: Retrieval, composition: Composition | None, passages: Sequence[Passage],
                   res: Resources, config: AnswerSettings) -> str:
    """Why the documents do not answer, or "" when they do.

    Five signals: retrieval finds nothing close; no sentence answers squarely; no sentence is even
    about the question; or the question names a figure or name that no document contains (asking
    about 2025 when the documents stop at 2024), or a name the passages chosen to answer from lack
    (a question about Iran answered from sentences about Pakistan). Names in brackets are aliases
    ("Daesh-K (ISIS-K)"), and the documents' authors and titles count, since "according to Taut
    Bataut" names an author. ``passages`` are the retrieval's plus a multi-part question's own.
    """
    if not retrieval.passages or retrieval.strength < config.abstain_threshold:
        return f"evidence strength {retrieval.strength:.2f} is below {config.abstain_threshold:.2f}"
    if composition is None or composition.evidence < config.answer_min_evidence:
        return "no passage sentence answers the question"
    if composition.similarity < config.answer_min_similarity:
        return f"no passage sentence is about the question (best similarity {composition.similarity:.2f})"
    missed = unanswered_part(question, [c.span.text for c in composition.picks])
    if missed:
        return missed
    library = " ".join(res.about().values())
    asked = facts_of(_ALIASES.sub(" ", question))
    absent = missing_facts(asked, " ".join(p.text for p in retrieval.passages) + " " + library)
    never = res.unmentioned(Facts(asked.numbers & absent, asked.names & absent)) if absent else set()
    if never:  # only what no document says; a fact the search missed is not grounds to refuse
        return f"the documents never mention {', '.join(sorted(never))}"
    chosen = " ".join(passages[c.passage].text for c in composition.picks)
    unnamed = missing_names(asked.names, chosen + " " + library)
    if unnamed:
        return f"the passages that come closest do not mention {', '.join(sorted(unnamed))}"
    return ""


def says_refusal(text: str) -> bool:
    """An LLM reply that refuses: it says what ``REFUSAL`` says ("do not answer"), contracted or not."""
    return _folded(_NEGATED.search(_folded(REFUSAL)).group()) in _folded(text)


def _folded(text: str) -> str:
    lowered = text.lower()
    for contracted, plain in _CONTRACTIONS:
        lowered = lowered.replace(contracted, plain)
    return lowered
