"""Facts a reader would check a sentence for: its numbers and its names.

Verification (does the cited passage hold the sentence's figures?), refusal (does any document
name what the question asks about?) and the extractive chooser all compare facts, so they share
one notion of a number and of a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import permutations

from ragchat.text.dates import MONTHS
from ragchat.text.terms import STOPWORDS, folded, tokenize

_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                      "ninety": "90", "hundred": "100", "dozen": "12"})
_ORDINAL_WORDS = {w: i for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split(), start=1)}
_ORDINAL_WORDS.update({"thirtieth": 30, "fortieth": 40, "fiftieth": 50, "sixtieth": 60, "seventieth": 70,
                       "eightieth": 80, "ninetieth": 90, "hundredth": 100})
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_FIGURE_WORD = re.compile(r"\d[\d,.]*(?:st|nd|rd|th|s)?|[a-z]+|[^\sa-z\d]")
_FILLERS = frozenset("more additional extra other further".split())  # "three more films" counts films
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?")
_NAME_WORD = re.compile(r"[A-Za-z][\w'’-]*")  # a candidate name: starts with a letter
# Capitalised words that start sentences or are too common in this kind of text to identify anything.
_NOT_NAMES = STOPWORDS | frozenset(MONTHS) | frozenset(
    "according however moreover although while since after before during yes no it this these those there their "
    "both also meanwhile furthermore despite thus hence".split()) | frozenset(
    # words that open a question or clause and are never part of a name: "Upon Chopin's death", "Should Pakistan ..."
    "upon though besides unlike like among amid within without between beyond toward towards across along against "
    "under until unless whereas whether once apart aside except following regarding concerning considering "
    "including given per via should shall may might must ought".split())


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


# Words that give a quantity without a numeral: "thousands of children died", "none of the venues".
_QUANTITY_WORDS = re.compile(r"\b(?:all|none|several|few|dozens|hundreds|thousands?|millions?|billions?|numerous|half|"
                             r"quarter|third|twice|double|triple)\b", re.I)


def states_a_figure(text: str, given: frozenset[str] = frozenset()) -> bool:
    """Whether the text gives any quantity besides the ``given`` ones (the question's own: "the
    October 2023 earthquake" states 2023, which does not answer "how many died in it"): numerals,
    number words, or words such as "thousands" and "none", which answer a figure question as surely
    as a numeral does."""
    return bool(numbers_in(text) - given or _QUANTITY_WORDS.search(text))


def names_in(text: str) -> frozenset[str]:
    """Capitalised words other than a sentence's first word: people, places, groups, acronyms.

    Hyphenated compounds count by their parts ("Pakistan-Afghanistan" names two countries).
    """
    found = list(_NAME_WORD.finditer(text.replace("-", " ")))
    names = set()
    for i, m in enumerate(found):
        word = m.group().strip("'’-")
        if not _capitalised_name(word) or (i == 0 and not word.isupper()):
            continue
        names.add(word.lower().removesuffix("'s").removesuffix("’s"))
    return frozenset(names)


def _capitalised_name(word: str) -> bool:
    """A word that may be (part of) a name: capitalised, longer than a letter, not a common word."""
    return word[:1].isupper() and len(word) > 1 and word.lower() not in _NOT_NAMES


# A title before a name is not part of how every text writes the name ("Dr. Swann", "Swann").
_TITLES = frozenset("dr doctor mr mrs ms prof professor sir lord lady president general king queen pm".split())
_RUN_ENDS = tuple(",;:?!\"”")
_BETWEEN = r"(?:[\W_]+\w+){0,3}?[\W_]+"  # up to three words between two of a name's words
_REORDERED = 3  # names of up to this many words may be written in another order


def name_phrases(text: str) -> list[str]:
    """Runs of two or more capitalised words, as a question writes a many-word name ("Twilight
    Princess", "Washington Post"). Each word of "Radar Princess" or "The Washington Observer" may
    occur in a text that never names such a thing, which matching names word by word cannot see.
    A possessive, a comma or a figure ends a run; a title before a name is not part of it. A
    question's first word starts one only when a name follows it: "North Korea opened to ..." and
    "Lawrence Orr writes ..." name things, "Spectre received ..." starts no run, and a role written
    before a name is part of what is asked ("Producer Neal Purvis" is not the text's "screenwriters
    Neal Purvis")."""
    phrases, run = [], []
    for token in text.split():
        word = token.strip("\"“”‘'’.,;:?!")
        possessive = word.endswith(("'s", "’s")) or token.endswith(("s'", "s’"))
        word = word.removesuffix("'s").removesuffix("’s")
        named = _capitalised_name(word) and word.lower().strip(".") not in _TITLES
        if named:
            run.append(word)
        if not named or possessive or token.endswith(_RUN_ENDS):
            if len(run) > 1:
                phrases.append(" ".join(run))
            run = []
    if len(run) > 1:
        phrases.append(" ".join(run))
    return phrases


def missing_phrases(phrases: list[str], evidence: str) -> set[str]:
    """The phrases whose words the evidence never writes in their order, close together: a user's
    "Prime Minister Kakar" is the text's "Prime Minister Anwaar-ul Haq Kakar" and "Mianwali Air
    Base" its "Mianwali Training Air Base", but "Radar Princess" is not "Twilight Princess" in an
    article that mentions Games Radar. Each word is matched as loosely as a name ("Pakistani" finds
    "Pakistan"), and full stops are ignored ("D.C." is "DC")."""
    if not phrases:
        return set()
    text = folded(evidence).replace(".", "")
    missing = {phrase for phrase in phrases if not _phrase_in(phrase.split(), text)}
    if missing:  # a word typed one letter off: "Khurram Iqbal" for the text's "Khuram Iqbal"
        words = set(re.findall(r"\w+", text))
        missing = {phrase for phrase in missing
                   if not _phrase_in([respelt(folded(p.lower()), words) or p for p in phrase.split()], text)}
    return missing


def _phrase_in(words: list[str], text: str) -> bool:
    """The words close together in any order: a question's "the Williams Formula One team" is the
    text's "Formula One racing team Williams". Longer names keep their order (permutations grow fast
    and a name of four words is rarely reordered)."""
    stems = [re.escape(folded(name_stem(w.lower())).replace(".", "")) + r"\w*" for w in words]
    orders = permutations(stems) if len(stems) <= _REORDERED else [stems]
    return any(re.search(_BETWEEN.join(order), text) for order in orders)


def figures_of(text: str) -> dict[str, tuple[str, set[tuple[bool, float]]]]:
    """What each figure in the text counts, by the word after it (stemmed, with the word as written):
    "five minutes" -> {"minut": ("minutes", {5})}, "the thirty-fourth James Bond film" -> {"jame":
    ("james", {34, ordinal})}, "16 October" -> {"octob": ("october", {16})}.

    A figure with no word after it is filed under the word right before it, over "about", "over"
    and the like: "the crew numbered over one thousand," -> {"<number": ("numbered", {1000})},
    "finished second at" -> {"<finish": ("finished", {2nd})}. "2 other women" counts three women
    as well as two: whoever joins them is one more. One after a function word ("in
    2015", "of 0.6") or a year or decade ("by 1730,", "the 1700s") counts nothing and is left out.
    """
    words = _FIGURE_WORD.findall(re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text.lower()))
    found: dict[str, tuple[str, set[tuple[bool, float]]]] = {}
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and _is_figure_word(words[j]) and not (j > i and _ends_a_figure(words[j - 1], words[j])):
            j += 1
        if j == i:
            i += 1
            continue
        value = _value(words[i:j])
        after = j
        while after < len(words) and words[after] in _FILLERS:
            after += 1
        word = "percent" if after < len(words) and words[after] == "%" else words[after] if after < len(words) else ""
        stems = tokenize(word)
        if value is not None and stems:
            found.setdefault(stems[0], (word, set()))[1].add(value)
            if "other" in words[j:after] and not value[0]:  # "she joined 2 other women": three women in all
                found[stems[0]][1].add((False, value[1] + 1))
        elif value is not None and not _YEAR_LIKE.fullmatch(words[i]):
            before = i - 1
            while before >= 0 and words[before] in _APPROXIMATELY:
                before -= 1
            stems = tokenize(words[before]) if before >= 0 and words[before][0].isalpha() else []
            if stems:
                found.setdefault("<" + stems[0], (words[before], set()))[1].add(value)
        i = max(j, i + 1)
    return found


_APPROXIMATELY = frozenset("over about around nearly almost roughly approximately some just only under exactly "
                           "more less than least".split())
_YEAR_LIKE = re.compile(r"1\d{3}s?|20\d\ds?")


def _ends_a_figure(previous: str, word: str) -> bool:
    """Two numerals are two figures ("June 1, 2013", "in 2023, 15 were"); "two hundred", "3 million"
    and "thirty fourth" are one."""
    return word[0].isdigit() or (previous[0].isdigit() and word not in _SCALES)


def contradicted_figures(question: str, evidence: str) -> list[str]:
    """What the question counts that the evidence counts differently and never as asked: "five
    minutes" asked, "three minutes" said gives ["minutes"]."""
    said = figures_of(evidence)
    contradicted = []
    for stem, (word, values) in figures_of(question).items():
        # "the third album" and "3 albums" say different things; only a figure of the same kind can contradict
        same_kind = {v for v in said.get(stem, ("", set()))[1] if any(v[0] == asked[0] for asked in values)}
        if same_kind and not values & same_kind:
            contradicted.append(word)
    return contradicted


# Words that say which way a figure compares; each pair says opposite things of the same figure.
_OPPOSITES: dict[str, frozenset[str]] = {}
for _a, _b in (("more", "less"), ("more", "fewer"), ("higher", "lower"), ("larger", "smaller"), ("greater", "less"),
               ("above", "below"), ("over", "under"), ("before", "after"), ("earlier", "later"),
               ("increase", "decrease"), ("increased", "decreased"), ("rose", "fell"), ("gained", "lost")):
    _OPPOSITES[_a] = _OPPOSITES.get(_a, frozenset()) | {_b}
    _OPPOSITES[_b] = _OPPOSITES.get(_b, frozenset()) | {_a}
_COMPARED = re.compile(r"\$?\d[\d,.]*(?:\s*(?:%|percent|thousand|million|billion))?")


def reversed_comparisons(question: str, evidence: str) -> list[str]:
    """A figure the question compares one way that the evidence compares the other way and never as
    asked: "$20 million more than" asked, "$20 million less than" said gives ["$20 million more"]."""
    asked, said = question.lower(), evidence.lower()
    reversed_ = []
    for m in _COMPARED.finditer(asked):
        figure = m.group().rstrip(",.")
        way = next((w for w in re.findall(r"[a-z]+", asked[m.end():])[:3] if w in _OPPOSITES), None)
        if way is None:
            continue
        ways_said = [set(re.findall(r"[a-z]+", said[i + len(figure):])[:3])
                     for i in (k.start() for k in re.finditer(re.escape(figure) + r"(?![\d.,]\d)", said))]
        if ways_said and not any(way in w for w in ways_said) and any(w & _OPPOSITES[way] for w in ways_said):
            reversed_.append(f"{figure} {way}")
    return reversed_


def _is_figure_word(word: str) -> bool:
    return word[0].isdigit() or word in _NUMBER_WORDS or word in _ORDINAL_WORDS or word in _SCALES


def _value(words: list[str]) -> tuple[bool, float] | None:
    """(ordinal, value) of a run of figure words: "two hundred" -> 200, "thirty fourth" -> 34th."""
    total = current = 0.0
    ordinal = False
    for word in words:
        if word[0].isdigit():
            digits = re.match(r"[\d,]*\.?\d+", word)
            if digits is None:
                return None
            current += float(digits.group().replace(",", ""))
            ordinal = ordinal or word.endswith(("st", "nd", "rd", "th"))
        elif word in _SCALES:
            current = max(current, 1.0) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0.0
        else:
            current += float(_NUMBER_WORDS.get(word) or _ORDINAL_WORDS[word])
            ordinal = ordinal or word in _ORDINAL_WORDS
    return ordinal, total + current


def facts_of(text: str) -> Facts:
    return Facts(numbers_in(text), names_in(text))


def missing_facts(facts: Facts, evidence: str) -> set[str]:
    """Facts of a sentence that the evidence does not contain (names matched as words, loosely)."""
    numbers = numbers_in(evidence)
    lower = folded(evidence)
    undotted = lower.replace(".", "")  # "US" names what a text writes "U.S."
    unspaced = lower.replace(" ", "")  # "Superbowl" names what a text writes "Super Bowl"
    missing = {n for n in facts.numbers if n not in numbers}
    missing.update(n for n in facts.names if not any(folded(name_stem(n)) in form for form in (lower, undotted, unspaced)))
    if any(len(n) >= MISSPELT_LENGTH for n in missing):
        words = set(re.findall(r"\w+", lower))
        missing -= {n for n in missing if respelt(folded(n), words)}
    return missing


# A name of at least this many letters may be typed one letter off; a shorter one differs in meaning
# as often ("Iran", "Iraq").
MISSPELT_LENGTH = 5


def respelt(name: str, words: Iterable[str]) -> str | None:
    """The word of ``words`` that ``name`` is typed one letter off for, if any (``spelt_alike``)."""
    return next((w for w in words if spelt_alike(name, w)), None)


def spelt_alike(name: str, word: str) -> bool:
    """``word`` is ``name`` (both folded) with one letter added, dropped, changed, or two neighbours
    swapped: "Khurram" typed for "Khuram", "Batut" for "Bataut". The first letter must agree, which
    keeps "Prussia" from naming "Russia". Written out rather than taken from a fuzzy-matching
    library: one bounded comparison, where a library would be another dependency."""
    if len(name) < MISSPELT_LENGTH or name[0] != word[:1] or abs(len(name) - len(word)) > 1 or name == word:
        return False
    short, long_ = sorted((name, word), key=len)
    i = next((k for k, (a, b) in enumerate(zip(short, long_)) if a != b), len(short))
    if len(short) < len(long_):
        return short[i:] == long_[i + 1:]
    swapped = (short[i + 1:i + 2] == long_[i:i + 1] and short[i:i + 1] == long_[i + 1:i + 2]
               and short[i + 2:] == long_[i + 2:])
    return short[i + 1:] == long_[i + 1:] or swapped


def missing_names(names: frozenset[str], evidence: str) -> set[str]:
    """The names the evidence lacks (a question's names against a passage, say)."""
    return missing_facts(Facts(frozenset(), names), evidence)


def name_stem(name: str) -> str:
    """Enough of a name to match its other forms: "Pakistani" finds "Pakistan", "Iranian" "Iran",
    "Chinese" "China", and a model's plural ("DB10s") the model ("DB10")."""
    if re.fullmatch(r"\w*\d[sS]", name):
        return name[:-1]
    if name.lower().endswith("ese") and len(name) >= 7:
        return name[:-3]
    return name[:max(min(5, len(name)), len(name) - 3)]
