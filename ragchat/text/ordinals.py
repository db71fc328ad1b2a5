"""Places in a list: "the fourth step" asks for the item a document numbers "4." or opens "Fourth,".

A question asking for a listed item by its place names no word of the item itself, so neither
meaning nor shared words find it; its number does.
"""

from __future__ import annotations

import re

_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_NUMBER_OF = {word: n for n, word in enumerate(_WORDS, 1)}
# What a document numbers: "the first meeting", "the second largest city" or "the fourth of July" ask
# no item of a list, and a numbered list near a meeting's minutes must not answer them.
_LISTED = ("step|item|point|recommendation|stage|phase|rule|task|priority|objective|goal|measure|action|option|"
           "principle|requirement|condition|criterion|finding|proposal|lesson|question|pillar|element|component")
# "the fourth step", "the 3rd key recommendation", "step 4", "recommendation no. 2": the place and what is listed
_ASKED = re.compile(rf"\bthe (?P<place>{'|'.join(_WORDS)}|\d{{1,2}}(?:st|nd|rd|th)) (?:\w+ )?(?P<noun>(?:{_LISTED})s?)\b|"
                    rf"\b(?P<named>{_LISTED})s? (?:no\.? ?|number )?(?P<number>\d{{1,2}})\b", re.IGNORECASE)
# a numbered item's own number ("4. ", "4) ") or an opening ordinal ("Fourth, ...", "Secondly, ...")
_NUMBERED = re.compile(r"\s*(\d{1,2})[.)]\s")
_OPENING = re.compile(rf"\s*({'|'.join(_WORDS)})(?:ly)?[,:;]\s", re.IGNORECASE)


def place_asked(question: str) -> tuple[int, str]:
    """The place in a list the question asks for and what the list lists, or (0, ""): "What is the
    fourth step on ...?" -> (4, "step"), "the third key recommendation" -> (3, "recommendation")."""
    match = _ASKED.search(question)
    if match is None:
        return 0, ""
    word = (match["place"] or match["number"]).lower()
    return _NUMBER_OF.get(word) or int(re.match(r"\d+", word).group()), (match["noun"] or match["named"]).lower()


def place_of(sentence: str) -> int:
    """The place a sentence has in its list, as its text (marker included) says, or 0."""
    match = _NUMBERED.match(sentence) or _OPENING.match(sentence)
    if match is None:
        return 0
    word = match.group(1).lower()
    return _NUMBER_OF.get(word) or int(word)
