"""Abbreviations and their definitions in running text: "Inter-Services Public Relations (ISPR)".

Schwartz and Hearst (2003), "A simple algorithm for identifying abbreviation definitions in
biomedical text": a short form in parentheses right after its long form, or a long form in
parentheses after its short form; the long form is found by matching the short form's letters
right to left, its first letter at the start of a word. It needs no model and holds in any
English text. Kept here rather than taken from the ``abbreviations`` package (0.2.5, unchanged
since 2019): that one configures the root logger when imported and raises on the unbalanced
parentheses real documents have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragchat.text.terms import STOPWORDS

# How a question asks for a long form ("What does ISPR stand for?", "UHI is an abbreviation of
# what?", "the full name of ... AIA"): the frame is not what the question is about, so term
# coverage leaves it out.
ASKS_LONG_FORM = re.compile(r"\b(?:stands?|stood) for\b|\bshort for\b|\b(?:abbreviation|acronym|initialism)s?\b|"
                            r"\bfull (?:name|form)\b|\bwhat do the (?:letters|initials)\b", re.I)
# An abbreviation question (its frame: ``ASKS_LONG_FORM``) names the abbreviation in capitals, else
# before "stand for".
_CAPITALS = re.compile(r"\b(?:[A-Z]\.){2,}|\b[A-Z][A-Z0-9&]*[A-Z][A-Z0-9&]*\b")
_STANDS = re.compile(r"([\w.&-]+)\s+(?:originally\s+|actually\s+)?(?:stands?|stood|is short) for\b", re.I)
_PARENTHESIS = re.compile(r"\(([^()]{1,150})\)")
_WORD_BEFORE = re.compile(r"([\w.&'-]+)\s*$")


@dataclass(frozen=True)
class Definition:
    short: str  # "ISPR"
    long: str  # "Inter-Services Public Relations"
    start: int  # offsets of the long form in the text
    end: int


def definitions(text: str) -> list[Definition]:
    """Every abbreviation the text defines, in order."""
    found = []
    for match in _PARENTHESIS.finditer(text):
        inside = re.split(r"[;,]", match.group(1))[0].strip()
        before = text[:match.start()].rstrip()
        words = inside.split()
        # long form (SHORT), within the few words before it; "(PATH train)": the abbreviation may carry its noun
        shorts = [s for s in (inside, words[0] if len(words) == 2 and words[0].isupper() else "") if is_short_form(s)]
        for short in shorts:
            starts = [m.start() for m in re.finditer(r"\S+", before)][-min(len(short) + 5, 2 * len(short)):]
            long = long_form(short, before[starts[0]:]) if starts else ""
            if long:
                found.append(Definition(short, long, len(before) - len(long), len(before)))
                break
        if not is_short_form(inside) and len(words) > 1:  # SHORT (long form)
            word = _WORD_BEFORE.search(before)
            short = word.group(1).strip(".'-") if word else ""
            if is_short_form(short) and long_form(short, inside) == inside:
                start = match.start(1) + match.group(1).index(inside)
                found.append(Definition(short, inside, start, start + len(inside)))
    return found


def is_short_form(text: str) -> bool:
    """An abbreviation as Schwartz and Hearst accept one: 2-10 characters, at most two words, a letter, starting alphanumeric."""
    return (2 <= len(text) <= 10 and len(text.split()) <= 2 and any(c.isalpha() for c in text)
            and text[0].isalnum())


def long_form(short: str, text: str) -> str:
    """The shortest end of ``text`` whose letters spell ``short`` in order, its first at a word start; "" if none."""
    letters = [c.lower() for c in short if c.isalnum()]
    at = len(text) - 1
    for k in range(len(letters) - 1, -1, -1):
        while at >= 0 and (text[at].lower() != letters[k] or (k == 0 and at > 0 and text[at - 1].isalnum())):
            at -= 1
        if at < 0:
            return ""
        at -= 1
    start = at + 1
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    long = text[start:]
    return long if len(long) > len(short) and long.lower() != short.lower() else ""


def same_abbreviation(a: str, b: str) -> bool:
    """"B.I.C." and "BIC", "Nypd" and "NYPD" name the same abbreviation."""
    return abbreviation_key(a) == abbreviation_key(b)


def abbreviation_key(short: str) -> str:
    """One spelling of an abbreviation, as the lexical index files definitions under it: "B.I.C." -> "bic"."""
    return re.sub(r"\W", "", short).casefold()


def abbreviation_asked(question: str) -> str:
    """The abbreviation a question asks to spell out: its all-capitals word ("ISPR", "B.I.C."), else
    the word before "stand for" ("what does ispr stand for"); "" if it asks for no long form or names none."""
    frame = ASKS_LONG_FORM.search(question)
    if frame is None:
        return ""
    capitals = [m.group() for m in _CAPITALS.finditer(question)]
    if capitals:  # the one nearest the frame: "What does the NYPD's ESU stand for?" asks for ESU
        return min(capitals, key=lambda c: abs(question.find(c) - frame.start()))
    stands = _STANDS.search(question)
    return stands.group(1) if stands and stands.group(1).lower() not in STOPWORDS else ""
