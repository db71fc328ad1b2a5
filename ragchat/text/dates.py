"""Months and years as they appear in running text ("March 2024", "in 2023")."""

from __future__ import annotations

import re

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
_MONTH_NAMES = "|".join(MONTHS)
MONTH = re.compile(rf"\b({_MONTH_NAMES})\b", re.I)
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# Any year a question or an encyclopaedia may name (1500-2099: "Chopin was born in 1810").
ANY_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")
# A sentence that can answer "when": it names a year (1800-2099) or a month.
DATE_MENTION = re.compile(rf"\b(1[89]\d\d|20\d\d)\b|\b({_MONTH_NAMES})\b", re.I)


def months_in(text: str) -> set[str]:
    return {m.group().lower() for m in MONTH.finditer(text)}


def years_in(text: str) -> set[str]:
    return set(YEAR.findall(text))


def month_number(name: str) -> int:
    """1 for "January" (any case)."""
    return MONTHS.index(name.lower()) + 1
