"""Hard-wrapped text read back as the paragraphs its writer meant, and nothing else joined."""

from __future__ import annotations

from ingest.cleaning import join_pages
from ragchat.text.sentences import split_sentences

WRAPPED_MARKDOWN = """# Border notes

The delegation, led by the deputy foreign minister of the interim government,
arrived in Islamabad on Monday for three days of talks about border security.
Officials said the visit was the first of its kind since 2021, and that trade
through the Torkham crossing would resume on 12 March after a five-week
closure. A second round is planned in Kabul, with cross-
border trade and the secu-
rity of the crossing on its agenda; security is the harder part.

Topics:
- trade through Torkham and Chaman, which had been closed to lorries for
  most of February
- refugee returns

| crossing | status |
| Torkham | open |

```
make run
make test
```
"""


def clean(text: str) -> str:
    """A file's text as ingest stores it."""
    return join_pages([text])[0]


def test_a_wrapped_markdown_paragraph_becomes_whole_sentences():
    sentences = [s.text for s in split_sentences(clean(WRAPPED_MARKDOWN))]
    assert ("The delegation, led by the deputy foreign minister of the interim government, arrived in Islamabad "
            "on Monday for three days of talks about border security.") in sentences
    # a line that ends in mid-sentence before a figure or a name is joined too
    assert ("Officials said the visit was the first of its kind since 2021, and that trade through the Torkham "
            "crossing would resume on 12 March after a five-week closure.") in sentences
    # a word broken at a line's end is whole where the document writes it whole elsewhere
    assert ("A second round is planned in Kabul, with cross-border trade and the security of the crossing on its "
            "agenda; security is the harder part.") in sentences


def test_a_line_left_short_by_a_long_word_after_it_is_joined():
    """A wrapped line is short where the next word would not fit: a link before its long address."""
    text = ("The delegation, led by the deputy foreign minister of the interim government,\n"
            "arrived in Islamabad on Monday for three days of talks about border security,\n"
            "says [the annual\n"
            "report](https://example.org/reports/2024/border-security-annual-report-final.pdf)\n"
            "of the institute, which the officials of both sides have read with some care.\n"
            "Officials said the visit was the first of its kind since 2021, and that trade\n"
            "through the Torkham crossing would resume on 12 March after a five-week break.\n")
    sentences = [s.text for s in split_sentences(join_pages([text], marked_up=True)[0])]
    assert ("The delegation, led by the deputy foreign minister of the interim government, arrived in Islamabad on "
            "Monday for three days of talks about border security, says the annual report of the institute, which "
            "the officials of both sides have read with some care.") in sentences


def test_a_line_ending_in_an_abbreviation_goes_on_into_the_next():
    """ "p.m." or "Dr." at a printed line's end ends no sentence: the line was kept apart, the sentence
    quoted cut off at "9:00 p.m", and the next one lost what its "It" stands for."""
    text = ("The Orchard Cafe on the ground floor of the main building is open from 6:30 a.m. to 9:00 p.m.\n"
            "Monday to Saturday and from 8:00 a.m. to 2:00 p.m. on Sundays, and the shop is run\n"
            "by Greenleaf Catering, which took the contract over from Bellamy Foods in May 2023. Ask Dr.\n"
            "Helen Marsh in the main lobby about the charity that runs the gift shop and about its\n"
            "volunteers. Vending machines on every floor of the hospital are stocked around the\n"
            "clock every day of the week, and they take cards as well as coins and notes of all kinds.\n")
    sentences = [s.text for s in split_sentences(clean(text))]
    assert sentences[0] == ("The Orchard Cafe on the ground floor of the main building is open from 6:30 a.m. to "
                            "9:00 p.m. Monday to Saturday and from 8:00 a.m. to 2:00 p.m. on Sundays, and the shop is "
                            "run by Greenleaf Catering, which took the contract over from Bellamy Foods in May 2023.")
    assert sentences[1].startswith("Ask Dr. Helen Marsh in the main lobby")
    assert sentences[2].startswith("Vending machines")  # a sentence's own full stop still ends the line
    # "no." or "Ltd." may end a sentence: before a capital, the line ends there
    text = ("The board was asked by the council whether the fares would rise in the coming\n"
            "year, and after a long debate among its members the answer it gave them was no.\n"
            "The trust then asked the supplier, Harbour Fuels Ltd., to hold its prices for the\n"
            "coming year and the supplier agreed to hold them until the end of March, when the\n"
            "contract is renewed for another five years at the same terms as the last contract.\n")
    sentences = [s.text for s in split_sentences(clean(text))]
    assert sentences[0].endswith("the answer it gave them was no.") and sentences[1].startswith("The trust then asked")


def test_headings_lists_tables_and_code_keep_their_lines():
    lines = clean(WRAPPED_MARKDOWN).split("\n")
    assert lines[0] == "# Border notes"
    assert "Topics:" in lines
    assert "- trade through Torkham and Chaman, which had been closed to lorries for most of February" in lines
    assert "- refugee returns" in lines
    assert "| crossing | status |" in lines and "| Torkham | open |" in lines
    assert "```\nmake run\nmake test\n```" in clean(WRAPPED_MARKDOWN)


def test_a_document_written_a_paragraph_per_line_is_left_as_it_is():
    paragraph = ("Pakistan and Afghanistan agreed to reopen the crossing after talks that lasted three days and "
                 "ended without a joint statement, according to officials from both sides who spoke to reporters")
    text = "\n".join(["Border talks", "by Jane Doe", paragraph, "Trade resumed the following week, officials said.",
                      "Key points", "a. trade", "b. refugee returns were paused until further notice",
                      "https://example.org/talks", "and a line that starts in lower case after one without a stop"])
    assert clean(text) == text


def test_a_page_number_is_not_glued_onto_the_sentence_it_interrupts():
    openings = ["Talks opened in Kabul", "Trade through Torkham resumed", "Refugee returns were discussed"]
    pages = [f"Border Report\n{opening} on a line that runs on as a printed line does, up to the margin of the\n"
             f"page, and stops here without a full stop as the paragraph goes\n{n}" for n, opening in enumerate(openings, 1)]
    text, starts = join_pages(pages)
    assert "Border Report" not in text
    assert not any(line.endswith(("goes 1", "goes 2", "goes 3")) for line in text.split("\n"))
    assert [text[s:s + 12] for s in starts] == ["Talks opened", "Trade throug", "Refugee retu"]


def test_page_numbers_go_even_from_two_pages_and_a_sentence_goes_on_across_the_break():
    first = ("Talks between the two governments opened in Kabul on Monday after months of strained relations\n"
             "over the border, the refugees and the trade through the crossings that had been closed to lorries\n"
             "since the end of January, and after three days the two delegations\n1")
    second = ("agreed to reopen the crossing on 12 March. The joint statement that was expected at the end of the\n"
              "talks did not come, and the delegations left for home on Wednesday without a date for the next round.\nii")
    text, _ = join_pages([first, second])
    assert "the two delegations agreed to reopen the crossing on 12 March." in text
    assert " 1 " not in text and not text.endswith("ii")


def test_a_sentence_cut_by_a_page_break_before_a_name_is_joined_but_a_heading_is_not():
    lines = ["Talks between the two governments opened in Kabul on Monday after months of strained relations",
             "over the border, the refugees and the trade through the crossings that had been closed to lorries",
             "since the end of January, and after three days the delegations of Pakistan and of Afghanistan met"]
    first = "\n".join(lines)
    second = "Ishaq Dar and agreed to reopen the crossing on 12 March, officials of both sides told reporters.\n2"
    third = "Background\nThe crossing had been closed since January, when the two sides clashed near the gate.\n3"
    footnote = "1 UNHCR Afghanistan situation update of March 2024, see the data portal at https://data.unhcr.org/afg"
    fourth = "Torkham The border crossing reopened to lorries on 12 March, officials of both sides said.\n4"
    text, _ = join_pages([first + "\n1", second, third + "\n" + footnote, fourth])
    assert "Afghanistan met Ishaq Dar and agreed to reopen the crossing on 12 March" in text
    assert "reporters.\n\nBackground\nThe crossing" in text
    assert f"{footnote}\n\nTorkham The border" in text  # a footnote at a page's foot does not go on


def test_a_markdown_table_is_stored_a_labelled_row_per_line_and_other_bars_are_left_alone():
    text = ("Crossings:\n\n| Crossing | Days closed | Note |\n|:--|--:|---|\n| Torkham | 47 | |\n"
            "| Chaman | 83 | fence \\| gate dispute |\n\nAfter the table.\n\n"
            "| no | delimiter |\n| so | not a table |\n\na | b\n---\nTitle\n---")
    assert clean(text) == ("Crossings:\n\nCrossing: Torkham; Days closed: 47.\n"
                           "Crossing: Chaman; Days closed: 83; Note: fence | gate dispute.\n\nAfter the table.\n\n"
                           "| no | delimiter |\n| so | not a table |\n\na | b\n---\nTitle\n---")


def test_table_rows_that_recur_with_other_figures_are_kept():
    pages = [f"Crossings in 200{n}, continued\nYear Loaded Empty\n200{n} 10 7\n200{n} 12 5\n200{n} 9 {n}"
             for n in range(1, 5)]
    text, _ = join_pages(pages)
    assert all(f"200{n} 9 {n}" in text and f"200{n} 10 7" in text for n in range(1, 5))


def test_two_pages_are_too_few_to_tell_a_header_from_a_first_line():
    text, _ = join_pages(["Summary\nTalks opened in Kabul.", "Summary\nTrade resumed."])
    assert text == "Summary\nTalks opened in Kabul.\n\nSummary\nTrade resumed."
