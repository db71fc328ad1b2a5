"""Months, years and dates as they appear in running text ("March 2024", "in 2023", "11.06.2024")."""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
# Any case ("in january 2023", as users type), except "May", which only its capital tells from the verb.
_MONTH_NAMES = "(?i:" + "|".join(m for m in MONTHS if m != "may") + ")|May"
MONTH = re.compile(rf"\b({_MONTH_NAMES})\b")
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# Any year a question or an encyclopaedia may name (1500-2099: "Chopin was born in 1810").
ANY_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")
# A sentence that can answer "when": it names a year (1800-2099) or a month.
DATE_MENTION = re.compile(rf"\b(1[89]\d\d|20\d\d)\b|\b({_MONTH_NAMES})\b")
# A length of time rather than a point in it: "nine months", "two decades", "25 years old", "aged
# 21", "1939 to 1945"; not "October 2001" or "2010", which say when, not how long.
LENGTH_OF_TIME = re.compile(r"\b(?:seconds?|minutes?|hours?|days?|nights?|weeks?|fortnights?|months?|years?|"
                            r"decades?|centur(?:y|ies)|millenni(?:um|a)|age|aged|old)\b|"
                            r"\b\d{4}\s*(?:-|–|—|to|until|till)\s*\d{2,4}\b", re.I)


# A full date as documents write it: ISO, day.month.year, "June 11, 2024".
_ISO = re.compile(r"\b(20\d\d|19\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
_DOTTED = re.compile(r"\b(0[1-9]|[12]\d|3[01])\.(0[1-9]|1[0-2])\.((?:19|20)\d\d)\b")
_WRITTEN = re.compile(r"\b(" + "|".join(m.capitalize() for m in MONTHS) + r")\s+(\d{1,2}),\s+((?:19|20)\d\d)\b")


@dataclass(frozen=True)
class DateMention:
    iso: str  # YYYY-MM-DD
    start: int  # where the text writes it
    end: int


def date_in(text: str) -> DateMention | None:
    """The text's first full date, ISO first, then day.month.year, then "June 11, 2024"."""
    if match := _ISO.search(text):
        return DateMention(match.group(0), *match.span())
    if match := _DOTTED.search(text):
        day, month, year = match.groups()
        return DateMention(f"{year}-{month}-{day}", *match.span())
    if match := _WRITTEN.search(text):
        month, day, year = match.groups()
        return DateMention(f"{year}-{month_number(month):02d}-{int(day):02d}", *match.span())
    return None


def without_dates(text: str) -> str:
    """The text with its ISO and day.month.year dates taken out ("Author: Jane Doe 11.06.2024")."""
    return _DOTTED.sub("", _ISO.sub("", text))


def months_in(text: str) -> set[str]:
    return {m.group().lower() for m in MONTH.finditer(text)}


# "2022-23", "2022/23", "2019–2023"; not a date ("2008-11-01", "2003/12/05") nor "2019 - 20 people"
_YEAR_SPAN = re.compile(r"(?<![\d/–-])\b((?:1[5-9]|20)\d\d)[-–/]((?:1[5-9]|20)?\d\d)\b(?![/–-]\d)")
_LONGEST_YEAR_SPAN = 20  # years; a longer "1900-2000" is a period, not a season or a fiscal year


def years_in(text: str) -> set[str]:
    return set(YEAR.findall(text))


def years_named(text: str) -> set[str]:
    """Every year the text names, 1500-2099 (``years_in`` reads 1900-2099 only); a span names each
    year in it: a figure for "2022-23" answers a question about 2023 too."""
    years = set(ANY_YEAR.findall(text))
    for start, end in _YEAR_SPAN.findall(text):
        first, last = int(start), int(end if len(end) == 4 else start[:2] + end)
        last += 100 if len(end) == 2 and last < first else 0  # "1999-00"
        if 0 < last - first <= _LONGEST_YEAR_SPAN:
            years.update(str(year) for year in range(first, last + 1))
    return years


# A year a figure is compared with, not the one the sentence reports: "rose to 96, up from 81 in
# 2023", "$214.6 million, compared with $198.3 million in 2023", "more attacks than in 2022",
# "(2023: 31 km)", "(81 in 2023)". A hedge is no comparison: "more than 1,200 people were killed in
# 2023" reports 2023, and so does "visitors from 40 countries arrived in 2023".
_YEAR = r"(?:1[5-9]|20)\d\d\b"
_SPAN = r"(?:[^,;()]|,(?=\d)){0,40}?"  # the figure compared, its thousands' commas allowed: "from 143,900 in 2023"
_CHANGE = r"\b(?:up|down|ris\w*|rose|fell|fall\w*|increas\w*|decreas\w*|gr[eo]w\w*|dropp?\w*|climb\w*|declin\w*|jump\w*)\b"
_COMPARED = re.compile(rf"{_CHANGE}(?:[^,;.()]|[,.](?=\d)){{0,40}}?\bfrom\s+[$€£]?\d{_SPAN}\b(?:in|during)\s+{_YEAR}|"
                       rf"\bcompared (?:with|to)\s+(?:{_SPAN}\b(?:in|during|for)\s+)?{_YEAR}|"
                       rf"\bthan (?:in|during) {_YEAR}|\({_YEAR}:[^()]*\)|"
                       rf"\(\s*[$€£]?\d[^()]{{0,30}}?\b(?:in|during)\s+{_YEAR}\s*\)", re.I)


def years_reported(text: str) -> set[str]:
    """The years a sentence gives figures for, less those it only compares with: "Assaults rose to
    96, up from 81 in 2023" reports no year of its own (its document's title may say 2024), where
    "789 attacks took place in 2023 alone" reports 2023."""
    return years_named(_COMPARED.sub(" ", text))


def month_number(name: str) -> int:
    """1 for "January" (any case)."""
    return MONTHS.index(name.lower()) + 1
