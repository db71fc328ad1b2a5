"""Facts a reader would check a sentence for: its numbers and its names.

Verification (does the cited passage hold the sentence's figures?), refusal (does any document
name what the question asks about?) and the extractive chooser all compare facts, so they share
one notion of a number and of a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragchat.text.dates import MONTHS
from ragchat.text.terms import STOPWORDS, folded

_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                      "ninety": "90", "hundred": "100", "dozen": "12"})
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?")
_NAME_WORD = re.compile(r"[A-Za-z][\w'’-]*")  # a candidate name: starts with a letter
# Capitalised words that start sentences or are too common in this kind of text to identify anything.
_NOT_NAMES = STOPWORDS | frozenset(MONTHS) | frozenset(
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
    found = list(_NAME_WORD.finditer(text.replace("-", " ")))
    names = set()
    for i, m in enumerate(found):
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
    lower = folded(evidence)
    missing = {n for n in facts.numbers if n not in numbers}
    missing.update(n for n in facts.names if folded(name_stem(n)) not in lower)
    return missing


def missing_names(names: frozenset[str], evidence: str) -> set[str]:
    """The names the evidence lacks (a question's names against a passage, say)."""
    return missing_facts(Facts(frozenset(), names), evidence)


def name_stem(name: str) -> str:
    """Enough of a name to match its other forms: "Pakistani" finds "Pakistan", "Iranian" "Iran"."""
    return name[:max(min(5, len(name)), len(name) - 3)]
