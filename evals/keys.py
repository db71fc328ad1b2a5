"""Answer keys found in a text as SQuAD's scorer finds them: whole words, normalised.

One matcher for every place the evaluation asks "does this text hold the answer": the answer
(correctness), its short span, the retrieved passages (context holds the answer) and the sentence
labels the chooser is fitted on. Substrings would count the key "C" in any text with a letter c
and "four" in "fourth", and the figures would not agree with each other.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence


def has_answer_keys(text: str, must: Sequence[Sequence[str]]) -> bool:
    """One acceptable string of every group is in ``text``: "Destiny Fulfilled." is found in
    "Destiny Fulfilled, the final album"."""
    normal = f" {_normalised(text)} "
    return all(any(_in_words(option, normal) for option in group) for group in must)


def context_holds_answer(passage_texts: Sequence[str], must_groups: Sequence[Sequence[str]]) -> bool:
    """Every answer-key group has one of its strings somewhere in the passages."""
    return has_answer_keys("\n".join(passage_texts), must_groups)


def holds_a_key(text: str, must: Sequence[Sequence[str]]) -> bool:
    """One key of any group is in ``text``: a short answer span, or a sentence the chooser is fitted
    to call an answer (each answers one part of a two-part question)."""
    normal = f" {_normalised(text)} "
    return any(_in_words(option, normal) for group in must for option in group)


def _in_words(option: str, normal: str) -> bool:
    """``option`` occurs as whole words in ``normal``, a normalised text padded with spaces."""
    key = _normalised(option)
    return bool(key) and f" {key} " in normal


def _normalised(text: str) -> str:
    """SQuAD's answer normalisation (lower case, no punctuation, no articles, single spaces), with
    punctuation read as a space so a key stays a whole word beside a dash or hyphen ("Khitan-ruled")."""
    text = "".join(" " if _is_punctuation(ch) else ch for ch in text.lower())
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def _is_punctuation(ch: str) -> bool:
    """ASCII punctuation as SQuAD's scorer has it, and every Unicode punctuation mark or symbol, so
    "€124.9 million" holds the key "124.9 million" as "$124.9 million" does."""
    return ch in string.punctuation or unicodedata.category(ch)[0] in "PS"
