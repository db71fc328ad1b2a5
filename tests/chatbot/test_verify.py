"""Sentence offsets, marker parsing and the support check: what makes a citation checkable."""

from __future__ import annotations

import pytest

from chatbot.render import split_marked, with_markers
from chatbot.verify import SentenceEncoder, check
from ragchat.settings import AnswerSettings
from ragchat.text.facts import numbers_in
from ragchat.text.sentences import split_sentences

CONFIG = AnswerSettings()

PASSAGE = ("Tensions are high. A total of 789 TTP attacks in Pakistan took place in 2023 alone, the highest number "
           "since 2017. Dr. Khuram Iqbal counted 521 attacks in 2024.\n54. Reuters (2023) A reference entry.")


@pytest.fixture(scope="module")
def encoder(embeddings) -> SentenceEncoder:
    return SentenceEncoder(embeddings, 1000)


def test_sentence_offsets_give_back_the_exact_text():
    offset = 1000  # the passage's place in its document
    spans = split_sentences(PASSAGE, offset)
    assert [PASSAGE[s.start - offset:s.end - offset] for s in spans] == [s.text for s in spans]
    assert "Dr. Khuram Iqbal counted 521 attacks in 2024." in [s.text for s in spans]  # "Dr." does not end it
    assert "54. Reuters (2023) A reference entry." in [s.text for s in spans]  # a list number does not either


def test_a_footnote_number_after_a_full_stop_belongs_to_neither_sentence():
    """Quoted, "... seventeen soldiers.10 [2]." read as part of the sentence, and 10 as a figure of it."""
    text = "The raid killed seventeen soldiers.10 The army answered within a week.\nHe blamed the premeditated massacre.7"
    assert [s.text for s in split_sentences(text)] == ["The raid killed seventeen soldiers.",
                                                      "The army answered within a week.",
                                                      "He blamed the premeditated massacre."]


@pytest.mark.parametrize("text, first", [
    ("The ex-President of Def Jam L.A. Reid has described her as the greatest entertainer alive. She thanked him.",
     "The ex-President of Def Jam L.A. Reid has described her as the greatest entertainer alive."),
    ("Inspired by J.S. Bach, he wrote preludes. They were published later.", "Inspired by J.S. Bach, he wrote preludes."),
    ("He performed his Rondo Op. 1. This was the first of his works.", "He performed his Rondo Op. 1."),
    ("The city was a party to Massachusetts v. Environmental Protection Agency. It won.",
     "The city was a party to Massachusetts v. Environmental Protection Agency."),
    # a lone lower-case letter: reigns, dates of death, circa ("d. 1435" did end the quote at "(d.")
    ("The envoy Zhi Guang (d. 1435) went to Tibet in 1407. He returned.", "The envoy Zhi Guang (d. 1435) went to Tibet in 1407."),
    ("It was Tom Robinson's. Scout falls asleep.", "It was Tom Robinson's."),
])
def test_initialisms_and_abbreviations_do_not_end_a_sentence(text, first):
    """A quote cut at "L.A." loses the answer ("L.A. Reid") and cites half a sentence."""
    spans = split_sentences(text)
    assert [s.text for s in spans] == [first, text[len(first):].strip()]


def test_markers_stay_with_their_sentence_wherever_the_model_puts_them():
    sentences = split_marked("There were 789 attacks [1]. It was a record. [2][3] Dr. Iqbal counted 521 [4, 2].")
    assert [(s.text, s.markers) for s in sentences] == [
        ("There were 789 attacks.", [1]), ("It was a record.", [2, 3]), ("Dr. Iqbal counted 521.", [4, 2])]
    assert with_markers("It rose by 73 percent.", [1, 2]) == "It rose by 73 percent [1][2]."


def test_a_quoted_sentence_without_a_full_stop_does_not_run_into_the_next():
    """A post or a heading ends without punctuation: "... launched in Pakistan [3] The latest ..." read as one sentence."""
    assert with_markers("And from those hideouts, terrorist attacks are launched in Pakistan", [3]) == \
        "And from those hideouts, terrorist attacks are launched in Pakistan [3]."
    assert with_markers("Key findings:", [1]) == "Key findings: [1]"


def test_a_sentence_ending_in_an_abbreviation_keeps_its_full_stop_before_the_marker():
    """ "... open Tuesday to Thursday from 9:00 a.m. to 4:00 p.m." was shown "... 4:00 p.m [2]."."""
    marked = with_markers("The office is open from 9:00 a.m. to 4:00 p.m.", [2])
    assert marked == "The office is open from 9:00 a.m. to 4:00 p.m. [2]."
    assert [(s.text, s.markers) for s in split_marked(marked + " It is on level 2 [3].")] == [
        ("The office is open from 9:00 a.m. to 4:00 p.m.", [2]), ("It is on level 2.", [3])]


def test_numbers_compare_across_spelling():
    assert numbers_in("seven soldiers and 4,000 fighters") == {"7", "4000"}
    assert numbers_in("a stalemate1. After all") == frozenset()  # a glued footnote is not a figure


def test_verbatim_sentence_is_fully_supported_with_exact_offsets(encoder):
    verdict = check("A total of 789 TTP attacks in Pakistan took place in 2023 alone, the highest number since 2017.",
                    PASSAGE, 500, encoder, CONFIG)
    assert verdict.support == 1.0 and not verdict.missing
    assert PASSAGE[verdict.quote.start - 500:verdict.quote.end - 500] == verdict.quote.text
    assert verdict.quote.text.startswith("A total of 789")


def test_paraphrase_is_supported_by_the_right_quote(encoder):
    verdict = check("Pakistan suffered 789 TTP attacks in 2023, the most since 2017.", PASSAGE, 0, encoder, CONFIG)
    assert not verdict.missing
    assert "789" in verdict.quote.text and verdict.support >= 0.5


def test_a_changed_figure_or_name_is_caught(encoder):
    wrong_number = check("Pakistan suffered 987 TTP attacks in 2023, the most since 2017.", PASSAGE, 0, encoder, CONFIG)
    wrong_name = check("Dr. Asad Durrani counted 521 attacks in 2024.", PASSAGE, 0, encoder, CONFIG)
    assert wrong_number.missing == {"987"} and wrong_number.support < 0.5
    assert "durrani" in wrong_name.missing
