"""Terms: the words that carry a text's topic, folded so that different forms of a word match.

BM25, evidence strength, the extractive chooser and follow-up detection all compare texts by
these terms, so they must agree on them: one tokenizer, one stopword list.
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"\w+", re.UNICODE)  # index terms: letters and digits only
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")
_FOOTNOTE = re.compile(r"(?<=[^\W\d_]{3})\d{1,3}\b")  # three letters, then digits: "refugees36", not "G20" or "mp3"
# Words as a reader sees them, inner punctuation kept: "4,000", "72%", "$5", "Pakistan-Afghanistan".
_WORD = re.compile(r"[\w$%][\w,.'%$-]*[\w%]|\w")
STOPWORDS = frozenset(
    "a an and are as at be been but by did do does for from had has have he her his how i if in into is it its "
    "me my of on or our she so than that the their them then there these they this those to was we were what "
    "when where which who whom why will with would you your about after also any can could more most not over "
    "such up".split()
)


def tokenize(text: str) -> list[str]:
    """Folded (lower case, no accents), stemmed content words in order (stopwords dropped).

    A possessive adds no word ("Pakistan's" is "pakistan", not "pakistan" and "s"), and a footnote
    number glued to a word is not part of it ("refugees36" is "refugee": "how many refugees" must
    find it)."""
    text = _FOOTNOTE.sub("", without_possessives(folded(text)))
    return [stem(w) for w in _TOKEN.findall(text) if w not in STOPWORDS]


def without_possessives(text: str) -> str:
    """``text`` without the "'s" of its possessives: "the Yongle Emperor's" names the Yongle Emperor."""
    return _POSSESSIVE.sub("", text)


def folded(text: str) -> str:
    """Lower case without accents: a question typed "Deja Vu" or "Dereon" names what a document spells
    "Déjà Vu" and "Deréon"; every check of whether a text names something compares folded forms."""
    if text.isascii():
        return text.lower()
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def stem(word: str) -> str:
    """Fold the commonest English endings so 'attacks' finds 'attack'; numbers pass unchanged."""
    if word.isdigit() or len(word) <= 3:
        return word
    for suffix, keep in (("'s", ""), ("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            if suffix == "es" and not word.endswith(("ches", "shes", "xes", "sses")):
                continue
            return word[: -len(suffix)] + keep
    return word


def words(text: str) -> list[str]:
    """Words with their inner punctuation, case kept: what a reader would pick out as names and figures."""
    return _WORD.findall(text)


def lexical_overlap(query: str, text: str) -> float:
    """Share of the query's content words that the text contains (stemmed like BM25)."""
    wanted = set(tokenize(query))
    return len(wanted & set(tokenize(text))) / len(wanted) if wanted else 0.0
