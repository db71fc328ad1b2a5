"""What a question asks for: the kind of answer, the things and constraints it names, its parts.

The chooser needs to know what would *answer* a question, not only what is *about* it: "Who
carried out the attack?" is answered by a sentence naming a person or group the question does not
already name, "When ...?" by a date. Everything here is generic English question grammar (wh-words
and the nouns after "what"/"which"), never words of one corpus, so it holds on any library.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ragchat.text.abbreviations import ASKS_LONG_FORM, abbreviation_asked
from ragchat.text.dates import ANY_YEAR, LENGTH_OF_TIME, MONTH, years_named
from ragchat.text.facts import names_in, numbers_in
from ragchat.text.ordinals import place_asked
from ragchat.text.terms import STOPWORDS, tokenize

# Expected answer kinds. "typed" kinds are answered by a phrase of a known entity type.
PERSON, PLACE, DATE, NUMBER, PERCENT, WORK = "person", "place", "date", "number", "percent", "work"
DURATION = "duration"  # how long / how old / how often
EXPANSION = "expansion"  # what an abbreviation stands for
REASON, DESCRIPTION, YESNO, LIST, OTHER = "reason", "description", "yesno", "list", "other"
TYPED = frozenset({PERSON, PLACE, DATE, NUMBER, DURATION, PERCENT, WORK, EXPANSION})
MEASURED = frozenset({NUMBER, DURATION, PERCENT})  # answered by a figure, in the unit asked for if one is

# spaCy (OntoNotes) entity labels that answer each typed kind; "PROPER" is the fallback tagger's
# capitalised run (chatbot.entities), which may be a person, a place or a title.
ENTITY_LABELS: dict[str, frozenset[str]] = {
    PERSON: frozenset({"PERSON", "ORG", "NORP", "PROPER"}),
    PLACE: frozenset({"GPE", "LOC", "FAC", "PROPER"}),
    DATE: frozenset({"DATE", "TIME"}),
    NUMBER: frozenset({"CARDINAL", "QUANTITY", "MONEY"}),
    # OntoNotes labels a span of time ("five years", "nine months", "25 years old") DATE or TIME, as
    # it does a point in time: Analysis.answered_by tells them apart. "How long" may also ask a
    # length, a QUANTITY, and "how old" an age written as a bare figure, a CARDINAL.
    DURATION: frozenset({"DATE", "TIME", "QUANTITY", "CARDINAL"}),
    PERCENT: frozenset({"PERCENT"}),
    WORK: frozenset({"WORK_OF_ART", "PRODUCT", "EVENT", "LAW", "ORG", "PROPER"}),
    EXPANSION: frozenset({EXPANSION}),  # a long form the sentence defines (ragchat.text.abbreviations)
}

# The noun after "what"/"which" ("what city", "which company") names the kind of thing asked for.
_HEAD_KINDS: dict[str, str] = {}
for _kind, _nouns in {
    PERSON: "person people man woman men women artist singer writer author actor actress player leader president "
            "king queen emperor ruler member group band company companies organization organisation organisations "
            "organizations party army team agency firm government minister director producer manager brand label "
            "nationality ethnicity tribe dynasty family university school college engineer composer teacher "
            "ceo founder designer rapper dancer poet painter spokesperson spokesman chief commander "
            "princess duchess countess empress goddess hostess heiress",
    PLACE: "city cities country countries state states place places region regions province district town towns "
           "village area areas continent island location county capital neighborhood neighbourhood borough street "
           "river mountain building venue site base port airport border crossing pass valley",
    DATE: "year years date day days month months decade century era time period season",
    NUMBER: "number amount price cost population size length height weight distance age total sum count capacity toll "
            "speed temperature depth width budget revenue salary income value",
    PERCENT: "percentage percent share proportion fraction rate",
    WORK: "album albums song songs film films movie movies book books novel novels show series game games title "
          "award awards event events law treaty product products single singles",
}.items():
    for _noun in _nouns.split():
        _HEAD_KINDS[_noun] = _kind

_AUX = r"(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|may|might|must)"
_WHAT = re.compile(r"\b(?:what|which|whose)\b", re.I)
_VERBS = frozenset(_AUX[3:-1].split("|"))
_DOING = _VERBS - {"is", "are", "was", "were"}  # "what did X ...": the noun after it is the subject
_SKIP = frozenset(f"{_AUX[3:-1]} the a an of kind kinds type types sort sorts form forms one ones two three four five "
                  "other another first last main major largest biggest most only original new".replace("|", " ").split())
_AGENT = re.compile(r"^[a-z]{3,}(?:ist|ian|tress)(?:es|s)?$")  # journalist, historian, actress: people ("process" is not)
_PERCENT = re.compile(r"\b(what|which) (?:percentage|percent|share|proportion|fraction)\b|\bhow much of\b|"
                      r"\bby (?:what|how much) (?:percentage|percent)\b", re.I)
_CHANGE = re.compile(r"\bby how (?:much|many)\b|\bhow (?:much|many)\b[^?]*\bby\W*$", re.I)
_AGE = re.compile(r"\bhow old\b|\bat what age\b", re.I)
_DURATION = re.compile(r"\bhow (?:long|old|often)\b|\bat what age\b|\bfor how many (?:years|months|weeks|days|hours)\b", re.I)
_NUMBER = re.compile(r"\bhow (?:many|much|far|big|large|tall|high|fast|deep|wide)\b|"
                     r"\bwhat (?:was |is |were |are )?the (?:number|amount|total|population|size|area|cost|price)\b", re.I)
_DATE = re.compile(r"^\s*(?:since |until |till |by )?when\b|\b(?:since|by) when\b|\bwhen\W*$", re.I)
_PERSON = re.compile(r"^\s*(?:who|whom|whose)\b|\b(?:by|to|for|with|from) whom\b|\bwho\W*$|, who\b", re.I)
_PLACE = re.compile(r"^\s*where\b|\bwhere\W*$|, where\b", re.I)
_REASON = re.compile(r"^\s*why\b|\bwhy\b|\bwhat (?:caused|causes|led to|leads to|made)\b|\bfor what reason\b|"
                     r"\bwhat (?:is|was|were|are) the (?:reason|cause|purpose|motive)s?\b|\bhow come\b", re.I)
_DESCRIPTION = re.compile(r"^\s*(?:describe|explain|discuss|summari[sz]e|outline|tell me about)\b|"
                          r"^\s*what (?:is|are|was|were) (?:a |an |the )?[\w -]+\?*$|^\s*how (?:do|does|did|is|are|was|were|can|could|should|would|has|have)\b|"
                          r"\bwhat role\b|\bwhat (?:happened|does .* mean)\b", re.I)
_YESNO = re.compile(rf"^\s*{_AUX}\b", re.I)
_LIST = re.compile(r"^\s*(?:list|name|what are (?:the|some)|which (?:\w+ )?(?:countries|groups|states|companies|cities|people|members))\b|"
                   r"\bwhat (?:\w+ )?(?:are|were) (?:the |some )?(?:main |key |major )?\w+s\b(?! of)", re.I)
_ATTRIBUTION = re.compile(r"\baccording to ((?:[\w.'’-]+\s?){1,5}?)(?=[,;?]|\s+(?:how|what|which|who|when|where|why|is|are|was|"
                          r"were|did|do|does|has|have)\b|$)", re.I)
_COUNTED = re.compile(r"\bhow many ((?:[\w-]+ ){0,3}?[\w-]+?)(?= (?:did|do|does|were|was|are|is|have|has|had|will|would|"
                      r"could|in|of|on|at|from|per|across|by|for|during)\b|\?|$)", re.I)
_IRREGULAR_PLURALS = frozenset("people men women children police cattle mice teeth feet geese data media aircraft "
                               "personnel staff".split())
_QUESTION_WORDS = frozenset("how what which who whom whose when where why many much long often far name number kind "
                            "type sort according".split())

# -- the parts of a multi-part question ------------------------------------------------------
_PREPOSITIONS = r"according to|from|in|for|by|on|at|during|since|about|between|to"
# "..., and how many in 2024?", "..., and by what percentage did it rise?"
_WH_JOIN = re.compile(rf",?\s+and\s+(?=(?:(?:{_PREPOSITIONS})\s+)?(?:how|what|which|who|whom|when|where|why)\b)", re.I)
_REPEATED = re.compile(rf",?\s+and\s+(?:again\s+|also\s+|then\s+)?(?P<p>{_PREPOSITIONS})\s+(?=\S)", re.I)
_ASKS = re.compile(rf"(how|what|which|who|whom|when|where|why|{_AUX[3:-1]})\b", re.I)
_QUESTION_WORD = re.compile(r"\b(how|what|which|who|whom|when|where|why)\b", re.I)
_ANAPHOR = frozenset("they them their it its this that these those he she his her".split())
_PART_FILLER = frozenset("many much long often far name number".split())
_PRONOUN = frozenset("they them their it its he him his she her".split())  # "this", "that": too often no pronoun


@dataclass(frozen=True)
class Analysis:
    """A question taken apart: what would answer it and what it already says."""

    text: str
    kind: str  # one of the kinds above (PERSON ... OTHER)
    terms: frozenset[str]  # content-word stems, question words removed
    names: frozenset[str]  # capitalised names it mentions (lower case)
    numbers: frozenset[str]  # figures it mentions, years included
    years: frozenset[str]
    months: frozenset[str]
    source: str  # who the answer must come from: "according to X" -> "X"
    counted_phrase: str  # what "how many" counts, in the question's words ("TTP attacks")
    counted: frozenset[str]  # its stems
    counted_names: frozenset[str]  # the names qualifying it ("ttp" in "how many TTP fighters")
    parts: tuple[str, ...]  # the separate questions of a multi-part question; (text,) if one
    several: bool  # it asks for more than one thing of its kind: "Which countries ...", "What books ..."
    abbreviation: str = ""  # what an EXPANSION question asks to spell out ("ISPR")
    place: int = 0  # the place in a list asked for: "the fourth step" -> 4 (ragchat.text.ordinals)
    listed: str = ""  # the words naming what that list lists: "step"

    @property
    def typed(self) -> bool:
        return self.kind in TYPED

    @property
    def labels(self) -> frozenset[str]:
        """Entity labels that would answer it (empty for untyped kinds)."""
        return ENTITY_LABELS.get(self.kind, frozenset())

    def answered_by(self, label: str, text: str) -> bool:
        """An entity of this label and text is of the kind asked: "How long did the hiatus last?"
        is answered by "nine months" (a DATE to spaCy) but not by "October 2001" (a DATE too); a
        bare figure answers "how old", not "how long"; a change's size ("By how much did attacks
        rise?") may be a share, "73 percent", where a count ("how many attacks") may not."""
        if self.kind == NUMBER and label == "PERCENT":
            return bool(_CHANGE.search(self.text))
        if label not in self.labels:
            return False
        if self.kind != DURATION or label == "QUANTITY" or LENGTH_OF_TIME.search(text):
            return True
        return label == "CARDINAL" and bool(_AGE.search(self.text))

    @property
    def broad(self) -> bool:
        """Answered by several sentences rather than one fact."""
        return self.kind in (REASON, DESCRIPTION, LIST) or len(self.parts) > 1


def analyse(question: str) -> Analysis:
    text = " ".join(question.strip().split())
    source = attributed_source(text)
    kind = answer_kind(text)
    counted = counted_phrase(text)
    place, listed = place_asked(text)
    return Analysis(
        text=text, kind=kind, terms=frozenset(content_terms(text)),
        names=names_in(text),
        numbers=numbers_in(text), years=frozenset(years_named(text)),
        months=frozenset(m.lower() for m in MONTH.findall(text)), source=source,
        counted_phrase=counted, counted=frozenset(tokenize(counted)), counted_names=counted_names(counted),
        parts=tuple(sub_questions(text)), several=asks_several(text),
        abbreviation=abbreviation_asked(text) if kind == EXPANSION else "", place=place, listed=listed)


def answer_kind(question: str) -> str:
    """The kind of answer a question expects, from its wh-word and the noun after "what"/"which".

    Order matters: "what percentage" before "how much", "how many" before "when", and the noun
    after "which" before the wh-word's own default ("Which city ..." asks for a place).
    """
    q = question.strip()
    if abbreviation_asked(q):
        return EXPANSION
    for pattern, kind in ((_PERCENT, PERCENT), (_DURATION, DURATION), (_NUMBER, NUMBER), (_REASON, REASON)):
        if pattern.search(q):
            return kind
    head = _head_kind(q)
    if head:
        return head
    for pattern, kind in ((_PERSON, PERSON), (_PLACE, PLACE), (_DATE, DATE)):
        if pattern.search(q):
            return kind
    if _YESNO.match(q):
        return YESNO
    for pattern, kind in ((_LIST, LIST), (_DESCRIPTION, DESCRIPTION)):
        if pattern.search(q):
            return kind
    return OTHER


def _head_kind(question: str) -> str:
    """The kind named by a noun among the first words after "what"/"which" ("which music journalist" -> person)."""
    for own in _head_words(question):
        for word in own:
            if word in _HEAD_KINDS:
                return _HEAD_KINDS[word]
            if _AGENT.match(word):
                return PERSON
    return ""


def asks_several(question: str) -> bool:
    """The noun after the first "what"/"which" is plural: "Which countries have echoed ...?" is
    answered by "Iran, Tajikistan and China", not by "Iran"."""
    for word in next(_head_words(question), [])[:2]:
        if _plural(word):
            return True
        if word in _HEAD_KINDS:  # a singular head: "Which city hosts ...?"
            return False
    return False


def _head_words(question: str) -> Iterator[list[str]]:
    """For each "what"/"which", up to three lower-case words after it that are not function words.
    None after "what did", "what has", "what can" ...: the noun that follows is the subject, not what
    is asked ("What did the monitoring team say?" asks no team), unlike after "what is the" ("What is
    the capital ...?")."""
    for match in _WHAT.finditer(question):
        words = _next_words(question[match.end():])
        if words and words[0].lower() in _DOING:
            continue
        # the question's subject follows its verb: "What economic option does the author recommend?"
        words = words[:next((i for i, w in enumerate(words) if i and w.lower() in _VERBS), len(words))]
        # The noun may follow modifiers and names: "music journalist", "Pakistan Air Force base".
        # "the name of the minister" asks for a minister; "What names were on the ballot?" for names
        yield [w.lower() for i, w in enumerate(words) if w.lower() not in _SKIP and not w[:1].isupper()
               and not (w.lower() in ("name", "names") and words[i + 1:i + 2] == ["of"])][:3]


def _next_words(text: str, limit: int = 6) -> list[str]:
    """The words that start ``text``, up to its ``limit``-th that is not a name: names and a
    possessive's "s" do not use the window up ("What was the Lakeside Water Authority's total
    revenue ...?" still reaches "total")."""
    words, plain = [], 0
    for word in re.findall(r"[A-Za-z-]+", text):
        if word == "s":
            continue
        if not word[:1].isupper():
            plain += 1
            if plain > limit:
                break
        words.append(word)
    return words


def content_terms(text: str) -> list[str]:
    """The question's own words (stemmed), without question words, so coverage counts only what it is
    about; an abbreviation question's frame ("stand for", "acronym") is not what it is about either."""
    text = ASKS_LONG_FORM.sub(" ", text)
    return [t for t in tokenize(text) if t not in _QUESTION_WORDS and t not in STOPWORDS]


def counted_phrase(question: str) -> str:
    """What "how many" counts, as the question words it, through its first plural noun: "TTP
    attacks" in "how many TTP attacks took place in 2024", not the verb after it; "" when it counts
    people or times (every count of people answers "how many people")."""
    match = _COUNTED.search(question)
    if not match or match.group(1).split()[0].lower() in STOPWORDS | {"people", "times"}:
        return ""
    words = match.group(1).split()
    end = next((i for i, w in enumerate(words) if _plural(w.lower())), len(words) - 1)
    while end + 1 < len(words) and _plural(words[end + 1].lower()):  # "news channels", "Reuters journalists"
        end += 1
    return " ".join(words[:end + 1])


def _plural(word: str) -> bool:
    return word in _IRREGULAR_PLURALS or (len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")))


def counted_names(phrase: str) -> frozenset[str]:
    """The names qualifying what "how many" counts, the capitalised words leading it ("ttp" in "how
    many TTP fighters ..."): fighters of another group counted do not answer it. Names after the
    counted noun are not qualifiers ("how many terrorist attacks hit Pakistan"), and a phrase that is
    all name counts the name's bearers ("how many New Yorkers", answered by "19,000 residents")."""
    words = phrase.split()
    leading = list(itertools.takewhile(lambda w: w[:1].isupper(), words))
    return names_in("of " + " ".join(leading)) if leading and len(leading) < len(words) else frozenset()


def attributed_source(question: str) -> str:
    """Who the answer must come from: "according to X" -> "X"; "" when the question names no one."""
    match = _ATTRIBUTION.search(" ".join(question.split()))
    return match.group(1).strip(" ,.") if match else ""


def sub_questions(question: str) -> list[str]:
    """The separate questions a multi-part question asks, each able to stand alone; [question] if one.

    Three deterministic cues: a second question joined with "and how/what/which ..." ("How many
    attacks in 2023 and how many in 2024?", "..., and by what percentage did it rise?"); one
    question asked of two things with a repeated preposition ("... from the partnership and from
    the Taliban", "according to A and according to B", "in 2023 and again in 2024"); and a statement before a colon or semicolon that sets the
    scene for the questions after it. A part too short to stand alone ("how many in 2024") borrows
    the other part's words, minus the figures it replaces; a part that only points back ("and how
    do they differ") is left to the answer of the part it points at.
    """
    text = " ".join(question.strip().split())
    preamble, body = "", text
    head, sep, tail = text.rpartition(":") if ":" in text else text.rpartition(";")
    if sep and head and not _QUESTION_WORD.match(head) and _QUESTION_WORD.search(tail):
        preamble, body = head.strip(), tail.strip()
    pieces = [p.strip(" ,?") for p in _WH_JOIN.split(body) if p.strip(" ,?")]
    if not pieces:
        return [question]
    if not _ASKS.match(pieces[0]):  # "X set up a mechanism with Y and which other country?" is one question
        pieces = [body.strip(" ,?")]
    if preamble:
        scenes = _split_repeated(preamble)
        if len(scenes) > 1 and len(pieces) == 1:  # "A went in 2023 and again in 2024; what was each visit about?"
            pieces = [f"{scene}; {pieces[0]}" for scene in scenes]
        else:
            pieces = [f"{preamble}: {p}" for p in pieces]
    elif len(pieces) == 1:
        pieces = _split_repeated(pieces[0])
    parts = [p for p in pieces if not _points_back(p)]
    if len(parts) < 2:
        return [question]
    return [_completed(p, parts, parts[i - 1] if i else "") + "?" for i, p in enumerate(parts)]


def _with_antecedent(part: str, before: str) -> str:
    """A part that says "it" or "they" and names nothing itself names, in brackets, what the part
    ``before`` it named: "how many meters will it install (Cedar Bend)" finds the pilot's sentence;
    "how many meters will it install" searched alone finds any meters. A part naming someone ("what
    did Imran Khan tell his wife") has its own antecedent."""
    if not before or not _PRONOUN & set(re.findall(r"[\w'-]+", part.lower())) or names_in(part):
        return part
    wanted = names_in(before)
    words = (w.removesuffix("'s").removesuffix("’s") for w in re.findall(r"[\w'’]+", before.replace("-", " ")))
    names = [w for w in words if w.lower() in wanted]
    return f"{part} ({' '.join(dict.fromkeys(names))})" if names else part


def _split_repeated(text: str) -> list[str]:
    """"X from A and from B" -> ["X from A", "X from B"]; [text] when no preposition repeats."""
    for match in _REPEATED.finditer(text):
        prep = match.group("p").lower()
        before = text[:match.start()]
        first = list(re.finditer(rf"\b{re.escape(prep)}\s", before, re.I))
        if not first:
            continue
        cut = first[-1].start()
        stem, a, b = before[:cut].rstrip(" ,"), before[cut:].strip(" ,"), text[match.end():].strip(" ,?")
        if stem and a and b:
            return [f"{stem} {a}", f"{stem} {prep} {b}"]
    return [text]


def _points_back(part: str) -> bool:
    """A part made of a pronoun and at most one word of its own that asks for no fact of its own:
    "how do they differ" comments on the other part, "when was it published" asks a date."""
    words = re.findall(r"[\w'-]+", part.lower())
    own = [w for w in tokenize(part) if w not in _PART_FILLER]
    return any(w in _ANAPHOR for w in words) and len(own) <= 1 and answer_kind(part) not in TYPED


def _completed(part: str, parts: list[str], before: str) -> str:
    """A part with fewer than two words of its own is the fullest part again with this part's figures.

    "How many attacks hit Pakistan in 2023 and how many in 2024?": the second part is "How many
    attacks hit Pakistan in 2024"; without figures to swap, the fullest part's words are appended
    in brackets.
    """
    own = [w for w in tokenize(part) if w not in _PART_FILLER and not numbers_in(w)]
    if len(own) >= 2:
        return _with_antecedent(part, before)
    donor = max(parts, key=lambda p: len(tokenize(p)))
    figures = ANY_YEAR.findall(part) or re.findall(r"\b\d[\d,.]*\b", part)
    donor_figures = ANY_YEAR.findall(donor) or re.findall(r"\b\d[\d,.]*\b", donor)
    if figures and len(donor_figures) == len(figures):
        swapped = donor
        for old, new in zip(donor_figures, figures):
            swapped = re.sub(rf"\b{re.escape(old)}\b", new, swapped, count=1)
        return swapped
    have = set(tokenize(part))
    borrowed = [w for w in re.findall(r"[\w'-]+", donor)
                if not numbers_in(w) and w.lower() not in have and tokenize(w) and not _QUESTION_WORD.fullmatch(w)]
    # in brackets, so a refusal naming the part still reads as the reader asked it: "who closed it (Torkham border)"
    return f"{part} ({' '.join(borrowed)})" if borrowed else part
