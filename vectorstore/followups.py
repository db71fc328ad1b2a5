"""Turn a follow-up question into one that can be searched on its own.

"What about 2024?" or "How did the Taliban government respond?" mean nothing to a search index
without the turn before. With an LLM backend the chatbot layer passes its own rewriter (any
``Callable[[str, Sequence[Turn]], str]``); without one, ``rewrite`` here does it deterministically:
a "what about X?" swaps X for its counterpart in the previous question, anything else that looks
like a follow-up gets the previous turn's key terms appended. Retrieval is what this feeds, so an
appended term list (not a grammatical sentence) is fine: both BM25 and the embedder use it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragchat.text.dates import YEAR
from ragchat.text.terms import STOPWORDS, words
from vectorstore.request import Turn

# "What about 2024?", "And how about the Taliban?", "And in 2024?", "For March 2024?"
_SWAP = re.compile(r"^(?:and\s+)?(?:(?:what|how)\s+about\s+(?:(?:in|for|during)\s+)?(?P<x>.+?)|"
                   r"(?:in|for|during)\s+(?P<y>(?:[A-Za-z]+\s+)?\d{4}))\s*\??$", re.IGNORECASE)
_CONTINUATION = ("and ", "but ", "also ", "so ", "then ", "what about ", "how about ", "what else")
_ANAPHORA = frozenset("that this these those it its they them their he him his she her such same".split())
# Words that are in questions but carry no topic; a question made only of them needs its context.
_GENERIC = frozenset(
    "many much number share percentage percent total people happen happened say said tell told respond "
    "responded react reacted year years time date first last next else other one ones".split()
)
# A question ending on a bare reaction verb ("How did the Taliban respond?") asks about something said before.
_DANGLING = re.compile(r"\b(?:respond|react|reply|retaliate|happen|end)\W*$", re.IGNORECASE)
_MIN_TOPIC_TERMS = 3  # fewer topical words than this, and no name or figure, and a question cannot stand alone
_ANSWER_TERMS = 6  # names and figures carried over from the previous answer, at most


def rewrite(question: str, history: Sequence[Turn]) -> str:
    """The standalone query for ``question``; unchanged when there is no history or it stands alone."""
    question = question.strip()
    if not history or not is_followup(question):
        return question
    previous = rewrite(history[-1].question, history[:-1])
    swapped = _swap(question, previous)
    if swapped:
        return swapped
    have = {w.lower() for w in words(question)}
    carried = [w for w in _key_terms(previous) if w.lower() not in have]
    have.update(w.lower() for w in carried)
    carried += [w for w in _answer_terms(history[-1].answer) if w.lower() not in have][:_ANSWER_TERMS]
    return f"{question} {' '.join(carried)}".strip() if carried else question


def is_followup(question: str) -> bool:
    """Heuristic: opens like a continuation, points back before naming anything, or names too little.

    A pronoun only counts before the first name or figure: in "Which spokesperson said Pakistan
    should not blame Afghanistan for its problems?" the "its" points inside the question.
    """
    if question.lower().startswith(_CONTINUATION) or _DANGLING.search(question) or swapped(question):
        return True
    found = words(question)
    named = [i for i, w in enumerate(found) if _is_name_or_figure(w, first=i == 0)]
    first_name = named[0] if named else len(found)
    if any(w.lower() in _ANAPHORA for w in found[:first_name]):
        return True
    return not named and len(_topic_terms(found)) < _MIN_TOPIC_TERMS


def _is_name_or_figure(word: str, first: bool) -> bool:
    return any(ch.isdigit() for ch in word) or (not first and word[0].isupper())


def swapped(question: str) -> bool:
    """A follow-up that only swaps what is asked about ("And in 2024?"): its rewrite is a whole
    question, the earlier one with the new year or thing, and is what the answer must answer."""
    return bool(_SWAP.match(question.strip()))


def _swap(question: str, previous: str) -> str | None:
    """"What about 2024?" or "And in 2024?" after a 2023 question: the previous question with the year replaced."""
    match = _SWAP.match(question)
    if not match:
        return None
    new = match.group("x") or match.group("y")
    years = YEAR.findall(previous)
    if len(YEAR.findall(new)) == 1 and len(set(years)) == 1:  # "2024" or "March 2024" for the one year asked
        return YEAR.sub(new, previous)
    return f"{previous} {new}"


def _topic_terms(found: Sequence[str]) -> list[str]:
    return [w for w in found if w.lower() not in STOPWORDS and w.lower() not in _GENERIC and w.lower() not in _ANAPHORA]


def _key_terms(question: str) -> list[str]:
    """The previous question's topical words in their order, without question scaffolding."""
    return _unique(_topic_terms(words(question)))


def _answer_terms(answer: str) -> list[str]:
    """Names and figures of an answer: what a follow-up most often points back to."""
    body = re.sub(r"\[\d+(?:,\s*\d+)*\]", " ", answer)  # citation markers are not content
    picked = [w for w in words(body) if any(ch.isdigit() for ch in w) or (w[0].isupper() and w.lower() not in STOPWORDS)]
    return _unique(picked)


def _unique(words: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for w in words:
        if w.lower() not in seen:
            seen.add(w.lower())
            out.append(w)
    return out
