"""Negation: whether a question asks what did not happen, and which verbs a sentence denies.

"What was not used in the final release?" is not answered by "the demo was used in the final
release", nor "Who will return to direct the next film?" by "Mendes has stated he will not return".
An extractive answer quotes sentences as they are, so a question and its quote that disagree on
negation are an honest near miss, not an answer.
"""

from __future__ import annotations

import re

from ragchat.text.terms import tokenize

_NEGATED = re.compile(r"\b(?:not|never|cannot|no longer)\b|n['’]t\b", re.I)
# Not what the question asks about: "whether or not", "not only", what someone was convinced "not
# to send", and a condition ("what did he threaten them with if they did not convert?").
_NOT_A_NEGATION = re.compile(r"\b(?:whether or not|if not|not only|or not|not to)\b|\b(?:if|unless)\b[^,;?]*?"
                             r"(?:\bnot\b|n['’]t\b)", re.I)
# What a sentence can say to deny or exclude: a plain "not", and the words that do the same work.
_DENIES = re.compile(r"\b(?:not|never|no|none|nor|neither|without|cannot|rather than|other than|instead|except|"
                     r"unlike|lack\w*|absent|unable|refus\w*|fail\w*|den(?:y|ied|ies)|declin\w*|discontinu\w*|"
                     r"stopp\w*|ceas\w*)\b|n['’]t\b", re.I)
# "did not return until 1407" says when it happened; "not" before a verb otherwise denies that verb.
_DENIED_VERB = re.compile(r"\b(?:not|never|no longer|refused to|declined to|failed to)\s+(?:to\s+)?"
                          r"(?:(?:be|been|being|have)\s+)?(\w+)", re.I)
_UNTIL = re.compile(r"(?:\W+\w+){0,8}?\W+until\b", re.I)


def asks_negated(question: str) -> bool:
    """The question asks about something that did not happen ("Who would not be reprising ...?")."""
    return bool(_NEGATED.search(_NOT_A_NEGATION.sub(" ", question)))


def denies_anything(sentence: str) -> bool:
    return bool(_DENIES.search(sentence))


def denied_terms(sentence: str) -> set[str]:
    """The terms (``ragchat.text.terms`` stems) of the verbs a sentence denies: "he will not return
    to direct" -> {"return"}."""
    text = _NOT_A_NEGATION.sub(" ", sentence)
    return {stems[0] for m in _DENIED_VERB.finditer(text)
            if not _UNTIL.match(text, m.end()) and (stems := tokenize(m.group(1)))}


def verbs_after_not(text: str) -> set[str]:
    """The terms of every verb ``text`` puts "not" before, whatever the reading: a question that
    says "who told Pakistan not to blame Afghanistan" asks about the not blaming, so a sentence
    saying "Pakistan should not blame Afghanistan" agrees with it."""
    return {stems[0] for m in _DENIED_VERB.finditer(text) if (stems := tokenize(m.group(1)))}
